import { hashStrings, pairHigh, pairLow, pairUniform, scoreOf } from './hash.ts'
import type {
  CandidateExplanation, ClaimContender, Holder, NodePlacement, PlacementDeploy, PlacementInput, PlacementMember,
  PlacementNodeSpec, PlacementOptions, PlacementResult,
} from './interfaces.ts'

/**
 * Default stickiness: the current holder's score counts double. A joining peer then takes a node
 * from its holder only when its HRW score is more than twice the holder's, which roughly halves
 * the churn a join causes while still rebalancing over time.
 */
export const DEFAULT_STICKINESS = 1

/**
 * How long a member that started, restarted or resumed from a freeze longer than the dead time is
 * "settling" (PlacementInput.settling): it takes no node from a live holder that can still run it.
 * A swarm constant, like the stickiness. 30 s: a node that failed over stays where it went while
 * the member that lost it proves it stays up; a member that keeps dropping out never gets it back.
 */
export const SETTLE_MS = 30_000

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isStr = (v: unknown): v is string => typeof v === 'string'

/** Holder lookup over either a Map or a plain record (the document gives records). */
function holderOf (previous: PlacementInput['previous'], key: string, bad: { count: number }): Holder | undefined {
  if (previous === undefined || previous === null) return undefined
  const h = previous instanceof Map ? previous.get(key) : Object.hasOwn(previous, key) ? (previous as Record<string, Holder>)[key] : undefined
  if (h === undefined) return undefined
  const c = h as unknown
  if (!isObj(c) || !isStr(c.peerId) || typeof c.epoch !== 'number' || !Number.isFinite(c.epoch) || c.epoch < 0) { bad.count++; return undefined }
  return { peerId: c.peerId, epoch: Math.floor(c.epoch) }
}

// --- members --------------------------------------------------------------------------------------
interface Members {
  n: number
  ids: string[]
  names: string[]
  caps: Array<readonly unknown[]>
  labels: Array<Readonly<Record<string, unknown>>>
  /** NaN when the member declares no value. */
  cpu: Float64Array
  mem: Float64Array
  weight: Float64Array
  live: Uint8Array
  /** 1 for a member that came back only recently (PlacementInput.settling). */
  settling: Uint8Array
  hashes: Uint32Array
  remCpu: Float64Array
  remMem: Float64Array
  index: Map<string, number>
  /** Entries dropped: malformed, or a duplicate peer id. */
  ignored: number
}

const EMPTY: readonly unknown[] = []
const NO_LABELS: Readonly<Record<string, unknown>> = {}
const finiteOr = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback)

function memberSortKey (m: PlacementMember): string {
  // Total order for duplicates of one peer id, so input order never decides which one counts.
  return JSON.stringify(m)
}

/**
 * Members sorted by peer id into flat arrays. Fields are read defensively (the roster comes from
 * the network) without copying each member: 10 000 members must cost a few milliseconds.
 */
function prepareMembers (input: PlacementInput, live: ReadonlySet<string>, settling: ReadonlySet<string>): Members {
  const list: PlacementMember[] = []
  let ignored = 0
  for (const raw of input.members as readonly unknown[]) {
    if (isObj(raw) && isStr(raw.peerId) && raw.peerId.length > 0) list.push(raw as unknown as PlacementMember)
    else ignored++
  }
  // The full key is computed only for duplicates of one peer id (never, from a well-formed document).
  list.sort((a, b) => cmp(a.peerId, b.peerId) || cmp(memberSortKey(a), memberSortKey(b)))
  const unique: PlacementMember[] = []
  for (const m of list) {
    if (unique.length > 0 && (unique[unique.length - 1] as PlacementMember).peerId === m.peerId) { ignored++; continue }
    unique.push(m)
  }
  const n = unique.length
  const ids = new Array<string>(n)
  for (let i = 0; i < n; i++) ids[i] = (unique[i] as PlacementMember).peerId
  const ms: Members = {
    n,
    ids,
    names: new Array<string>(n),
    caps: new Array<readonly unknown[]>(n),
    labels: new Array<Readonly<Record<string, unknown>>>(n),
    cpu: new Float64Array(n),
    mem: new Float64Array(n),
    weight: new Float64Array(n),
    live: new Uint8Array(n),
    settling: new Uint8Array(n),
    hashes: hashStrings(ids),
    remCpu: new Float64Array(n),
    remMem: new Float64Array(n),
    index: new Map(),
    ignored,
  }
  for (let i = 0; i < n; i++) {
    const m = unique[i] as PlacementMember
    ms.index.set(m.peerId, i)
    ms.names[i] = isStr(m.name) ? m.name : m.peerId
    ms.caps[i] = Array.isArray(m.caps) ? m.caps : EMPTY
    ms.labels[i] = isObj(m.labels) ? m.labels : NO_LABELS
    const r: Record<string, unknown> = isObj(m.resources) ? m.resources : NO_LABELS
    ms.cpu[i] = finiteOr(r.cpu, NaN)
    ms.mem[i] = finiteOr(r.memory_mb, NaN)
    ms.weight[i] = m.weight === undefined ? 1 : finiteOr(m.weight, NaN)
    ms.live[i] = live.has(m.peerId) ? 1 : 0
    ms.settling[i] = settling.has(m.peerId) ? 1 : 0
  }
  ms.remCpu.set(ms.cpu)
  ms.remMem.set(ms.mem)
  return ms
}

