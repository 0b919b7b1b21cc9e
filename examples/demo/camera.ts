/** Synthetic camera: an RGB frame per timer tick, with the square's true position as parameters. */
import { Node } from 'swarmflow/node'

const width = Number(process.env.WIDTH ?? 320)
const height = Number(process.env.HEIGHT ?? 240)
const node = await Node.init()
const frame = new Uint8Array(width * height * 3)
let t = 0

for await (const event of node) {
  if (event.type === 'STOP') break
  if (event.type !== 'INPUT' || event.id !== 'tick') continue
  t++
  const cx = Math.round((Math.sin(t / 20) * 0.4 + 0.5) * (width - 20))
  const cy = Math.round((Math.cos(t / 27) * 0.4 + 0.5) * (height - 20))
  for (let i = 0; i < frame.length; i++) frame[i] = (Math.random() * 40) | 0
  for (let y = cy; y < cy + 20; y++) {
    for (let x = cx; x < cx + 20; x++) {
      const o = (y * width + x) * 3
      frame[o] = 250; frame[o + 1] = 250; frame[o + 2] = 250
    }
  }
  await node.send('image', frame, { width, height, encoding: 'rgb8', truthX: cx + 10, truthY: cy + 10 })
}
