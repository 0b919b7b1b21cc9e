import { join } from 'node:path'
import { existsSync } from 'node:fs'
import { pack, unpack } from 'msgpackr'
import type { ServerResponse } from 'node:http'
import type { Logger } from '../../common/log.ts'
import { UsageError, SwarmflowError } from '../../common/errors.ts'
import type { PeerConfig } from '../config/index.ts'
import type { PeerRuntime } from '../runtime/peer.ts'
import type { ZenohRouter } from '../../mesh/zenoh/index.ts'
import type { DataflowRecord, JsonValue, InstanceRecord } from '../../crdt-state/index.ts'
import type { FramedChannel, PeerIdString } from '../../mesh/index.ts'
import { parseDescriptor, nodeDefinitionHash, diffDataflows, type Dataflow, type NormalizedNode } from '../dataflow/index.ts'
import { computePlacement, type NodePlacement } from '../placement/index.ts'
import { createSupervisor, readLogs, followLogs, type Supervisor, type InstanceSpec, type InstanceInfo } from '../supervisor/index.ts'
import { createFileStore, FILES_PROTOCOL, type FileStore } from '../files/index.ts'

export const LOGS_PROTOCOL = '/swarmflow/logs/1.0.0'

export class FlowNotFoundError extends SwarmflowError {}

export interface FlowManager {
  start(): Promise<void>
  stop(): Promise<void>
  /** Runs one reconciliation now (tests, CLI). */
  reconcile(): Promise<void>
}

interface Running {
  flow: string
  node: string
  epoch: number
  defHash: string
  version: number
}

/** The node-key convention shared with claims and instance records. */
const keyOf = (flow: string, node: string): string => `${flow}/${node}`

function isDataflow (v: unknown): v is Dataflow {
  return typeof v === 'object' && v !== null && Array.isArray((v as { nodes?: unknown }).nodes) &&
    (v as { nodes: unknown[] }).nodes.every(n => typeof n === 'object' && n !== null && typeof (n as { id?: unknown }).id === 'string' && typeof (n as { deploy?: unknown }).deploy === 'object')
}

/**
 * Turns dataflow intent in the swarm document into running node instances on this peer:
 * every peer runs the same placement over the same document and live set, starts the nodes
 * placed on it (fetching their files by hash from other members), stops the others, records its
 * claims and instance states, and serves logs to the rest of the swarm.
 */