// --- nodes ----------------------------------------------------------------------------------------
interface Need {
  machine: string | undefined
  caps: string[]
  labels: Array<[string, string]>
  cpu: number
  mem: number
  strict: boolean
}

function needOf (deploy: unknown): Need {
  const d: PlacementDeploy = isObj(deploy) ? deploy : {}
  const caps = Array.isArray(d.caps) ? [...new Set(d.caps.filter(isStr))].sort() : []
  const labels = isObj(d.labels) ? Object.entries(d.labels).filter((e): e is [string, string] => isStr(e[1])).sort((a, b) => cmp(a[0], b[0])) : []
  const r = isObj(d.resources) ? d.resources : {}
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0)
  return { machine: isStr(d.machine) ? d.machine : undefined, caps, labels, cpu: num(r.cpu), mem: num(r.memory_mb), strict: d.strict === true }
}

/** Why member `m` can never run a node with this need (ignoring what other nodes consumed), or null. */
function staticVerdict (ms: Members, m: number, need: Need): string | null {
  if (ms.live[m] === 0) return 'not live'
  const w = ms.weight[m] as number
  if (!(w > 0) || !Number.isFinite(w)) return `invalid weight ${w}`
  if (need.machine !== undefined && ms.names[m] !== need.machine) return `pinned to machine ${need.machine}`
  for (const c of need.caps) if (!(ms.caps[m] as readonly unknown[]).includes(c)) return `missing cap ${c}`
  const labels = ms.labels[m] as Readonly<Record<string, unknown>>
  for (const [k, v] of need.labels) {
    const have = Object.hasOwn(labels, k) ? labels[k] : undefined
    if (have !== v) return have === undefined ? `label ${k}=${v} not present` : `label ${k}=${String(have)}, needs ${k}=${v}`
  }
  if (need.cpu > 0) {
    const c = ms.cpu[m] as number
    if (Number.isNaN(c)) return 'declares no cpu'
    if (c < need.cpu) return `cpu ${c} < ${need.cpu} needed`
  }
  if (need.mem > 0) {
    const c = ms.mem[m] as number
    if (Number.isNaN(c)) return 'declares no memory_mb'
    if (c < need.mem) return `memory_mb ${c} < ${need.mem} needed`
  }
  return null
}

function capacityVerdict (ms: Members, m: number, need: Need): string | null {
  if (need.cpu > 0 && (ms.remCpu[m] as number) < need.cpu) return `cpu exhausted (${ms.remCpu[m]} of ${ms.cpu[m]} left, ${need.cpu} needed)`
  if (need.mem > 0 && (ms.remMem[m] as number) < need.mem) return `memory_mb exhausted (${ms.remMem[m]} of ${ms.mem[m]} left, ${need.mem} needed)`
  return null
}

/** Members eligible for one constraint set, shared by every node with the same constraints. */
interface Group { eligible: Int32Array, hashes: Uint32Array, uniform: boolean, rejections?: string }

