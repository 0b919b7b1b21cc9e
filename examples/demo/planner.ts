/** Planner: aggregates detections and, once a second, logs and publishes a heading toward the target. */
import { Node } from 'swarmflow/node'

const node = await Node.init()
let seen = 0
let lastX = NaN
let lastY = NaN

for await (const event of node) {
  if (event.type === 'STOP') break
  if (event.type === 'INPUT_CLOSED') { console.log(`input ${event.id} closed`); continue }
  if (event.type !== 'INPUT') continue
  if (event.id === 'detections') {
    const [x, y, score] = event.value.toArray() as Float32Array
    if ((score ?? 0) > 0.5) { lastX = x ?? NaN; lastY = y ?? NaN; seen++ }
    continue
  }
  // report tick
  const heading = Number.isNaN(lastX) ? null : Math.atan2((lastY - 120), (lastX - 160)) * 180 / Math.PI
  console.log(`plan: ${seen} detections in the last second, heading ${heading === null ? 'none' : heading.toFixed(1) + '°'}`)
  await node.send('plan', [heading ?? NaN, seen], { producer: process.env.SWARMFLOW_PEER_NAME ?? 'unknown' })
  seen = 0
}
