/**
 * A bench agent beside one peer (run inside the peer's network namespace, where its loopback
 * control API is reachable): JSON-line commands on stdin, one JSON answer each.
 *   {op:'deploy', names, source}      → deploys each flow, {done}
 *   {op:'alive', n, timeoutMs}        → waits until the peer sees n members alive, {at}
 *   {op:'flows', prefix, count, timeoutMs} → waits until ≥ count flows named prefix* are listed, {at}
 * `at` is this machine's clock (ms since the epoch) when the peer was first seen in that state.
 */
import { createInterface } from 'node:readline'
import { controlCall } from '../../peer/control/index.ts'

const dataDir = process.argv[2] as string
const reply = (o: unknown): void => { process.stdout.write(JSON.stringify(o) + '\n') }

async function poll (check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return Date.now()
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  return -1
}

reply({ ready: true })
for await (const line of createInterface({ input: process.stdin })) {
  const c = JSON.parse(line) as { op: string, names: string[], source: string, n: number, prefix: string, count: number, timeoutMs: number }
  if (c.op === 'deploy') {
    for (const name of c.names) await controlCall(dataDir, 'POST', '/flows/deploy', { name, source: c.source }, { timeoutMs: 30_000 })
    reply({ done: true })
  } else if (c.op === 'alive') {
    reply({ at: await poll(async () => (await controlCall<Array<{ state: string }>>(dataDir, 'GET', '/members')).filter(m => m.state === 'alive').length >= c.n, c.timeoutMs) })
  } else if (c.op === 'flows') {
    reply({ at: await poll(async () => (await controlCall<Array<{ name: string }>>(dataDir, 'GET', '/flows')).filter(f => f.name.startsWith(c.prefix)).length >= c.count, c.timeoutMs) })
  }
}