function groupKey (need: Need): string {
  return JSON.stringify([need.machine ?? null, need.caps, need.labels, need.cpu, need.mem])
}

function buildGroup (ms: Members, need: Need): Group {
  const idx: number[] = []
  let uniform = true
  for (let m = 0; m < ms.n; m++) {
    if (staticVerdict(ms, m, need) === null) {
      idx.push(m)
      if (ms.weight[m] !== 1) uniform = false
    }
  }
  const eligible = Int32Array.from(idx)
  // The members' hashes gathered in group order: the hot loop then reads memory sequentially.
  const hashes = new Uint32Array(eligible.length * 2)
  for (let i = 0; i < eligible.length; i++) {
    const m = eligible[i] as number
    hashes[2 * i] = ms.hashes[2 * m] as number
    hashes[2 * i + 1] = ms.hashes[2 * m + 1] as number
  }
  return { eligible, hashes, uniform }
}

interface Job {
  key: string
  flow: string
  node: string
  running: boolean
  need: Need
  group: Group | undefined
  kh: number
  kl: number
  holder: Holder | undefined
  holderIdx: number
}

/**
 * `bestOther`: the best challenger's score when the holder kept the node thanks to stickiness, else
 * `score`. `passedOver`: a settling member that would have taken the node from its holder (-1 if none).
 */
interface Choice { m: number, total: number, score: number, sticky: boolean, bestOther: number, passedOver: number, passedScore: number }

/**
 * The election of one node: weighted HRW over the eligible members, the current holder's score
 * multiplied by 1 + stickiness. Ties go to the smaller peer id (members are sorted), and the holder
 * wins a tie against a challenger. The hot loop compares raw uniforms when all weights are 1
 * (-1/ln(u) is increasing in u) and avoids allocations.
 */
function choose (ms: Members, job: Job, stickiness: number, checkCapacity: boolean): Choice | null {
  const g = job.group as Group
  const el = g.eligible
  const gh = g.hashes
  const len = el.length
  const kh = job.kh
  const kl = job.kl
  const needCpu = job.need.cpu
  const needMem = job.need.mem
  const remCpu = ms.remCpu
  const remMem = ms.remMem
  let bestI = -1
  let bestV = -Infinity
  if (g.uniform && !checkCapacity) {
    // The hot path. All weights 1: -1/ln(u) grows with u, so compare the uniform's high 32 bits
    // and compute the low bits only on a tie. ~3 multiplications per pair, sequential reads, no
    // allocation.
    for (let i = 0, j = 0; i < len; i++, j += 2) {
      const v = pairHigh(gh[j] as number, gh[j + 1] as number, kh, kl)
      if (v > bestV) { bestI = i; bestV = v } else if (v === bestV && pairLow(gh[j] as number, gh[j + 1] as number, kh, kl, v) > pairLow(gh[2 * bestI] as number, gh[2 * bestI + 1] as number, kh, kl, v)) bestI = i
    }
  } else {
    for (let i = 0, j = 0; i < len; i++, j += 2) {
      const m = el[i] as number
      if (checkCapacity && ((remCpu[m] as number) < needCpu || (remMem[m] as number) < needMem)) continue
      const v = scoreOf(pairUniform(gh[j] as number, gh[j + 1] as number, kh, kl), ms.weight[m] as number)
      if (v > bestV) { bestI = i; bestV = v }
    }
  }
  if (bestI < 0) return null
  const best = el[bestI] as number
  const h = ms.hashes
  const exact = (m: number): number => scoreOf(pairUniform(h[2 * m] as number, h[2 * m + 1] as number, kh, kl), ms.weight[m] as number)
  const bestScore = exact(best)
  const holderIdx = job.holderIdx
  // The holder competes with its bonus only while it could run the node (live, eligible, room left).
  if (holderIdx >= 0 && staticVerdict(ms, holderIdx, job.need) === null && (!checkCapacity || capacityVerdict(ms, holderIdx, job.need) === null)) {
    const holderScore = exact(holderIdx)
    const holderTotal = holderScore * (1 + stickiness)
    if (best === holderIdx) return { m: holderIdx, total: holderTotal, score: holderScore, sticky: true, bestOther: holderScore, passedOver: -1, passedScore: 0 }
    if (holderTotal >= bestScore) return { m: holderIdx, total: holderTotal, score: holderScore, sticky: true, bestOther: bestScore, passedOver: -1, passedScore: 0 }
    if (ms.settling[best] === 1) {
      // A member that came back only recently does not take a node from a holder that can still
      // run it: the best challenger among the settled members competes instead (rare; slow path).
      let other = -1
      let otherScore = -Infinity
      for (let i = 0; i < len; i++) {
        const m = el[i] as number
        if (m === holderIdx || ms.settling[m] === 1) continue
        if (checkCapacity && ((remCpu[m] as number) < needCpu || (remMem[m] as number) < needMem)) continue
        const v = exact(m)
        if (v > otherScore) { other = m; otherScore = v }
      }
      if (other < 0 || holderTotal >= otherScore) return { m: holderIdx, total: holderTotal, score: holderScore, sticky: true, bestOther: other < 0 ? holderScore : otherScore, passedOver: best, passedScore: bestScore }
      return { m: other, total: otherScore, score: otherScore, sticky: false, bestOther: otherScore, passedOver: best, passedScore: bestScore }
    }
  }
  return { m: best, total: bestScore, score: bestScore, sticky: false, bestOther: bestScore, passedOver: -1, passedScore: 0 }
}

