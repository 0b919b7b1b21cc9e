/**
 * Helpers for the dataflow acceptance suites (test/dataflow*.test.ts): a swarm of real peer
 * processes formed by init/invite/join, `peer ps --json` readers, node-log parsers and a zenoh-ts
 * subscriber on a peer's endpoint.
 */
import { expect } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Config, Session, type Sample, type Subscriber } from '@eclipse-zenoh/zenoh-ts'
import { TestPeer, peerCli, eventually, ROOT } from './harness.ts'
import { decodeMetadata, type Metadata } from '../peer/node-sdk/index.ts'

export const FIXTURES = resolve(ROOT, 'test', 'fixtures', 'dataflow')
export const FLOW_FILE = join(FIXTURES, 'flow.yml')

/** `peer ps --json`. */
export interface PsNode { id: string, peer: string | null, state: string, restarts: number, uptimeMs: number | null, epoch?: number }
export interface PsFlow { name: string, state: string, version?: number, nodes: PsNode[] }

export interface PeerSpec { name: string, labels?: string, caps?: string }

export interface SwarmOptions {
  /** Command prefix per peer index (network namespaces). */
  wrap?: (i: number) => string[]
  /** Listen multiaddr per peer index. */
  listen?: (i: number) => string
  /** Extra flags for every peer. */
  args?: string[]
}

/** Forms a swarm: the first spec runs `peer init`, the others join with an invite. */
export async function formSwarm (specs: PeerSpec[], opts: SwarmOptions = {}): Promise<TestPeer[]> {
  const flags = (s: PeerSpec): string[] => [...(s.labels ? ['--labels', s.labels] : []), ...(opts.args ?? [])]
  const [first, ...rest] = specs as [PeerSpec, ...PeerSpec[]]
  const a = new TestPeer({ name: first.name, args: flags(first), wrap: opts.wrap?.(0), listen: opts.listen?.(0) })
  const init = await peerCli(['init', '--swarm', 'flows', '--data-dir', a.dataDir, '--name', first.name], { wrap: opts.wrap?.(0) })
  expect(init.code, init.stderr).toBe(0)
  const peers = [a]
  try {
    await a.start()
    for (const [i, s] of rest.entries()) {
      const r = await a.cli(['invite', '--name', s.name, ...(s.caps ? ['--caps', s.caps] : [])])
      expect(r.code, r.stderr).toBe(0)
      const token = r.stdout.trim().split('\n').pop() as string
      peers.push(new TestPeer({ name: s.name, args: ['--invite', token, ...flags(s)], wrap: opts.wrap?.(i + 1), listen: opts.listen?.(i + 1) }))
    }
    await Promise.all(peers.slice(1).map(p => p.start()))
    const names = specs.map(s => s.name).sort()
    await Promise.all(peers.map(p => eventually(async () => {
      const ms = await p.members()
      return JSON.stringify(ms.filter(m => m.state === 'alive').map(m => m.name).sort()) === JSON.stringify(names)
    }, { timeoutMs: 20_000, what: `${p.name} sees every member alive` })))
    return peers
  } catch (err) {
    for (const p of peers) await p[Symbol.asyncDispose]()
    throw err
  }
}

export async function ps (p: TestPeer): Promise<PsFlow[]> {
  return await p.json<PsFlow[]>(['ps'])
}

export function nodeOf (flows: PsFlow[], flow: string, node: string): PsNode | undefined {
  return flows.find(f => f.name === flow)?.nodes.find(n => n.id === node)
}

/** The part of `peer ps` every peer must agree on (uptime differs by when it is read). */
export function psView (flows: PsFlow[]): string {
  return JSON.stringify(flows.map(f => ({ name: f.name, state: f.state, nodes: f.nodes.map(n => ({ id: n.id, peer: n.peer, state: n.state, restarts: n.restarts })) })))
}