export function createFlowManager (config: { config: PeerConfig, demo: boolean }, deps: { logger: Logger, runtime: PeerRuntime, router: ZenohRouter }): FlowManager {
  const { runtime, router } = deps
  const cfg = config.config
  const log = deps.logger
  const doc = runtime.doc
  const self = runtime.peerId
  const files: FileStore = createFileStore({ dataDir: cfg.dataDir }, { logger: log.child({ component: 'files' }) })
  const logDir = join(cfg.dataDir, 'logs')
  const supervisor: Supervisor = createSupervisor({ logDir }, { logger: log.child({ component: 'supervisor' }) })
  const running = new Map<string, Running>()
  const unsubs: Array<() => void> = []
  let timer: NodeJS.Timeout | undefined
  let busy = false
  let again = false
  let started = false
  let lastPlacement: NodePlacement[] = []
  const counters = { reconciles: 0, starts: 0, stops: 0, fileFetchFailures: 0, badFlows: 0 }

  const members = (): Array<{ peerId: string, name: string, caps: string[], labels: Record<string, string>, resources: { cpu?: number, memory_mb?: number } }> =>
    doc.listMembers().filter(m => !doc.isRevoked(m.publicKey)).map(m => ({ peerId: m.peerId, name: m.name, caps: m.caps, labels: m.labels, resources: m.resources }))

  const flows = (): Array<{ record: DataflowRecord, dataflow: Dataflow }> => {
    const out: Array<{ record: DataflowRecord, dataflow: Dataflow }> = []
    for (const r of doc.listDataflows()) {
      if (!isDataflow(r.spec)) { counters.badFlows++; log.warn({ flow: r.name }, 'dataflow record with a malformed spec; ignored'); continue }
      out.push({ record: r, dataflow: r.spec })
    }
    return out
  }

  const place = (extra?: { name: string, dataflow: Dataflow }, explain = false): NodePlacement[] => {
    const fs = flows().filter(f => f.record.name !== extra?.name).map(f => ({ name: f.record.name, state: f.record.state, nodes: f.dataflow.nodes }))
    if (extra) fs.push({ name: extra.name, state: 'running', nodes: extra.dataflow.nodes })
    const previous: Record<string, { peerId: string, epoch: number }> = {}
    for (const [k, c] of Object.entries(doc.listClaims())) previous[k] = { peerId: c.peerId, epoch: c.epoch }
    const ms = members()
    return computePlacement({ flows: fs, members: ms, live: runtime.livePeers(), rosterSize: ms.length, previous }, { explain }).placements
  }

  const schedule = (): void => {
    if (!started) return
    if (timer) return
    timer = setTimeout(() => { timer = undefined; void reconcile() }, 30)
  }

  const nodeDir = (flow: string, version: number): string => join(cfg.dataDir, 'flows', flow, `v${version}`)

  const ensureFiles = async (record: DataflowRecord): Promise<void> => {
    const wanted = record.files ?? {}
    const peers = runtime.livePeers().filter(p => p !== self)
    for (const hash of new Set(Object.values(wanted))) {
      if (await files.has(hash)) continue
      await files.fetch(hash, peers, peer => runtime.open(peer, FILES_PROTOCOL))
    }
    const dir = nodeDir(record.name, record.version)
    await files.materialize(dir, wanted)
  }

  const specFor = (record: DataflowRecord, node: NormalizedNode, epoch: number): InstanceSpec => ({
    key: keyOf(record.name, node.id),
    flow: record.name,
    nodeId: node.id,
    path: node.pathKind === 'file' ? join(nodeDir(record.name, record.version), node.path) : node.path,
    cwd: nodeDir(record.name, record.version),
    runtime: node.runtime,
    args: node.args,
    env: node.env,
    restartPolicy: node.restartPolicy,
    maxRestarts: node.maxRestarts,
    restartDelayMs: node.restartDelayMs,
    epoch,
    inputs: Object.entries(node.inputs).map(([id, i]) => ({ id, ...i })),
    outputs: node.outputs,
    zenohEndpoint: router.url ?? '',
    swarmId: doc.getSwarm().id,
    peerId: self,
    peerName: cfg.name,
  })

  async function reconcile (): Promise<void> {
    if (!started) return
    if (busy) { again = true; return }
    busy = true
    try {
      counters.reconciles++
      const fl = flows()
      const byName = new Map(fl.map(f => [f.record.name, f]))
      lastPlacement = place()
      const desired = new Map<string, { record: DataflowRecord, node: NormalizedNode, epoch: number }>()
      for (const p of lastPlacement) {
        if (p.peerId !== self) continue
        const f = byName.get(p.flow)
        const node = f?.dataflow.nodes.find(n => n.id === p.node)
        if (!f || !node || f.record.state !== 'running') continue
        desired.set(p.key, { record: f.record, node, epoch: p.epoch })
      }
      // stop what is no longer ours, or whose definition changed
      for (const [key, r] of running) {
        const d = desired.get(key)
        if (!d || nodeDefinitionHash(d.node) !== r.defHash || d.epoch !== r.epoch) {
          running.delete(key)
          counters.stops++
          log.info({ key, reason: d ? 'definition or epoch changed' : 'placed elsewhere or stopped' }, 'stopping node instance')
          await supervisor.stopInstance(key, { reason: d ? 'redeploy' : 'placement' }).catch(err => log.warn({ key, err }, 'stop failed'))
          if (!d) {
            const inst = doc.getInstance(key)
            if (inst?.peerId === self && inst.state !== 'stopped') doc.putInstance(key, { ...inst, state: 'stopped' })
          }
        }
      }
      // start what is ours
      for (const [key, d] of desired) {
        const claim = doc.getClaim(key)
        if (!claim || claim.peerId !== self || claim.epoch !== d.epoch) doc.putClaim(key, { peerId: self, epoch: d.epoch, at: Date.now() })
        if (running.has(key)) continue
        try {
          await ensureFiles(d.record)
        } catch (err) {
          counters.fileFetchFailures++
          log.warn({ key, err: (err as Error).message }, 'node files not available yet; will retry')
          setTimeout(schedule, 1000).unref()
          continue
        }
        running.set(key, { flow: d.record.name, node: d.node.id, epoch: d.epoch, defHash: nodeDefinitionHash(d.node), version: d.record.version })
        counters.starts++
        log.info({ key, epoch: d.epoch }, 'starting node instance')
        supervisor.startInstance(specFor(d.record, d.node, d.epoch))
      }
    } catch (err) {
      log.error({ err }, 'reconcile failed')
    } finally {
      busy = false
      if (again) { again = false; schedule() }
    }
  }

  const onInstanceState = (info: InstanceInfo): void => {
    if (!running.has(info.key) && info.state !== 'stopped') return
    const prev = doc.getInstance(info.key)
    const rec: InstanceRecord = { peerId: self, state: info.state as InstanceRecord['state'], restarts: info.restarts, startedAt: info.startedAt ?? Date.now() }
    if (prev && prev.peerId === rec.peerId && prev.state === rec.state && prev.restarts === rec.restarts && prev.startedAt === rec.startedAt) return
    doc.putInstance(info.key, rec)
  }

  // ---- control routes ------------------------------------------------------------------------

  const nameOf = (peer: string | null): string | null => peer === null ? null : (doc.getMember(peer)?.name ?? peer)

  const ps = (): Array<{ name: string, state: string, version: number, nodes: Array<{ id: string, peer: string | null, peerId: string | null, state: string, restarts: number, uptimeMs: number | null, epoch: number }> }> => {
    const placement = new Map(place().map(p => [p.key, p]))
    return flows().map(({ record, dataflow }) => ({
      name: record.name,
      state: record.state,
      version: record.version,
      nodes: dataflow.nodes.map(n => {
        const key = keyOf(record.name, n.id)
        const p = placement.get(key)
        const holder = record.state === 'running' ? (p?.peerId ?? null) : null
        const inst = doc.getInstance(key)
        const current = inst !== undefined && inst.peerId === holder
        const state = record.state !== 'running' ? 'stopped' : holder === null ? 'stopped' : current ? inst.state : 'starting'
        return {
          id: n.id,
          peer: nameOf(holder),
          peerId: holder,
          state,
          restarts: current ? inst.restarts : 0,
          uptimeMs: current && inst.state === 'running' ? Math.max(0, Date.now() - inst.startedAt) : null,
          epoch: p?.epoch ?? 0,
        }
      }),
    }))
  }

  const routes = {
    'GET /flows': async () => ps().map(f => ({ ...f, nodes: f.nodes })),
    'POST /flows/deploy': async ({ body }: { body: unknown }) => {
      const b = body as { name?: unknown, source?: unknown, files?: unknown }
      if (typeof b.name !== 'string' || typeof b.source !== 'string') throw new UsageError('deploy needs a name and the descriptor source')
      // The peer re-validates what it is asked to write (the CLI may be of another version).
      const dataflow = parseDescriptor(b.source, { file: `${b.name}.yml`, checkFiles: false })
      const shipped = Array.isArray(b.files) ? b.files as Array<{ node?: unknown, relPath?: unknown, data?: unknown, role?: unknown }> : []
      const digests: Record<string, string> = {}
      const perNode = new Map<string, { digests: Record<string, string>, entry?: string }>()
      for (const f of shipped) {
        if (typeof f.relPath !== 'string' || typeof f.data !== 'string' || typeof f.node !== 'string') throw new UsageError('malformed file in deploy request')
        const hash = await files.put(Buffer.from(f.data, 'base64'))
        digests[f.relPath] = hash
        const entry = perNode.get(f.node) ?? { digests: {} }
        entry.digests[f.relPath] = hash
        if (f.role === 'entry') entry.entry = f.relPath
        perNode.set(f.node, entry)
      }
      for (const n of dataflow.nodes) {
        if (n.pathKind !== 'file') continue
        const mine = perNode.get(n.id)
        if (!mine?.entry) throw new UsageError(`node '${n.id}': its file '${n.path}' was not shipped with the deploy; deploy from the descriptor's directory with 'peer deploy FILE'`)
        n.path = mine.entry
        n.fileDigests = mine.digests
      }
      const old = doc.getDataflow(b.name)
      const diff = diffDataflows(old && isDataflow(old.spec) ? old.spec : { nodes: [] }, dataflow)
      const record: DataflowRecord = {
        name: b.name,
        spec: JSON.parse(JSON.stringify(dataflow)) as JsonValue,
        state: 'running',
        version: (old?.version ?? 0) + 1,
        deployedBy: self,
        deployedAt: Date.now(),
        files: digests,
      }
      doc.putDataflow(b.name, record)
      for (const hash of new Set(Object.values(digests))) {
        if (!doc.getFile(hash)) doc.putFile({ sha256: hash, size: 0, addedBy: self, addedAt: Date.now() })
      }
      schedule()
      return { name: b.name, version: record.version, ...diff, files: Object.keys(digests).length }
    },
    'POST /flows/plan': async ({ body }: { body: unknown }) => {
      const b = body as { name?: unknown, dataflow?: unknown }
      if (typeof b.name !== 'string' || !isDataflow(b.dataflow)) throw new UsageError('plan needs a name and a parsed dataflow')
      return place({ name: b.name, dataflow: b.dataflow }, true).filter(p => p.flow === b.name).map(p => ({
        node: p.node, peer: p.peerId, peerName: nameOf(p.peerId), epoch: p.epoch, reason: p.reason,
        candidates: (p.candidates ?? []).map(c => ({ peer: c.peerId, name: c.name, live: c.live, eligible: c.eligible, reason: c.reason, score: c.total ?? undefined, sticky: c.bonus > 0, chosen: c.chosen })),
      }))
    },
    'POST /flows/stop': async ({ body }: { body: unknown }) => setState(body, 'stopped'),
    'POST /flows/start': async ({ body }: { body: unknown }) => setState(body, 'running'),
    'POST /flows/rm': async ({ body }: { body: unknown }) => {
      const name = (body as { name?: unknown }).name
      if (typeof name !== 'string' || !doc.getDataflow(name)) throw new FlowNotFoundError(`no dataflow named '${String(name)}'; see 'peer ps'`)
      const f = doc.getDataflow(name)
      doc.removeDataflow(name)
      if (f && isDataflow(f.spec)) for (const n of f.spec.nodes) { doc.removeClaim(keyOf(name, n.id)); doc.removeInstance(keyOf(name, n.id)) }
      schedule()
      return { name }
    },
    'GET /flows/inspect': async ({ query }: { query: URLSearchParams }) => {
      const target = query.get('target') ?? ''
      const [flowName, nodeId] = target.split('/')
      const f = flows().find(x => x.record.name === flowName)
      if (!f) throw new FlowNotFoundError(`no dataflow named '${flowName}'; see 'peer ps'`)
      const p = ps().find(x => x.name === flowName)
      if (nodeId === undefined) return { ...f.record, spec: f.dataflow, nodes: p?.nodes }
      const node = f.dataflow.nodes.find(n => n.id === nodeId)
      if (!node) throw new FlowNotFoundError(`dataflow '${flowName}' has no node '${nodeId}'`)
      return { flow: flowName, definition: node, definitionHash: nodeDefinitionHash(node), instance: p?.nodes.find(n => n.id === nodeId), claim: doc.getClaim(target) }
    },
    'GET /flows/logs': async ({ query, signal }: { query: URLSearchParams, signal: AbortSignal }, res: ServerResponse) => {
      const flow = query.get('flow') ?? ''
      const f = flows().find(x => x.record.name === flow)
      if (!f) throw new FlowNotFoundError(`no dataflow named '${flow}'; see 'peer ps'`)
      const nodeIds = query.get('node') ? [query.get('node') as string] : f.dataflow.nodes.map(n => n.id)
      for (const id of nodeIds) if (!f.dataflow.nodes.some(n => n.id === id)) throw new FlowNotFoundError(`dataflow '${flow}' has no node '${id}'`)
      const req: LogRequest = { flow, nodes: nodeIds, tail: query.get('tail') === null ? undefined : Number(query.get('tail')), timestamps: query.get('timestamps') === 'true', follow: query.get('follow') === 'true', prefix: nodeIds.length > 1 }
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
      const write = (text: string): void => { res.write(text) }
      // group by the peer holding each node now; a node nobody holds is read here (its last logs, if any)
      const byPeer = new Map<string, string[]>()
      const placement = new Map(place().map(p => [p.key, p.peerId]))
      for (const id of nodeIds) {
        const holder = placement.get(keyOf(flow, id)) ?? self
        byPeer.set(holder, [...(byPeer.get(holder) ?? []), id])
      }
      await Promise.all([...byPeer].map(async ([peer, ids]) => {
        const r = { ...req, nodes: ids }
        if (peer === self || !runtime.membership.isAdmitted(peer)) await serveLocalLogs(r, write, signal)
        else await fetchRemoteLogs(peer, r, write, signal)
      }))
      res.end()
      return undefined
    },
  }

  const setState = (body: unknown, state: 'running' | 'stopped'): { name: string, state: string } => {
    const name = (body as { name?: unknown }).name
    const f = typeof name === 'string' ? doc.getDataflow(name) : undefined
    if (!f) throw new FlowNotFoundError(`no dataflow named '${String(name)}'; see 'peer ps'`)
    if (f.state !== state) doc.putDataflow(f.name, { ...f, state })
    schedule()
    return { name: f.name, state }
  }

  // ---- logs across the swarm -----------------------------------------------------------------

  interface LogRequest { flow: string, nodes: string[], tail?: number, timestamps: boolean, follow: boolean, prefix: boolean }

  const isLogRequest = (v: unknown): v is LogRequest => {
    const o = v as LogRequest
    return typeof o === 'object' && o !== null && typeof o.flow === 'string' && Array.isArray(o.nodes) && o.nodes.every(n => typeof n === 'string') &&
      (o.tail === undefined || (Number.isInteger(o.tail) && o.tail >= 0)) && typeof o.timestamps === 'boolean' && typeof o.follow === 'boolean'
  }

  async function serveLocalLogs (r: LogRequest, write: (text: string) => void, signal: AbortSignal): Promise<void> {
    for (const node of r.nodes) {
      const lines = await readLogs(logDir, r.flow, node, { tail: r.tail, timestamps: r.timestamps })
      for (const l of lines) write(`${r.prefix ? `[${node}] ` : ''}${l}\n`)
    }
    if (!r.follow) return
    await Promise.all(r.nodes.map(node => followLogs(logDir, r.flow, node, { timestamps: r.timestamps, signal }, (line: string) => write(`${r.prefix ? `[${node}] ` : ''}${line}\n`))))
  }

  async function fetchRemoteLogs (peer: PeerIdString, r: LogRequest, write: (text: string) => void, signal: AbortSignal): Promise<void> {
    let ch: FramedChannel | undefined
    try {
      ch = await runtime.open(peer, LOGS_PROTOCOL)
      signal.addEventListener('abort', () => ch?.abort(), { once: true })
      await ch.send(pack(r))
      for await (const frame of ch) {
        let m: unknown
        try { m = unpack(frame) } catch { break }
        if (typeof (m as { text?: unknown }).text === 'string') write((m as { text: string }).text)
        if ((m as { done?: unknown }).done === true) break
      }
    } catch (err) {
      write(`(logs from ${nameOf(peer)} unavailable: ${(err as Error).message})\n`)
    } finally {
      await ch?.close().catch(() => {})
    }
  }

  const serveLogsChannel = (ch: FramedChannel): void => {
    void (async () => {
      const ac = new AbortController()
      void ch.closed.then(() => ac.abort())
      try {
        const first = await ch[Symbol.asyncIterator]().next()
        if (first.done) return
        let req: unknown
        try { req = unpack(first.value) } catch { req = undefined }
        if (!isLogRequest(req)) { log.warn({ peer: ch.remotePeer }, 'dropped malformed log request'); ch.abort(); return }
        let pending = Promise.resolve()
        await serveLocalLogs(req, (text) => { pending = pending.then(() => ch.send(pack({ text }))).catch(() => ac.abort()) }, ac.signal)
        await pending
        await ch.send(pack({ done: true })).catch(() => {})
      } finally {
        await ch.close().catch(() => {})
      }
    })()
  }

  return {
    reconcile,
    async start () {
      if (started) return
      started = true
      runtime.addRoutes(routes as never)
      await runtime.handleMembers(FILES_PROTOCOL, ch => files.serve(ch), { maxFrameBytes: 80 * 1024 * 1024 })
      await runtime.handleMembers(LOGS_PROTOCOL, serveLogsChannel)
      unsubs.push(supervisor.onState(onInstanceState))
      unsubs.push(doc.onChange(evt => {
        if (['dataflows', 'claims', 'members', 'revocations'].some(s => evt.sections.has(s as never))) schedule()
      }))
      unsubs.push(runtime.liveness.onChange(() => schedule()))
      unsubs.push(runtime.onAdmitted(() => schedule()))
      const tick = setInterval(schedule, 2000)
      tick.unref()
      unsubs.push(() => clearInterval(tick))
      if (config.demo) await deployDemo()
      schedule()
    },
    async stop () {
      if (!started) return
      started = false
      for (const u of unsubs.splice(0)) u()
      if (timer) clearTimeout(timer)
      await supervisor.stop()
      running.clear()
    },
  }

  async function deployDemo (): Promise<void> {
    if (doc.getDataflow('demo')) return
    const dir = join(import.meta.dirname, '..', '..', 'examples', 'demo')
    const file = join(dir, 'dataflow.yml')
    if (!existsSync(file)) { log.warn({ file }, 'demo dataflow not found'); return }
    const { readFile } = await import('node:fs/promises')
    const source = await readFile(file, 'utf8')
    const { localFilesOf } = await import('../dataflow/index.ts')
    const parsed = parseDescriptor(source, { file, baseDir: dir, checkFiles: true })
    const shipped = await Promise.all(localFilesOf(parsed, dir).map(async f => ({ node: f.node, relPath: f.relPath, role: f.role, data: (await readFile(f.absPath)).toString('base64') })))
    await routes['POST /flows/deploy']({ body: { name: 'demo', source, files: shipped } })
    log.info('embedded demo dataflow deployed as "demo"')
  }
}