const fmt = (x: number): string => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3)) : String(x))

/** Why no member is eligible, by count ("3 not live, 2 missing cap gpu"); computed once per constraint group. */
function summarizeRejections (ms: Members, job: Job): string {
  const g = job.group as Group
  if (g.rejections !== undefined) return g.rejections
  if (ms.n === 0) return (g.rejections = 'the roster is empty')
  const counts = new Map<string, number>()
  for (let m = 0; m < ms.n; m++) {
    const why = staticVerdict(ms, m, job.need)
    if (why !== null) counts.set(why, (counts.get(why) ?? 0) + 1)
  }
  g.rejections = [...counts.entries()].sort((a, b) => b[1] - a[1] || cmp(a[0], b[0])).map(([why, c]) => `${c} ${why}`).join(', ')
  return g.rejections
}

function explainCandidates (ms: Members, job: Job, stickiness: number, chosen: number): CandidateExplanation[] {
  const out: CandidateExplanation[] = []
  for (let m = 0; m < ms.n; m++) {
    const why = staticVerdict(ms, m, job.need) ?? capacityVerdict(ms, m, job.need)
    const live = ms.live[m] === 1
    if (why !== null) {
      out.push({ peerId: ms.ids[m] as string, name: ms.names[m] as string, live, eligible: false, reason: why, score: null, bonus: 0, total: null, chosen: false })
      continue
    }
    const score = scoreOf(pairUniform(ms.hashes[2 * m] as number, ms.hashes[2 * m + 1] as number, job.kh, job.kl), ms.weight[m] as number)
    const bonus = m === job.holderIdx ? score * stickiness : 0
    out.push({ peerId: ms.ids[m] as string, name: ms.names[m] as string, live, eligible: true, reason: m === job.holderIdx ? 'eligible (current holder)' : 'eligible', score, bonus, total: score + bonus, chosen: m === chosen })
  }
  out.sort((a, b) => Number(b.chosen) - Number(a.chosen) || Number(b.eligible) - Number(a.eligible) || (b.total ?? -1) - (a.total ?? -1) || cmp(a.peerId, b.peerId))
  return out
}

function jobSortKey (spec: PlacementNodeSpec, running: boolean): string {
  return JSON.stringify([running, needOf(spec.deploy)])
}

/**
 * Elects, for every node of every running flow, the peer that runs it. Pure and deterministic:
 * the same flows, members (any order), live set, roster size and previous holders give the same
 * result on every peer. Never throws on malformed entries: they are skipped (the guarded document
 * accessors should have dropped them already).
 *
 * Steps per node: eligible = live ∧ pinned machine ∧ caps ∧ labels ∧ declared resources;
 * score = -weight / ln(u(peer, key)); the current holder's score × (1 + stickiness); strict
 * singletons only with a majority of the roster visible; capacity greedy (holders that keep their
 * node first, then by key) so no member's declared cpu / memory_mb is oversubscribed; epoch + 1
 * exactly when the holder changes.
 */
