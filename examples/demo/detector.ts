/** Detector: the centroid of bright pixels in each frame, as a Float32 [x, y, score] Arrow vector. */
import { Node } from 'swarmflow/node'

const node = await Node.init()

for await (const event of node) {
  if (event.type === 'STOP') break
  if (event.type !== 'INPUT') continue
  const width = Number(event.metadata.parameters.width)
  const height = Number(event.metadata.parameters.height)
  const pixels = event.value.toArray() as Uint8Array
  let sx = 0, sy = 0, n = 0
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if ((pixels[(y * width + x) * 3] ?? 0) > 200) { sx += x; sy += y; n++ }
    }
  }
  const score = Math.min(1, n / 400)
  await node.send('detections', new Float32Array(n ? [sx / n, sy / n, score] : [NaN, NaN, 0]), { frameSeq: event.metadata.seq })
}
