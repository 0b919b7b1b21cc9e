/** Failover bench node: one output per timer tick, so a watcher sees when (and where) it runs. */
import { Node } from 'swarmflow/node'

const node = await Node.init()
for await (const event of node) {
  if (event.type === 'STOP') break
  if (event.type === 'INPUT' && event.id === 'tick') await node.send('tick', [Date.now()])
}