export function computePlacement (input: PlacementInput, options: PlacementOptions = {}): PlacementResult {
  const explain = options.explain === true
  const stickiness = typeof input.stickiness === 'number' && input.stickiness >= 0 ? input.stickiness : DEFAULT_STICKINESS
  const live = new Set<string>()
  for (const p of input.live) if (isStr(p)) live.add(p)
  const settling = new Set<string>()
  if (input.settling !== undefined) for (const p of input.settling) if (isStr(p)) settling.add(p)
  const ms = prepareMembers(input, live, settling)
  let visible = 0
  for (let m = 0; m < ms.n; m++) visible += ms.live[m] as number
  const rosterSize = Number.isFinite(input.rosterSize) && input.rosterSize > 0 ? Math.floor(input.rosterSize) : ms.n
  const majority = visible * 2 > rosterSize

  // Collect nodes; duplicates of one key (impossible from a well-formed document) resolve by a total order.
  const raw: Array<{ key: string, flow: string, spec: PlacementNodeSpec, running: boolean }> = []
  const bad = { count: ms.ignored }
  for (const flow of input.flows as readonly unknown[]) {
    if (!isObj(flow) || !isStr(flow.name) || !Array.isArray(flow.nodes)) { bad.count++; continue }
    for (const spec of flow.nodes as unknown[]) {
      if (!isObj(spec) || !isStr(spec.id)) { bad.count++; continue }
      raw.push({ key: `${flow.name}/${spec.id}`, flow: flow.name, spec: spec as unknown as PlacementNodeSpec, running: flow.state === 'running' })
    }
  }
  raw.sort((a, b) => cmp(a.key, b.key) || cmp(jobSortKey(a.spec, a.running), jobSortKey(b.spec, b.running)))

  const keys: string[] = []
  const jobs: Job[] = []
  for (const r of raw) {
    if (keys.length > 0 && keys[keys.length - 1] === r.key) { bad.count++; continue }
    keys.push(r.key)
    const holder = holderOf(input.previous, r.key, bad)
    jobs.push({ key: r.key, flow: r.flow, node: r.spec.id, running: r.running, need: needOf(r.spec.deploy), group: undefined, kh: 0, kl: 0, holder, holderIdx: holder ? (ms.index.get(holder.peerId) ?? -1) : -1 })
  }
  const kHashes = hashStrings(keys)
  const groups = new Map<string, Group>()
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i] as Job
    job.kh = kHashes[2 * i] as number
    job.kl = kHashes[2 * i + 1] as number
    if (!job.running || (job.need.strict && !majority)) continue
    const gk = groupKey(job.need)
    let g = groups.get(gk)
    if (!g) { g = buildGroup(ms, job.need); groups.set(gk, g) }
    job.group = g
  }

  const results = new Array<NodePlacement>(jobs.length)
  const finish = (i: number, choice: Choice | null, reason: string, candidates?: CandidateExplanation[]): void => {
    const job = jobs[i] as Job
    const peerId = choice ? ms.ids[choice.m] as string : null
    const prev = job.holder
    const epoch = peerId === null ? (prev?.epoch ?? 0) : prev === undefined ? 1 : prev.peerId === peerId ? prev.epoch : prev.epoch + 1
    const out: NodePlacement = { key: job.key, flow: job.flow, node: job.node, peerId, epoch, score: choice ? choice.total : null, sticky: choice?.sticky ?? false, reason }
    if (candidates) out.candidates = candidates
    results[i] = out
  }
  const describeChoice = (job: Job, c: Choice): string => {
    const name = ms.names[c.m] as string
    const n = (job.group as Group).eligible.length
    const settlingNote = c.passedOver >= 0 ? `; ${ms.names[c.passedOver] as string} scores higher (${fmt(c.passedScore)}) but came back only recently (settling)` : ''
    if (c.sticky && c.passedOver >= 0) {
      return `kept by current holder ${name}: score ${fmt(c.score)} + stickiness ${fmt(c.total - c.score)}` +
        (c.bestOther > c.score ? ` ≥ best settled other ${fmt(c.bestOther)}` : '') + settlingNote
    }
    if (c.sticky) {
      return c.score >= c.bestOther
        ? `kept by current holder ${name}: highest score ${fmt(c.score)} among ${n} eligible`
        : `kept by current holder ${name}: score ${fmt(c.score)} + stickiness ${fmt(c.total - c.score)} ≥ best other ${fmt(c.bestOther)}`
    }
    let why = `highest score ${fmt(c.score)} among ${n} eligible`
    const prev = job.holder
    if (prev && prev.peerId !== ms.ids[c.m]) {
      const hi = job.holderIdx
      const verdict = hi < 0 ? 'no longer a member' : staticVerdict(ms, hi, job.need) ?? capacityVerdict(ms, hi, job.need) ?? 'outscored despite stickiness'
      why += `; moved from ${hi >= 0 ? ms.names[hi] as string : prev.peerId} (${verdict})`
    }
    return why + settlingNote
  }
  const decide = (i: number, choice: Choice | null): void => {
    const job = jobs[i] as Job
    const cands = explain ? explainCandidates(ms, job, stickiness, choice ? choice.m : -1) : undefined
    if (choice === null) {
      const none = (job.group as Group).eligible.length === 0
      const needs = [job.need.cpu > 0 ? `cpu ${job.need.cpu}` : '', job.need.mem > 0 ? `memory_mb ${job.need.mem}` : ''].filter(x => x !== '').join(', ')
      finish(i, null, none ? `no eligible live peer (${summarizeRejections(ms, job)})` : `all ${(job.group as Group).eligible.length} eligible peers lack remaining capacity for ${needs}`, cands)
      return
    }
    finish(i, choice, describeChoice(job, choice), cands)
    if (job.need.cpu > 0) ms.remCpu[choice.m] = (ms.remCpu[choice.m] as number) - job.need.cpu
    if (job.need.mem > 0) ms.remMem[choice.m] = (ms.remMem[choice.m] as number) - job.need.mem
  }

  const resourceJobs: Array<{ i: number, pre: Choice | null }> = []
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i] as Job
    if (!job.running) { finish(i, null, 'flow stopped', explain ? [] : undefined); continue }
    if (job.group === undefined) {
      const need = Math.floor(rosterSize / 2) + 1
      finish(i, null, `strict singleton: ${visible} of ${rosterSize} roster members visible, a majority needs ${need}`, explain ? explainCandidates(ms, job, stickiness, -1) : undefined)
      continue
    }
    if (job.need.cpu > 0 || job.need.mem > 0) { resourceJobs.push({ i, pre: choose(ms, job, stickiness, false) }); continue }
    decide(i, choose(ms, job, stickiness, false))
  }
  // Greedy capacity: holders keeping their node go first so a newcomer never evicts them; then by key.
  resourceJobs.sort((a, b) => Number(b.pre?.sticky ?? false) - Number(a.pre?.sticky ?? false) || a.i - b.i)
  for (const { i, pre } of resourceJobs) {
    const job = jobs[i] as Job
    const fits = pre !== null && capacityVerdict(ms, pre.m, job.need) === null
    decide(i, fits ? pre : choose(ms, job, stickiness, true))
  }
  return { placements: results, visible, rosterSize, majority, ignored: bad.count }
}

/**
 * The heal rule for two claims on one node: the highest epoch wins, then the higher HRW score,
 * then the smaller peer id. Symmetric: every peer picks the same winner whatever the argument order.
 */
export function resolveConflict<T extends ClaimContender> (a: T, b: T): T {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch ? a : b
  if (a.score !== b.score) return a.score > b.score ? a : b
  return a.peerId <= b.peerId ? a : b
}

/**
 * Fencing: true when data from `producer` must be dropped because the consumer expects a newer
 * holder — an older epoch, or the same epoch from another peer (a split brain's loser). A
 * producer with a *newer* epoch is not stale: the consumer's view is behind and should catch up.
 */
export function isStale (producer: Holder, expected: Holder): boolean {
  if (producer.epoch !== expected.epoch) return producer.epoch < expected.epoch
  return producer.peerId !== expected.peerId
}