/** Waits until every listed peer reports the same `peer ps` view and `check` accepts it. */
export async function psAgrees (peers: TestPeer[], check: (flows: PsFlow[]) => boolean, opts: { timeoutMs?: number, what?: string } = {}): Promise<PsFlow[]> {
  return await eventually(async () => {
    const views = await Promise.all(peers.map(p => ps(p)))
    const first = views[0] as PsFlow[]
    if (!check(first)) return false
    return views.every(v => psView(v) === psView(first)) ? first : false
  }, { timeoutMs: opts.timeoutMs ?? 20_000, intervalMs: 200, what: opts.what ?? 'peer ps to agree on every peer' })
}

export interface Received { value: number, producer: string, epoch: number, stale: number }

/** Parses the consumer fixture's `got V from NAME@EPOCH stale=N` lines. */
export function parseConsumerLog (text: string): Received[] {
  const out: Received[] = []
  for (const m of text.matchAll(/got (\d+) from (\S+)@(\d+) stale=(\d+)/g)) {
    out.push({ value: Number(m[1]), producer: m[2] as string, epoch: Number(m[3]), stale: Number(m[4]) })
  }
  return out
}

export async function logs (p: TestPeer, flow: string, node?: string, extra: string[] = []): Promise<string> {
  const r = await p.cli(['logs', flow, ...(node ? [node] : []), ...extra])
  if (r.code !== 0) throw new Error(`peer logs ${flow} ${node ?? ''} failed on ${p.name} (${r.code}): ${r.stderr}`)
  return r.stdout
}

/** zenoh-ts 1.10 prints its connection chatter with console.log/warn; keep it out of test output. */
const ZENOH_CHATTER = /^(Successfully opened session with id: |Connected to |Restart connection$|WebSocket has been disconnected from remote-api-plugin: |WebSocket error: $)/
let quiet = false
function quietZenohConsole (): void {
  if (quiet) return
  quiet = true
  for (const level of ['log', 'warn', 'error'] as const) {
    const orig = console[level].bind(console)
    console[level] = (...args: unknown[]): void => { if (!(typeof args[0] === 'string' && ZENOH_CHATTER.test(args[0]))) orig(...args) }
  }
}

export interface SubscribedSample { at: number, metadata: Metadata }

/** A zenoh-ts subscriber on a peer's endpoint: records every sample's metadata with its arrival time. */
export class DataTap implements AsyncDisposable {
  readonly samples: SubscribedSample[] = []
  private constructor (private readonly session: Session, private sub?: Subscriber) {}

  static async open (endpoint: string, keyExpr: string): Promise<DataTap> {
    quietZenohConsole()
    const session = await Session.open(new Config(endpoint))
    const tap = new DataTap(session)
    tap.sub = await session.declareSubscriber(keyExpr, {
      handler: (s: Sample) => {
        const m = decodeMetadata(s.attachment()?.toBytes())
        if (m !== undefined && tap.samples.length < 100_000) tap.samples.push({ at: Date.now(), metadata: m })
      },
    })
    return tap
  }

  since (t: number): SubscribedSample[] { return this.samples.filter(s => s.at >= t) }

  async [Symbol.asyncDispose] (): Promise<void> {
    await this.sub?.undeclare().catch(() => {})
    await this.session.close().catch(() => {})
  }
}

/** Disposes every peer (used by afterAll when the peers live across tests). */
export async function disposeAll (peers: Array<TestPeer | undefined>): Promise<void> {
  await Promise.all(peers.map(p => p?.[Symbol.asyncDispose]()))
}

/**
 * Processes running `<dataDir>/flows/<flow>/…/<script>` (a node instance: the node process, and
 * its setpriv wrapper while it execs), across the given data dirs.
 */
export function nodeProcesses (dataDirs: string[], flow: string, script: string): Array<{ pid: number, dataDir: string }> {
  const out: Array<{ pid: number, dataDir: string }> = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let argv: string[]
    try { argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0') } catch { continue }
    for (const d of dataDirs) {
      if (argv.some(a => a.startsWith(`${d}/flows/${flow}/`) && a.endsWith(`/${script}`))) out.push({ pid: Number(entry), dataDir: d })
    }
  }
  return out
}
