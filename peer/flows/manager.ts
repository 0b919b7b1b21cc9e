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
import { parseDescriptor, nodeDefinitionHash, diffDataflows, checkDataflow, type Dataflow, type NormalizedNode } from '../dataflow/index.ts'
import { computePlacement, SETTLE_MS, type NodePlacement } from '../placement/index.ts'
import { indexClaims, resolveHolders, claimsToWithdraw, nodeKey, peerKey, type ClaimIndex } from './claims.ts'
import { createSupervisor, readLogs, followLogs, type Supervisor, type InstanceSpec, type InstanceInfo } from '../supervisor/index.ts'
import { createFileStore, sha256, MAX_FILE_BYTES, FILES_PROTOCOL, type FileStore } from '../files/index.ts'

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

/** Same rule as the CLI's: the name is a Zenoh key chunk and a directory name. */
const FLOW_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/

/** A shipped file's path: relative, '/'-separated, no '..' or empty segments. */
const safeRelPath = (p: string): boolean => p.length > 0 && p.length < 1024 && !p.startsWith('/') && !p.includes('\\') && p.split('/').every(seg => seg !== '' && seg !== '.' && seg !== '..')

/**
 * An instance record with the epoch it runs under and the first 16 hex digits of its definition
 * hash. The document stores records as JSON and keeps fields its schema does not name; both are
 * optional for records of earlier versions.
 */
