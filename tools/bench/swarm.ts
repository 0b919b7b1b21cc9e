/**
 * Real peer processes for the bench, formed the way a user forms a swarm (test/harness.ts:
 * `peer init`, `peer invite`, `peer join --invite`), on 127.0.0.1 with temporary data dirs. One
 * swarm is shared by the measures of a run and grown or restarted as they need.
 */
import { nodeConfigEnv, type NodeInputConfig } from '../../peer/node-sdk/index.ts'
import { TestPeer, formSwarm, eventually } from '../../test/harness.ts'

export interface PeerInfo { id: string, name: string, zenoh: string, swarmId: string }

export class BenchSwarm {
  peers: TestPeer[] = []
  readonly info = new Map<TestPeer, PeerInfo>()
  swarmId = ''

  static async form (n: number, env: Record<string, string> = {}): Promise<BenchSwarm> {
    const s = new BenchSwarm()
    s.env = env
    s.peers = await formSwarm(Array.from({ length: n }, (_, i) => `p${i}`), { swarm: 'bench', env })
    for (const p of s.peers) await s.refresh(p)
    await s.routed()
    return s
  }

  private env: Record<string, string> = {}

  async refresh (p: TestPeer): Promise<PeerInfo> {
    const st = await p.status()
    const i: PeerInfo = { id: st.id, name: st.name, zenoh: st.zenoh as string, swarmId: st.swarm.id }
    this.swarmId = st.swarm.id
    this.info.set(p, i)
    return i
  }

  get (p: TestPeer): PeerInfo { return this.info.get(p) as PeerInfo }

  /** Every live peer's router has a route to every other live peer. */
  async routed (timeoutMs = 20_000): Promise<void> {
    const live = this.peers.filter(p => p.running)
    await Promise.all(live.map(p => eventually(async () => (await p.api<{ routes: unknown[] }>('/zenoh')).routes.length >= live.length - 1, { timeoutMs, intervalMs: 50, what: `${p.name} routes` })))
  }

  /** Every live peer sees `n` members alive. */
  async allAlive (n = this.peers.filter(p => p.running).length, timeoutMs = 30_000): Promise<void> {
    const live = this.peers.filter(p => p.running)
    await Promise.all(live.map(p => eventually(async () => (await p.api<Array<{ state: string }>>('/members')).filter(m => m.state === 'alive').length >= n, { timeoutMs, intervalMs: 50, what: `${p.name} sees ${n} alive` })))
  }

  /** Invites and starts more peers until there are `n`. */
  async grow (n: number): Promise<void> {
    const admin = this.peers[0] as TestPeer
    const addr = await admin.addr()
    const fresh: TestPeer[] = []
    for (let i = this.peers.length; i < n; i++) {
      const name = `p${i}`
      const inv = await admin.cli(['invite', '--name', name])
      if (inv.code !== 0) throw new Error(`peer invite failed: ${inv.stderr}`)
      const token = inv.stdout.trim().split('\n').pop() as string
      fresh.push(new TestPeer({ name, args: ['--invite', token, '--bootstrap', addr], env: this.env }))
    }
    // a few at a time: ten peers starting at once on two cores take longer than in waves
    for (let i = 0; i < fresh.length; i += 3) await Promise.all(fresh.slice(i, i + 3).map(p => p.start()))
    this.peers.push(...fresh)
    for (const p of fresh) await this.refresh(p)
    await this.allAlive(n)
    await this.routed()
  }

  /** Restarts a stopped or killed peer from its data dir (same identity and membership). */
  async restart (p: TestPeer): Promise<TestPeer> {
    const again = new TestPeer({ name: p.name, dataDir: p.dataDir, env: this.env })
    await again.start()
    this.peers[this.peers.indexOf(p)] = again
    this.info.delete(p)
    await this.refresh(again)
    return again
  }

  async dispose (): Promise<void> {
    await Promise.all(this.peers.map(async p => await p[Symbol.asyncDispose]()))
    this.peers = []
  }
}

/** The environment a supervisor gives a node instance (peer/supervisor), for a node the bench starts itself. */
export function nodeEnv (swarm: BenchSwarm, at: PeerInfo, flow: string, nodeId: string, inputs: Array<{ id: string, node: string, output: string, queueSize?: number }>, outputs: string[]): Record<string, string> {
  const ins: NodeInputConfig[] = inputs.map(i => ({ id: i.id, source: { kind: 'node', node: i.node, output: i.output }, queueSize: i.queueSize ?? 1024, queuePolicy: 'drop_oldest' }))
  return {
    ...nodeConfigEnv({ swarm: swarm.swarmId, flow, nodeId, zenoh: at.zenoh, epoch: 1, peer: at.id, peerName: at.name, inputs: ins, outputs }),
    SWARMFLOW_LOG_LEVEL: 'warn',
  }
}