type EpochInstanceRecord = InstanceRecord & { epoch?: number, def?: string }
const shortDef = (hash: string): string => hash.slice(0, 16)

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
  /** Instances this peer wants running (started, or kept after they failed). */
  const running = new Map<string, Running>()
  /** Instances being stopped; a key is started again only once its stop finished. */
  const stopping = new Map<string, Promise<void>>()
  /** `flow@version` whose files are stored and materialized here; fetches in flight. */
  const filesReady = new Set<string>()
  const filesPending = new Map<string, Promise<void>>()
  const unsubs: Array<() => void> = []
  let timer: NodeJS.Timeout | undefined
  let busy = false
  let again = false
  let started = false
  // Stall guard: a peer that was frozen (SIGSTOP, swapped out, debugger) wakes up with liveness
  // verdicts based on silence that was its own; acting on them would take over every node.
  const stallMs = 1000
  const settleMs = Math.max(1000, 4 * cfg.heartbeatMs)
  /** performance.now() of the last watchdog tick: a monotonic clock, so a wall-clock step is no stall. */
  let lastBeat = performance.now()
  let settleUntil = 0
  // Warm-up: a peer that (re)starts holds its document from disk, possibly stale, and sees nobody
  // alive yet; placing nodes then would start duplicates of what others took over meanwhile. It
  // waits until every other member is alive with a document channel (plus one sync round), or
  // until a silent member would have been declared dead anyway.
  let startedAt = 0
  let warm = false
  let allHereAt: number | undefined
  /** Evidence of life older than this does not count towards warm-up (set by a long stall). */
  let heardSince = 0
  const syncRoundMs = 300
  const counters = { reconciles: 0, starts: 0, stops: 0, startFailures: 0, fileFetchFailures: 0, badFlows: 0, badClaims: 0, stalls: 0, placements: 0, placementsReused: 0 }

  const members = (): Array<{ peerId: string, name: string, caps: string[], labels: Record<string, string>, resources: { cpu?: number, memory_mb?: number } }> =>
    doc.listMembers().filter(m => !doc.isRevoked(m.publicKey)).map(m => ({ peerId: m.peerId, name: m.name, caps: m.caps, labels: m.labels, resources: m.resources }))

  /** Problems already logged (each once: reconciles run several times a second). */
  const warned = new Set<string>()
  const warnOnce = (id: string, fields: Record<string, unknown>, msg: string): void => {
    if (warned.has(id)) return
    if (warned.size > 1000) warned.clear()
    warned.add(id)
    log.warn(fields, msg)
  }

  /** The document's dataflows that pass the dataflow guard (the document is network input). */
  // The document hands back the same (frozen) record object while a flow is unchanged (decodeRecord
  // caches per stored value), so each flow version passes the guard once, not on every reconcile.
  const guarded = new WeakMap<DataflowRecord, ReturnType<typeof checkDataflow>>()
  const flows = (): Array<{ record: DataflowRecord, dataflow: Dataflow }> => {
    const out: Array<{ record: DataflowRecord, dataflow: Dataflow }> = []
    for (const r of doc.listDataflows()) {
      let check = guarded.get(r)
      if (check === undefined) { check = checkDataflow(r.spec); guarded.set(r, check) }
      const problem = !FLOW_NAME.test(r.name) ? 'invalid flow name' : check.ok ? undefined : check.reason
      if (problem !== undefined || !check.ok) {
        counters.badFlows++
        warnOnce(`flow ${r.name} ${r.version}`, { flow: r.name, version: r.version, problem }, 'dataflow record fails the dataflow guard; ignored (nothing of it runs here)')
        continue
      }
      out.push({ record: r, dataflow: check.dataflow })
    }
    return out
  }

  /** Every claim on each node key: contenders from both sides of a healed partition included. */
  const claimIndex = (): ClaimIndex => {
    const index = indexClaims(doc.listClaims())
    for (const docKey of index.ignored) {
      counters.badClaims++
      warnOnce(`claim ${docKey}`, { key: docKey }, 'claim under a key that is neither flow/node nor flow/node/<its peer>; ignored')
    }
    return index
  }

  /**
   * Members up for less than SETTLE_MS, as each reports itself in its heartbeats (this peer
   * included): they take no node from a live holder (PlacementInput.settling). Sorted.
   */
  let settleTimer: NodeJS.Timeout | undefined
  /** performance.now() at which settleTimer fires. */
  let settleTimerAt = Infinity
  const settlingMembers = (ms: Array<{ peerId: string }>): string[] => {
    const out: string[] = []
    let nextEnd = Infinity
    for (const m of ms) {
      const up = runtime.liveness.upFor(m.peerId)
      if (up !== undefined && up < SETTLE_MS) { out.push(m.peerId); nextEnd = Math.min(nextEnd, SETTLE_MS - up) }
    }
    // The set changes when a member's settling ends, with no event: reconcile then. One timer, for
    // the nearest end (place() runs on every poll of GET /flows too).
    const at = performance.now() + nextEnd + 20
    if (started && Number.isFinite(nextEnd) && at < settleTimerAt - 5) {
      clearTimeout(settleTimer)
      settleTimerAt = at
      settleTimer = setTimeout(() => { settleTimer = undefined; settleTimerAt = Infinity; schedule() }, nextEnd + 20)
      settleTimer.unref()
    }
    return out.sort()
  }

  /**
   * The placement is a function of the document (flows, members, claims) and of the live set, so
   * the last one is kept for the heads and live set it was computed from: reconciles, `peer ps`
   * and `GET /flows` polls between two changes reuse it (computePlacement is ~2 ms with 95 flows
   * of 10 nodes here, and a peer that joins runs it on every admission and every poll).
   */
  let lastPlacement: { key: string, placements: NodePlacement[] } | undefined
  const place = (extra?: { name: string, dataflow: Dataflow }, explain = false, previous?: ReturnType<typeof resolveHolders>): NodePlacement[] => {
    const live = runtime.livePeers()
    const ms = members()
    const settling = settlingMembers(ms)
    const key = extra === undefined && !explain ? `${doc.heads().join(',')}|${[...live].sort().join(',')}|${settling.join(',')}` : undefined
    if (key !== undefined && lastPlacement?.key === key) { counters.placementsReused++; return lastPlacement.placements }
    const fs = flows().filter(f => f.record.name !== extra?.name).map(f => ({ name: f.record.name, state: f.record.state, nodes: f.dataflow.nodes }))
    if (extra) fs.push({ name: extra.name, state: 'running', nodes: extra.dataflow.nodes })
    const placements = computePlacement({ flows: fs, members: ms, live, rosterSize: ms.length, previous: previous ?? resolveHolders(claimIndex()), settling }, { explain }).placements
    counters.placements++
    if (key !== undefined) lastPlacement = { key, placements }
    return placements
  }

  const schedule = (delayMs = 30): void => {
    if (!started) return
    if (timer) return
    timer = setTimeout(() => { timer = undefined; void reconcile() }, delayMs)
  }

  const nodeDir = (flow: string, version: number): string => join(cfg.dataDir, 'flows', flow, `v${version}`)
  const versionKey = (record: DataflowRecord): string => `${record.name}@${record.version}`

  /**
   * Makes sure a flow version's files are stored and materialized here, in the background: a
   * reconcile never waits on the network. The deployer is asked first (it surely has them).
   */
  const prepareFiles = (record: DataflowRecord): void => {
    const vk = versionKey(record)
    if (filesReady.has(vk) || filesPending.has(vk)) return
    const wanted = record.files ?? {}
    const job = (async () => {
      const live = runtime.livePeers().filter(p => p !== self)
      const peers = [...live.filter(p => p === record.deployedBy), ...live.filter(p => p !== record.deployedBy)]
      for (const hash of new Set(Object.values(wanted))) {
        if (await files.has(hash)) continue
        await files.fetch(hash, peers, peer => runtime.open(peer, FILES_PROTOCOL))
      }
      await files.materialize(nodeDir(record.name, record.version), wanted)
      filesReady.add(vk)
    })()
    filesPending.set(vk, job)
    job.then(() => { schedule() }, (err: unknown) => {
      counters.fileFetchFailures++
      log.warn({ flow: record.name, version: record.version, err: (err as Error).message }, 'dataflow files not available yet; will retry')
      setTimeout(() => schedule(), 1000).unref()
    }).finally(() => { filesPending.delete(vk) })
  }

  const specFor = (record: DataflowRecord, node: NormalizedNode, epoch: number): InstanceSpec => ({
    key: nodeKey(record.name, node.id),
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

  /** What to write once a stopped instance is gone: its record removed, marked stopped, or nothing (a new instance follows). */
  type AfterStop = 'remove' | 'stopped' | 'none'

  const beginStop = (key: string, reason: string, after: AfterStop): void => {
    running.delete(key)
    counters.stops++
    log.info({ key, reason }, 'stopping node instance')
    const p = supervisor.stopInstance(key, { reason })
      .catch((err: unknown) => { log.warn({ key, err }, 'stop failed') })
      .then(() => {
        if (running.has(key)) return
        const ik = peerKey(key, self)
        if (after === 'remove') doc.removeInstance(ik)
        else if (after === 'stopped') {
          const inst = doc.getInstance(ik)
          if (inst !== undefined && inst.state !== 'stopped') doc.putInstance(ik, { ...inst, state: 'stopped' })
        }
      })
      .catch((err: unknown) => { log.warn({ key, err }, 'recording a stopped instance failed') })
      .finally(() => { stopping.delete(key); schedule() })
    stopping.set(key, p)
  }

  async function reconcile (): Promise<void> {
    if (!started) return
    if (busy) { again = true; return }
    checkStall()
    const now = Date.now()
    if (now < settleUntil) { if (!timer) { timer = setTimeout(() => { timer = undefined; void reconcile() }, settleUntil - now) } return }
    if (!warm && !warmedUp(now)) { schedule(100); return }
    busy = true
    try {
      counters.reconciles++
      const fl = flows()
      const byName = new Map(fl.map(f => [f.record.name, f]))
      const index = claimIndex()
      const held = resolveHolders(index)
      const placement = place(undefined, false, held)
      const desired = new Map<string, { record: DataflowRecord, node: NormalizedNode, epoch: number }>()
      const placedOn = new Map<string, string | null>()
      for (const p of placement) {
        placedOn.set(p.key, p.peerId)
        if (p.peerId !== self) continue
        const f = byName.get(p.flow)
        const node = f?.dataflow.nodes.find(n => n.id === p.node)
        if (!f || !node || f.record.state !== 'running') continue
        desired.set(p.key, { record: f.record, node, epoch: p.epoch })
      }
      // Stop what is no longer ours, or whose definition or epoch changed. Stops run concurrently:
      // a node slow to exit must not delay the others' starts.
      for (const [key, r] of running) {
        const d = desired.get(key)
        if (d && nodeDefinitionHash(d.node) === r.defHash && d.epoch === r.epoch) continue
        const elsewhere = typeof placedOn.get(key) === 'string'
        const flowRunning = byName.get(r.flow)?.record.state === 'running'
        const reason = d ? (d.epoch !== r.epoch ? 'epoch changed' : 'redeploy') : elsewhere ? 'placed elsewhere' : flowRunning ? 'unplaced (no eligible peer, or a strict node without a majority)' : 'flow stopped or removed'
        beginStop(key, reason, d ? 'none' : elsewhere ? 'remove' : 'stopped')
      }
      // Our claims: one per node we hold, under our own key (so claims from two sides of a partition
      // never overwrite each other); ours that lost to another contender are withdrawn.
      for (const [key, d] of desired) {
        const ck = peerKey(key, self)
        const mine = doc.getClaim(ck)
        if (!mine || mine.peerId !== self || mine.epoch !== d.epoch) doc.putClaim(ck, { peerId: self, epoch: d.epoch, at: now })
      }
      for (const docKey of claimsToWithdraw(index, held, self, new Set(desired.keys()), flow => byName.has(flow))) doc.removeClaim(docKey)
      // Start what is ours.
      for (const [key, d] of desired) {
        if (running.has(key) || stopping.has(key)) continue
        if (!filesReady.has(versionKey(d.record))) { prepareFiles(d.record); continue }
        running.set(key, { flow: d.record.name, node: d.node.id, epoch: d.epoch, defHash: nodeDefinitionHash(d.node), version: d.record.version })
        counters.starts++
        log.info({ key, epoch: d.epoch }, 'starting node instance')
        supervisor.startInstance(specFor(d.record, d.node, d.epoch)).catch((err: unknown) => {
          counters.startFailures++
          log.error({ key, err }, 'could not start node instance; will retry')
          if (running.get(key)?.epoch === d.epoch) running.delete(key)
          setTimeout(() => schedule(), 1000).unref()
        })
      }
      // Every peer keeps every running flow's files: whoever takes a node over has them at once,
      // and they survive the loss of the deployer.
      for (const f of fl) if (f.record.state === 'running') prepareFiles(f.record)
    } catch (err) {
      log.error({ err }, 'reconcile failed')
    } finally {
      busy = false
      if (again) { again = false; schedule() }
    }
  }

  const warmedUp = (now: number): boolean => {
    // after a stall only evidence heard since it counts (states are not re-evaluated until the next beat)
    const seen = new Map(runtime.liveness.list().map(l => [l.peerId, l.lastSeen ?? 0]))
    const live = new Set(runtime.livePeers().filter(p => p === self || (seen.get(p) ?? 0) >= heardSince))
    const synced = new Set(doc.connectedPeers())
    const allHere = members().every(m => m.peerId === self || (live.has(m.peerId) && synced.has(m.peerId)))
    if (!allHere) allHereAt = undefined
    else allHereAt ??= now
    if ((allHereAt !== undefined && now - allHereAt >= syncRoundMs) || now - startedAt >= cfg.deadMs) {
      warm = true
      log.info({ afterMs: now - startedAt, everyoneSeen: allHereAt !== undefined }, 'placing nodes from now on')
    }
    return warm
  }

  /** Notes a stall when the watchdog's monotonic tick is overdue (a freeze, not a wall-clock step). */
  const checkStall = (): void => {
    if (performance.now() - lastBeat > stallMs) noteStall(Date.now())
  }

  const noteStall = (now: number): void => {
    counters.stalls++
    const mono = performance.now()
    const stalledMs = Math.round(mono - lastBeat)
    lastBeat = mono
    if (stalledMs >= cfg.deadMs) {
      // Silent for the dead time: the others have declared this peer dead and re-placed its nodes,
      // and what it sees now (everyone dead, or alive on stale evidence) is its own silence. It
      // places nothing until it has heard the swarm again — every member alive with a document
      // channel, plus a sync round — or until its own fresh observation covers the dead time,
      // exactly as after a restart. Its instances stop on the first placement after that.
      log.warn({ stalledMs }, 'this peer was stalled for longer than the dead time; warming up again before acting on its view')
      warm = false
      allHereAt = undefined
      startedAt = now
      heardSince = now
      settleUntil = 0
      schedule(100)
      return
    }
    log.warn({ stalledMs, settleMs }, 'this peer was stalled; waiting for fresh liveness before acting on it')
    settleUntil = now + settleMs
    schedule(settleMs + 10)
  }

  const onInstanceState = (info: InstanceInfo): void => {
    // Only the instance this peer wants: the states of one being stopped are settled by beginStop.
    if (!running.has(info.key)) return
    const ik = peerKey(info.key, self)
    const prev: EpochInstanceRecord | undefined = doc.getInstance(ik)
    const def = shortDef(running.get(info.key)?.defHash ?? '')
    const rec: EpochInstanceRecord = { peerId: self, state: info.state, restarts: info.restarts, startedAt: info.startedAt ?? Date.now(), epoch: info.epoch, def }
    if (prev && prev.peerId === rec.peerId && prev.state === rec.state && prev.restarts === rec.restarts && prev.startedAt === rec.startedAt && prev.epoch === rec.epoch && prev.def === rec.def) return
    doc.putInstance(ik, rec)
  }

  // ---- control routes ------------------------------------------------------------------------

  const nameOf = (peer: string | null): string | null => peer === null ? null : (doc.getMember(peer)?.name ?? peer)

  /** The instance record a peer wrote for a node (under its own key; the shared key from earlier versions as a fallback). */
  const instanceOf = (key: string, peer: string): EpochInstanceRecord | undefined => {
    const own = doc.getInstance(peerKey(key, peer))
    if (own?.peerId === peer) return own
    const legacy = doc.getInstance(key)
    return legacy?.peerId === peer ? legacy : undefined
  }

  const ps = (): Array<{ name: string, state: string, version: number, nodes: Array<{ id: string, peer: string | null, peerId: string | null, state: string, restarts: number, uptimeMs: number | null, epoch: number }> }> => {
    const placement = new Map(place().map(p => [p.key, p]))
    return flows().map(({ record, dataflow }) => ({
      name: record.name,
      state: record.state,
      version: record.version,
      nodes: dataflow.nodes.map(n => {
        const key = nodeKey(record.name, n.id)
        const p = placement.get(key)
        const holder = record.state === 'running' ? (p?.peerId ?? null) : null
        // The holder's record counts only for the epoch and definition it should run now: a record
        // of an earlier epoch (after a freeze or a heal) or definition (a redeploy) is an instance
        // about to be replaced.
        const rec = holder === null ? undefined : instanceOf(key, holder)
        const inst = rec !== undefined && (typeof rec.epoch !== 'number' || rec.epoch === p?.epoch) && (typeof rec.def !== 'string' || rec.def === shortDef(nodeDefinitionHash(n))) ? rec : undefined
        const current = inst !== undefined
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
    'GET /flows/metrics': async () => ({ manager: { ...counters, running: running.size, stopping: stopping.size }, supervisor: { ...supervisor.counters }, files: { ...files.counters } }),
    'POST /flows/deploy': async ({ body }: { body: unknown }) => {
      const b = body as { name?: unknown, source?: unknown, files?: unknown }
      if (typeof b.name !== 'string' || typeof b.source !== 'string') throw new UsageError('deploy needs a name and the descriptor source')
      if (!FLOW_NAME.test(b.name)) throw new UsageError(`dataflow name '${b.name}' must be 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit`)
      // The peer re-validates what it is asked to write (the CLI may be of another version), and
      // checks everything before it writes anything: a refused deploy leaves no trace.
      const dataflow = parseDescriptor(b.source, { file: `${b.name}.yml`, checkFiles: false })
      const shipped = Array.isArray(b.files) ? b.files as Array<{ node?: unknown, relPath?: unknown, data?: unknown, role?: unknown }> : []
      const blobs = new Map<string, Uint8Array>()
      const digests: Record<string, string> = {}
      const perNode = new Map<string, { digests: Record<string, string>, entry?: string }>()
      for (const f of shipped) {
        if (typeof f.relPath !== 'string' || typeof f.data !== 'string' || typeof f.node !== 'string') throw new UsageError('malformed file in deploy request')
        if (!safeRelPath(f.relPath)) throw new UsageError(`shipped file path '${f.relPath}' must be relative to the descriptor's directory and stay inside it`)
        const bytes = new Uint8Array(Buffer.from(f.data, 'base64'))
        if (bytes.byteLength > MAX_FILE_BYTES) throw new UsageError(`shipped file '${f.relPath}' is ${bytes.byteLength} bytes, over the ${MAX_FILE_BYTES}-byte limit for node files; install large assets on the devices instead`)
        const hash = sha256(bytes)
        blobs.set(hash, bytes)
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
      const oldSpec = old === undefined ? undefined : checkDataflow(old.spec)
      const diff = diffDataflows(oldSpec?.ok === true ? oldSpec.dataflow : { nodes: [] }, dataflow)
      if (old && old.state === 'running' && diff.added.length + diff.removed.length + diff.changed.length === 0) {
        return { name: b.name, version: old.version, ...diff, files: Object.keys(digests).length }
      }
      for (const bytes of blobs.values()) await files.put(bytes)
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
      for (const [hash, bytes] of blobs) {
        if (!doc.getFile(hash)) doc.putFile({ sha256: hash, size: bytes.byteLength, addedBy: self, addedAt: Date.now() })
      }
      schedule()
      return { name: b.name, version: record.version, ...diff, files: Object.keys(digests).length }
    },
    'POST /flows/plan': async ({ body }: { body: unknown }) => {
      const b = body as { name?: unknown, dataflow?: unknown }
      const check = checkDataflow(b.dataflow)
      if (typeof b.name !== 'string' || !check.ok) throw new UsageError(`plan needs a name and a parsed dataflow${check.ok ? '' : ` (${check.reason}); the CLI and the peer may be of different versions`}`)
      return place({ name: b.name, dataflow: check.dataflow }, true).filter(p => p.flow === b.name).map(p => ({
        node: p.node, peer: p.peerId, peerName: nameOf(p.peerId), epoch: p.epoch, reason: p.reason,
        candidates: (p.candidates ?? []).map(c => ({ peer: c.peerId, name: c.name, live: c.live, eligible: c.eligible, reason: c.reason, score: c.total ?? undefined, sticky: c.bonus > 0, chosen: c.chosen })),
      }))
    },
    'POST /flows/stop': async ({ body }: { body: unknown }) => setState(body, 'stopped'),
    'POST /flows/start': async ({ body }: { body: unknown }) => setState(body, 'running'),
    'POST /flows/rm': async ({ body }: { body: unknown }) => {
      const name = (body as { name?: unknown }).name
      if (typeof name !== 'string' || !doc.getDataflow(name)) throw new FlowNotFoundError(`no dataflow named '${String(name)}'; see 'peer ps'`)
      doc.removeDataflow(name)
      // Claims and instance records of every node of the flow, whoever wrote them.
      const prefix = `${name}/`
      for (const k of Object.keys(doc.listClaims())) if (k.startsWith(prefix)) doc.removeClaim(k)
      for (const k of Object.keys(doc.listInstances())) if (k.startsWith(prefix)) doc.removeInstance(k)
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
      const index = claimIndex()
      return {
        flow: flowName,
        definition: node,
        definitionHash: nodeDefinitionHash(node),
        instance: p?.nodes.find(n => n.id === nodeId),
        holder: resolveHolders(index)[target] ?? null,
        claims: (index.byNode.get(target) ?? []).map(({ claim }) => ({ ...claim, peerName: nameOf(claim.peerId) })),
      }
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
        const holder = placement.get(nodeKey(flow, id)) ?? self
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
      startedAt = Date.now()
      warm = false
      allHereAt = undefined
      runtime.addRoutes(routes as never)
      await runtime.handleMembers(FILES_PROTOCOL, ch => files.serve(ch), { maxFrameBytes: 80 * 1024 * 1024 })
      await runtime.handleMembers(LOGS_PROTOCOL, serveLogsChannel)
      unsubs.push(supervisor.onState(onInstanceState))
      unsubs.push(doc.onChange(evt => {
        if (['dataflows', 'claims', 'members', 'revocations'].some(s => evt.sections.has(s as never))) schedule()
      }))
      unsubs.push(runtime.liveness.onChange(() => schedule()))
      // a member's uptime decides whether it is settling (placement SETTLE_MS)
      unsubs.push(runtime.liveness.onUptime(() => schedule()))
      unsubs.push(runtime.onAdmitted(() => schedule()))
      // The safety-net tick; every change that matters (document, liveness, admissions, instance
      // exits, file arrivals) schedules a reconcile on its own.
      const tick = setInterval(() => schedule(), 2000)
      tick.unref()
      lastBeat = performance.now()
      const watchdog = setInterval(() => {
        checkStall()
        lastBeat = performance.now()
      }, 100)
      watchdog.unref()
      unsubs.push(() => { clearInterval(tick); clearInterval(watchdog); clearTimeout(settleTimer); settleTimerAt = Infinity })
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
