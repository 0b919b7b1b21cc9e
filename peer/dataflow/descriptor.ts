import { statSync, accessSync, constants as fsConstants } from 'node:fs'
import { dirname, resolve, relative, isAbsolute, delimiter, join, extname } from 'node:path'
import { parseDocument, LineCounter, isMap, isSeq, isScalar, isAlias, type Document, type Node as YamlNode, type Pair } from 'yaml'
import { DescriptorError } from './errors.ts'
import { didYouMean } from './suggest.ts'
import {
  DEFAULT_MAX_RESTARTS, DEFAULT_QUEUE_POLICY, DEFAULT_QUEUE_SIZE, DEFAULT_RESTART_POLICY,
  type Dataflow, type DescriptorIssue, type InputSource, type NormalizedDeploy, type NormalizedInput,
  type NormalizedNode, type ParseOptions, type ParseResult, type PathKind, type QueuePolicy, type RestartPolicy,
} from './interfaces.ts'

/** Files with these extensions run on the peer's own Node 24 (tsx handles TypeScript). */
export const NODE_SCRIPT_EXTENSIONS: readonly string[] = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']

// Ids and output names become Zenoh key chunks ("flow/node/output"): Zenoh reserves these.
const BAD_ID_CHARS = /[/*$?#\s]/

// --- field tables -------------------------------------------------------------------------------
// Fields we read. Everything not listed in one of these tables is a typo and refused.
const TOP_FIELDS = ['nodes', 'env'] as const
// dora top-level fields accepted without effect (older and newer dora versions).
const TOP_IGNORED = ['communication', '_unstable_deploy', '_unstable_debug', 'deploy', 'debug', 'health_check_interval', 'strict_types', 'exit_when_nodes_finish', 'type_rules']

const NODE_FIELDS = ['id', 'name', 'description', 'path', 'args', 'env', 'inputs', 'outputs', 'restart_policy', 'max_restarts',
  'restart_delay', 'max_restart_delay', 'restart_window', 'send_stdout_as', 'deploy', '_unstable_deploy', 'files'] as const
// dora node fields that only tune dora's own daemon, build or type checker: accepted, warned, ignored.
const NODE_IGNORED = ['build', 'output_types', 'input_types', 'output_metadata', 'output_framing', 'pattern', 'send_logs_as',
  'min_log_level', 'max_log_size', 'max_rotated_files', 'shared_memory_pool_size', 'health_check_timeout',
  'finish_grace_secs', 'cpu_affinity']
// dora node fields that change *what* runs; silently ignoring them would run something else.
const NODE_UNSUPPORTED: Record<string, string> = {
  operators: 'operators (runtime nodes) are not supported; make each operator a node with a `path`',
  operator: 'operators (runtime nodes) are not supported; make the operator a node with a `path`',
  ros2: 'ros2 bridge nodes are declared through swarmflow bridges, not in the descriptor',
  git: 'git sources are not fetched by peers; check the code out next to the descriptor and point `path` at it',
  branch: 'git sources are not supported (see `git`)',
  tag: 'git sources are not supported (see `git`)',
  rev: 'git sources are not supported (see `git`)',
  hub: 'dora hub packages are not supported; point `path` at a local file or a command on PATH',
  module: 'dora modules are not supported; inline the module\'s nodes',
  params: 'dora module params are not supported; inline the module\'s nodes',
  path_sha256: 'URL paths are not supported; put the file next to the descriptor',
}
const INPUT_FIELDS = ['source', 'queue_size', 'queue_policy', 'input_timeout'] as const
const DEPLOY_FIELDS = ['machine', 'labels', 'working_dir', 'caps', 'resources', 'strict'] as const
const DEPLOY_IGNORED = ['distribute']
const RESOURCE_FIELDS = ['cpu', 'memory_mb'] as const

const RESTART_POLICIES: readonly RestartPolicy[] = ['never', 'on-failure', 'always']
const QUEUE_POLICIES: readonly QueuePolicy[] = ['drop_oldest', 'backpressure']

// --- parse context ------------------------------------------------------------------------------
type AnyNode = YamlNode | null | undefined

class Ctx {
  readonly issues: DescriptorIssue[] = []
  readonly warnings: DescriptorIssue[] = []
  private readonly warned = new Set<string>()
  constructor (readonly doc: Document, readonly lines: LineCounter) {}

  at (node: AnyNode | Pair, fallback?: AnyNode): { line: number, col: number } {
    const n = (node as { range?: [number, number, number] } | null | undefined)?.range ? node : fallback
    const range = (n as { range?: [number, number, number] } | null | undefined)?.range
    if (!range) return { line: 0, col: 0 }
    const { line, col } = this.lines.linePos(range[0])
    return { line, col }
  }

  error (path: string, node: AnyNode, message: string, fallback?: AnyNode): void {
    this.issues.push({ path, ...this.at(node, fallback), message })
  }

  warn (path: string, node: AnyNode, field: string, message: string): void {
    if (this.warned.has(field)) return
    this.warned.add(field)
    this.warnings.push({ path, ...this.at(node), message })
  }

  /** Follows YAML aliases (`*anchor`) to the node they name. */
  deref (node: AnyNode): AnyNode {
    let n = node
    for (let i = 0; i < 16 && isAlias(n); i++) n = n.resolve(this.doc) as AnyNode
    return n
  }
}

const keyOf = (pair: Pair): string | undefined => {
  const k = pair.key
  if (isScalar(k)) return String(k.value)
  if (typeof k === 'string' || typeof k === 'number') return String(k)
  return undefined
}

function describe (node: AnyNode): string {
  if (node === null || node === undefined) return 'nothing'
  if (isMap(node)) return 'a mapping'
  if (isSeq(node)) return 'a list'
  if (isScalar(node)) {
    const v = node.value
    if (v === null) return 'null'
    return `${typeof v} ${JSON.stringify(v)}`
  }
  return 'an unexpected value'
}

/**
 * Walks a mapping's pairs, refusing keys outside `known` (with "did you mean"), warning once for
 * keys in `ignored`, and calling `unsupported` keys errors. Returns the known keys' value nodes.
 */
function fields (ctx: Ctx, map: YamlNode, path: string, known: readonly string[], ignored: readonly string[] = [], unsupported: Record<string, string> = {}): Map<string, { value: AnyNode, keyNode: AnyNode }> {
  const out = new Map<string, { value: AnyNode, keyNode: AnyNode }>()
  if (!isMap(map)) return out
  for (const pair of map.items) {
    const key = keyOf(pair)
    const keyNode = pair.key as AnyNode
    if (key === undefined) { ctx.error(path, keyNode, 'keys must be plain strings', map); continue }
    const here = path ? `${path}.${key}` : key
    if (known.includes(key)) { out.set(key, { value: ctx.deref(pair.value as AnyNode), keyNode }); continue }
    if (ignored.includes(key)) {
      ctx.warn(here, keyNode, key, `dora field \`${key}\` is accepted but has no effect in swarmflow`)
      continue
    }
    const why = unsupported[key]
    if (why !== undefined) { ctx.error(here, keyNode, `\`${key}\`: ${why}`); continue }
    const hint = didYouMean(key, [...known, ...ignored])
    ctx.error(here, keyNode, `unknown field \`${key}\`${hint !== '' ? hint : `; allowed: ${known.join(', ')}`}`)
  }
  return out
}

function str (ctx: Ctx, path: string, node: AnyNode, opts: { allowNumbers?: boolean } = {}): string | undefined {
  if (isScalar(node)) {
    const v = node.value
    if (typeof v === 'string') return v
    if (opts.allowNumbers === true && (typeof v === 'number' || typeof v === 'boolean')) return String(v)
  }
  ctx.error(path, node, `expected a string, got ${describe(node)}`)
  return undefined
}

function num (ctx: Ctx, path: string, node: AnyNode, opts: { integer?: boolean, min?: number, positive?: boolean }): number | undefined {
  const v = isScalar(node) ? node.value : undefined
  if (typeof v !== 'number' || !Number.isFinite(v)) { ctx.error(path, node, `expected a number, got ${describe(node)}`); return undefined }
  if (opts.integer === true && !Number.isInteger(v)) { ctx.error(path, node, `expected a whole number, got ${v}`); return undefined }
  if (opts.min !== undefined && v < opts.min) { ctx.error(path, node, `must be at least ${opts.min}, got ${v}`); return undefined }
  if (opts.positive === true && v <= 0) { ctx.error(path, node, `must be greater than 0, got ${v}`); return undefined }
  return v
}

function bool (ctx: Ctx, path: string, node: AnyNode): boolean | undefined {
  const v = isScalar(node) ? node.value : undefined
  if (typeof v === 'boolean') return v
  ctx.error(path, node, `expected true or false, got ${describe(node)}`)
  return undefined
}

function stringList (ctx: Ctx, path: string, node: AnyNode): string[] | undefined {
  if (!isSeq(node)) { ctx.error(path, node, `expected a list of strings, got ${describe(node)}`); return undefined }
  const out: string[] = []
  node.items.forEach((item, i) => {
    const s = str(ctx, `${path}[${i}]`, ctx.deref(item as AnyNode))
    if (s !== undefined) out.push(s)
  })
  return out
}

function stringMap (ctx: Ctx, path: string, node: AnyNode, what: string): Record<string, string> | undefined {
  if (!isMap(node)) { ctx.error(path, node, `expected a mapping of ${what}, got ${describe(node)}`); return undefined }
  const out: Record<string, string> = {}
  for (const pair of node.items) {
    const key = keyOf(pair)
    if (key === undefined) { ctx.error(path, pair.key as AnyNode, 'keys must be plain strings', node); continue }
    const value = ctx.deref(pair.value as AnyNode)
    const s = str(ctx, `${path}.${key}`, value, { allowNumbers: true })
    if (s !== undefined) out[key] = s
  }
  return out
}

/**
 * Durations: a number is seconds (dora's unit for `restart_delay` and `input_timeout`); a string
 * may carry a unit: `500ms`, `2s`, `1.5m`, `1h`, or no unit (seconds).
 */
export function parseDurationMs (value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined
  if (typeof value !== 'string') return undefined
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?\s*$/.exec(value)
  if (!m) return undefined
  const n = Number(m[1])
  const unit = m[2] ?? 's'
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000
  return n * factor
}

function duration (ctx: Ctx, path: string, node: AnyNode): number | undefined {
  const v = isScalar(node) ? node.value : undefined
  const ms = parseDurationMs(v)
  if (ms === undefined) ctx.error(path, node, `expected a duration (seconds as a number, or a string like "500ms", "2s", "1m"), got ${describe(node)}`)
  return ms
}

/** Splits dora's `args: "-v --flag 'two words'"` like a POSIX shell would (quotes, backslashes; no expansion). */
export function splitArgs (text: string): string[] | undefined {
  const out: string[] = []
  let cur = ''
  let has = false
  let quote: '"' | '\'' | null = null
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (quote === '\'') {
      if (c === '\'') quote = null
      else cur += c
    } else if (quote === '"') {
      if (c === '"') quote = null
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1] as string)) cur += text[++i]
      else cur += c
    } else if (c === '\'' || c === '"') {
      quote = c; has = true
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i]; has = true
    } else if (/\s/.test(c)) {
      if (has || cur.length > 0) { out.push(cur); cur = ''; has = false }
    } else {
      cur += c
    }
  }
  if (quote !== null) return undefined
  if (has || cur.length > 0) out.push(cur)
  return out
}

function checkId (ctx: Ctx, path: string, node: AnyNode, value: string, what: string): boolean {
  if (value.length === 0) { ctx.error(path, node, `${what} must not be empty`); return false }
  if (BAD_ID_CHARS.test(value)) {
    ctx.error(path, node, `${what} ${JSON.stringify(value)} must not contain '/', '*', '$', '?', '#' or whitespace (it becomes part of a Zenoh key)`)
    return false
  }
  return true
}

// --- inputs ---------------------------------------------------------------------------------------
interface PendingRef { path: string, node: AnyNode, from: string, output: string }

function parseSource (ctx: Ctx, path: string, node: AnyNode, refs: PendingRef[]): InputSource | undefined {
  const text = str(ctx, path, node)
  if (text === undefined) return undefined
  const slash = text.indexOf('/')
  if (slash <= 0 || slash === text.length - 1) {
    ctx.error(path, node, `input ${JSON.stringify(text)} must be \`node/output\`, \`dora/timer/millis/N\` or \`dora/timer/hz/N\``)
    return undefined
  }
  const head = text.slice(0, slash)
  const rest = text.slice(slash + 1)
  if (head === 'dora') {
    const m = /^timer\/(millis|secs|hz)\/([^/]+)$/.exec(rest)
    if (!m) {
      ctx.error(path, node, `unsupported dora input ${JSON.stringify(text)}; swarmflow supports dora/timer/millis/N, dora/timer/secs/N and dora/timer/hz/N`)
      return undefined
    }
    const unit = m[1] as string
    const raw = m[2] as string
    const value = Number(raw)
    const integerUnit = unit !== 'hz'
    if (!/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(value) || value <= 0 || (integerUnit && !Number.isInteger(value))) {
      ctx.error(path, node, `timer ${JSON.stringify(text)}: ${unit} must be a ${integerUnit ? 'whole' : 'positive'} number greater than 0`)
      return undefined
    }
    const intervalMs = unit === 'millis' ? value : unit === 'secs' ? value * 1000 : 1000 / value
    return { kind: 'timer', intervalMs }
  }
  const output = rest
  if (output.includes('/')) {
    ctx.error(path, node, `input ${JSON.stringify(text)} has too many '/': write \`node/output\``)
    return undefined
  }
  refs.push({ path, node, from: head, output })
  return { kind: 'node', node: head, output }
}

function parseInput (ctx: Ctx, path: string, node: AnyNode, refs: PendingRef[]): NormalizedInput | undefined {
  if (isMap(node)) {
    const f = fields(ctx, node, path, INPUT_FIELDS)
    const src = f.get('source')
    if (src === undefined) { ctx.error(path, node, 'the long form of an input needs `source: node/output`'); return undefined }
    const source = parseSource(ctx, `${path}.source`, src.value, refs)
    let queueSize = DEFAULT_QUEUE_SIZE
    let queuePolicy = DEFAULT_QUEUE_POLICY
    let inputTimeoutMs: number | undefined
    const qs = f.get('queue_size')
    if (qs) {
      const v = num(ctx, `${path}.queue_size`, qs.value, { integer: true, min: 0 })
      // dora clamps 0 to 1 (latest-only); do the same so the supervisor never sees 0.
      if (v !== undefined) queueSize = Math.max(1, v)
    }
    const qp = f.get('queue_policy')
    if (qp) {
      const v = str(ctx, `${path}.queue_policy`, qp.value)
      if (v !== undefined) {
        if ((QUEUE_POLICIES as readonly string[]).includes(v)) queuePolicy = v as QueuePolicy
        else ctx.error(`${path}.queue_policy`, qp.value, `unknown queue_policy ${JSON.stringify(v)}${didYouMean(v, QUEUE_POLICIES)}; allowed: ${QUEUE_POLICIES.join(', ')}`)
      }
    }
    const it = f.get('input_timeout')
    if (it) inputTimeoutMs = duration(ctx, `${path}.input_timeout`, it.value)
    if (source === undefined) return undefined
    const out: NormalizedInput = { source, queueSize, queuePolicy }
    if (inputTimeoutMs !== undefined) out.inputTimeoutMs = inputTimeoutMs
    return out
  }
  const source = parseSource(ctx, path, node, refs)
  if (source === undefined) return undefined
  return { source, queueSize: DEFAULT_QUEUE_SIZE, queuePolicy: DEFAULT_QUEUE_POLICY }
}

// --- deploy ---------------------------------------------------------------------------------------
function parseDeploy (ctx: Ctx, path: string, node: AnyNode, legacy: boolean): NormalizedDeploy {
  const deploy: NormalizedDeploy = { labels: {}, caps: [], resources: {}, strict: false }
  if (!isMap(node)) { ctx.error(path, node, `expected a mapping (machine, labels, caps, resources, strict), got ${describe(node)}`); return deploy }
  const f = fields(ctx, node, path, legacy ? ['machine'] : DEPLOY_FIELDS, legacy ? [] : DEPLOY_IGNORED)
  const machine = f.get('machine')
  if (machine) { const v = str(ctx, `${path}.machine`, machine.value); if (v !== undefined) deploy.machine = v }
  const labels = f.get('labels')
  if (labels) { const v = stringMap(ctx, `${path}.labels`, labels.value, 'label names to values'); if (v) deploy.labels = v }
  const caps = f.get('caps')
  if (caps) { const v = stringList(ctx, `${path}.caps`, caps.value); if (v) deploy.caps = [...new Set(v)].sort() }
  const wd = f.get('working_dir')
  if (wd) { const v = str(ctx, `${path}.working_dir`, wd.value); if (v !== undefined) deploy.workingDir = v }
  const strict = f.get('strict')
  if (strict) { const v = bool(ctx, `${path}.strict`, strict.value); if (v !== undefined) deploy.strict = v }
  const res = f.get('resources')
  if (res) {
    const rp = `${path}.resources`
    if (!isMap(res.value)) ctx.error(rp, res.value, `expected a mapping (cpu, memory_mb), got ${describe(res.value)}`)
    else {
      const rf = fields(ctx, res.value, rp, RESOURCE_FIELDS)
      const cpu = rf.get('cpu')
      if (cpu) { const v = num(ctx, `${rp}.cpu`, cpu.value, { min: 0 }); if (v !== undefined) deploy.resources.cpu = v }
      const mem = rf.get('memory_mb')
      if (mem) { const v = num(ctx, `${rp}.memory_mb`, mem.value, { min: 0 }); if (v !== undefined) deploy.resources.memory_mb = v }
    }
  }
  return deploy
}

// --- executables ----------------------------------------------------------------------------------
function isExecutableFile (p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false
    if (process.platform === 'win32') return true
    accessSync(p, fsConstants.X_OK)
    return true
  } catch { return false }
}

function isFile (p: string): boolean {
  try { return statSync(p).isFile() } catch { return false }
}

function onSearchPath (cmd: string, searchPath: string): boolean {
  for (const dir of searchPath.split(delimiter)) {
    if (dir.length > 0 && isExecutableFile(join(dir, cmd))) return true
  }
  return false
}

function looksLikeFile (p: string): boolean {
  return p.includes('/') || p.includes('\\') || p.startsWith('.')
}

/** True when `rel` resolved against `base` stays inside `base`. */
export function staysInside (base: string, rel: string): boolean {
  const r = relative(base, resolve(base, rel))
  return r !== '' && !r.startsWith('..') && !isAbsolute(r)
}

function classifyPath (ctx: Ctx, path: string, node: AnyNode, p: string, baseDir: string, check: boolean, searchPath: string): { kind: PathKind, runtime: 'node' | 'exec' } | undefined {
  const script = NODE_SCRIPT_EXTENSIONS.includes(extname(p).toLowerCase())
  if (isAbsolute(p)) {
    if (check && !isFile(p)) { ctx.error(path, node, `executable ${p} does not exist on this machine (absolute paths must exist on every peer); fix the path or put the file next to the descriptor`); return undefined }
    return { kind: 'command', runtime: script ? 'node' : 'exec' }
  }
  const asFile = looksLikeFile(p) || script || (check && isFile(resolve(baseDir, p)))
  if (asFile) {
    if (!staysInside(baseDir, p)) {
      ctx.error(path, node, `${p} leaves the descriptor's directory ${baseDir}; swarmflow ships node files relative to it: move the file under it, or use an absolute path present on every peer`)
      return undefined
    }
    if (check) {
      const abs = resolve(baseDir, p)
      if (!isFile(abs)) { ctx.error(path, node, `file ${p} not found (looked for ${abs}); fix \`path\` or create the file`); return undefined }
      if (!script && !isExecutableFile(abs)) { ctx.error(path, node, `file ${p} is not executable; run \`chmod +x ${abs}\` or use a .ts/.js file`); return undefined }
    }
    return { kind: 'file', runtime: script ? 'node' : 'exec' }
  }
  if (check && !onSearchPath(p, searchPath)) {
    ctx.error(path, node, `command ${JSON.stringify(p)} is neither a file in ${baseDir} nor an executable on PATH; fix \`path\` or install it`)
    return undefined
  }
  return { kind: 'command', runtime: 'exec' }
}

// --- nodes ----------------------------------------------------------------------------------------
interface ParsedNode { node: NormalizedNode, idNode: AnyNode, outputsNode: AnyNode }

function parseNode (ctx: Ctx, path: string, yn: AnyNode, globalEnv: Record<string, string>, refs: PendingRef[], opts: Required<Pick<ParseOptions, 'checkFiles' | 'searchPath'>> & { baseDir: string }): ParsedNode | undefined {
  if (!isMap(yn)) { ctx.error(path, yn, `each node must be a mapping with at least \`id\` and \`path\`, got ${describe(yn)}`); return undefined }
  const f = fields(ctx, yn, path, NODE_FIELDS, NODE_IGNORED, NODE_UNSUPPORTED)
  const idf = f.get('id')
  let id: string | undefined
  if (!idf) ctx.error(path, yn, 'node has no `id`')
  else {
    id = str(ctx, `${path}.id`, idf.value, { allowNumbers: true })
    if (id !== undefined && !checkId(ctx, `${path}.id`, idf.value, id, 'node id')) id = undefined
  }
  const node: NormalizedNode = {
    id: id ?? '',
    path: '',
    pathKind: 'file',
    runtime: 'exec',
    args: [],
    env: { ...globalEnv },
    inputs: {},
    outputs: [],
    restartPolicy: DEFAULT_RESTART_POLICY,
    maxRestarts: DEFAULT_MAX_RESTARTS,
    restartDelayMs: 0,
    deploy: { labels: {}, caps: [], resources: {}, strict: false },
    files: [],
  }
  const name = f.get('name')
  if (name) { const v = str(ctx, `${path}.name`, name.value); if (v !== undefined) node.name = v }
  const desc = f.get('description')
  if (desc) { const v = str(ctx, `${path}.description`, desc.value); if (v !== undefined) node.description = v }

  const p = f.get('path')
  if (!p) ctx.error(path, yn, 'node has no `path` (a .ts/.js file, an executable next to the descriptor, or a command on PATH)', idf?.keyNode)
  else {
    const v = str(ctx, `${path}.path`, p.value)
    if (v !== undefined) {
      if (v.trim().length === 0) ctx.error(`${path}.path`, p.value, '`path` must not be empty')
      else {
        node.path = v
        const cls = classifyPath(ctx, `${path}.path`, p.value, v, opts.baseDir, opts.checkFiles, opts.searchPath)
        if (cls) { node.pathKind = cls.kind; node.runtime = cls.runtime }
      }
    }
  }

  const args = f.get('args')
  if (args) {
    const a = args.value
    if (isSeq(a)) { const v = stringList(ctx, `${path}.args`, a); if (v) node.args = v }
    else {
      const v = str(ctx, `${path}.args`, a, { allowNumbers: true })
      if (v !== undefined) {
        const split = splitArgs(v)
        if (split === undefined) ctx.error(`${path}.args`, a, 'unterminated quote in `args`')
        else node.args = split
      }
    }
  }

  const env = f.get('env')
  if (env) { const v = stringMap(ctx, `${path}.env`, env.value, 'variable names to values'); if (v) node.env = { ...globalEnv, ...v } }

  const outs = f.get('outputs')
  const seenOut = new Set<string>()
  if (outs) {
    if (!isSeq(outs.value)) ctx.error(`${path}.outputs`, outs.value, `expected a list of output names, got ${describe(outs.value)}`)
    else {
      outs.value.items.forEach((item, i) => {
        const itemNode = ctx.deref(item as AnyNode)
        const v = str(ctx, `${path}.outputs[${i}]`, itemNode, { allowNumbers: true })
        if (v === undefined || !checkId(ctx, `${path}.outputs[${i}]`, itemNode, v, 'output name')) return
        if (seenOut.has(v)) ctx.error(`${path}.outputs[${i}]`, itemNode, `output ${JSON.stringify(v)} is listed twice`)
        seenOut.add(v)
      })
      node.outputs = [...seenOut].sort()
    }
  }

  const ins = f.get('inputs')
  if (ins) {
    if (!isMap(ins.value)) ctx.error(`${path}.inputs`, ins.value, `expected a mapping of input names to sources, got ${describe(ins.value)}`)
    else {
      for (const pair of ins.value.items) {
        const key = keyOf(pair)
        if (key === undefined) { ctx.error(`${path}.inputs`, pair.key as AnyNode, 'input names must be plain strings', ins.value); continue }
        const ip = `${path}.inputs.${key}`
        if (!checkId(ctx, ip, pair.key as AnyNode, key, 'input name')) continue
        const input = parseInput(ctx, ip, ctx.deref(pair.value as AnyNode), refs)
        if (input) node.inputs[key] = input
      }
    }
  }

  const rp = f.get('restart_policy')
  if (rp) {
    const v = str(ctx, `${path}.restart_policy`, rp.value)
    if (v !== undefined) {
      if ((RESTART_POLICIES as readonly string[]).includes(v)) node.restartPolicy = v as RestartPolicy
      else ctx.error(`${path}.restart_policy`, rp.value, `unknown restart_policy ${JSON.stringify(v)}${didYouMean(v, RESTART_POLICIES)}; allowed: ${RESTART_POLICIES.join(', ')}`)
    }
  }
  const mr = f.get('max_restarts')
  if (mr) { const v = num(ctx, `${path}.max_restarts`, mr.value, { integer: true, min: 0 }); if (v !== undefined) node.maxRestarts = v }
  const rd = f.get('restart_delay')
  if (rd) { const v = duration(ctx, `${path}.restart_delay`, rd.value); if (v !== undefined) node.restartDelayMs = v }
  const mrd = f.get('max_restart_delay')
  if (mrd) { const v = duration(ctx, `${path}.max_restart_delay`, mrd.value); if (v !== undefined) node.maxRestartDelayMs = v }
  const rw = f.get('restart_window')
  if (rw) { const v = duration(ctx, `${path}.restart_window`, rw.value); if (v !== undefined) node.restartWindowMs = v }
  const sso = f.get('send_stdout_as')
  if (sso) {
    const v = str(ctx, `${path}.send_stdout_as`, sso.value)
    if (v !== undefined && checkId(ctx, `${path}.send_stdout_as`, sso.value, v, 'output name')) node.sendStdoutAs = v
  }

  const dep = f.get('deploy')
  const legacy = f.get('_unstable_deploy')
  if (dep && legacy) ctx.error(`${path}._unstable_deploy`, legacy.keyNode, 'give either `deploy` or the older `_unstable_deploy`, not both')
  // Both are parsed so every problem in either is reported; `deploy` wins when both are valid.
  if (legacy) node.deploy = parseDeploy(ctx, `${path}._unstable_deploy`, legacy.value, true)
  if (dep) node.deploy = parseDeploy(ctx, `${path}.deploy`, dep.value, false)

  const files = f.get('files')
  if (files) {
    const v = stringList(ctx, `${path}.files`, files.value)
    if (v) {
      v.forEach((g, i) => {
        if (isAbsolute(g) || g.split(/[\\/]/).includes('..')) {
          ctx.error(`${path}.files[${i}]`, isSeq(files.value) ? files.value.items[i] as AnyNode : files.value, `${JSON.stringify(g)} must be relative to the descriptor's directory and stay inside it`)
        }
      })
      node.files = [...new Set(v)].sort()
    }
  }
  return { node, idNode: idf?.value, outputsNode: outs?.value }
}

/**
 * Parses and validates a dora-rs 1.0 descriptor (plus swarmflow additions) into a normalized
 * `Dataflow`, also returning warnings for accepted-but-ignored dora fields. Throws one
 * `DescriptorError` listing every problem; performs no writes.
 */
export function parseDescriptorDetailed (yamlText: string, options: ParseOptions = {}): ParseResult {
  const file = options.file
  const baseDir = resolve(options.baseDir ?? (file !== undefined ? dirname(resolve(file)) : process.cwd()))
  const checkFiles = options.checkFiles ?? true
  const searchPath = options.searchPath ?? process.env.PATH ?? ''
  if (typeof yamlText !== 'string') throw new DescriptorError([{ path: '', line: 0, col: 0, message: `expected YAML text, got ${typeof yamlText}` }], file)

  const lines = new LineCounter()
  const doc = parseDocument(yamlText, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: false })
  const ctx = new Ctx(doc, lines)
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const { line, col } = lines.linePos(e.pos[0])
      ctx.issues.push({ path: '', line, col, message: `YAML syntax: ${e.message.split('\n')[0]}` })
    }
    throw new DescriptorError(ctx.issues, file)
  }

  const root = ctx.deref(doc.contents as AnyNode)
  if (!isMap(root)) throw new DescriptorError([{ path: '', ...ctx.at(root), message: `a descriptor is a mapping with a \`nodes\` list, got ${describe(root)}` }], file)
  const top = fields(ctx, root, '', TOP_FIELDS, TOP_IGNORED)

  let globalEnv: Record<string, string> = {}
  const env = top.get('env')
  if (env) globalEnv = stringMap(ctx, 'env', env.value, 'variable names to values') ?? {}

  const parsed: ParsedNode[] = []
  const refs: PendingRef[] = []
  const nodesF = top.get('nodes')
  if (!nodesF) ctx.error('nodes', root, 'the descriptor has no `nodes` list')
  else if (!isSeq(nodesF.value)) ctx.error('nodes', nodesF.value, `\`nodes\` must be a list, got ${describe(nodesF.value)}`)
  else {
    if (nodesF.value.items.length === 0) ctx.error('nodes', nodesF.value, '`nodes` is empty: a dataflow needs at least one node')
    nodesF.value.items.forEach((item, i) => {
      const pn = parseNode(ctx, `nodes[${i}]`, ctx.deref(item as AnyNode), globalEnv, refs, { baseDir, checkFiles, searchPath })
      if (pn) parsed.push(pn)
    })
  }

  // Duplicate ids, then references (which need the complete id → outputs table).
  const byId = new Map<string, ParsedNode>()
  parsed.forEach((pn) => {
    const id = pn.node.id
    if (id === '') return
    const first = byId.get(id)
    if (first) {
      const at = ctx.at(first.idNode)
      ctx.error(`nodes[${parsed.indexOf(pn)}].id`, pn.idNode, `duplicate node id ${JSON.stringify(id)} (first defined at line ${at.line}); ids must be unique`)
      return
    }
    byId.set(id, pn)
  })
  const ids = [...byId.keys()]
  for (const ref of refs) {
    const src = byId.get(ref.from)
    if (!src) {
      ctx.error(ref.path, ref.node, `unknown node ${JSON.stringify(ref.from)} in input ${JSON.stringify(`${ref.from}/${ref.output}`)}${didYouMean(ref.from, ids)}`)
      continue
    }
    const outputs = src.node.sendStdoutAs !== undefined ? [...src.node.outputs, src.node.sendStdoutAs] : src.node.outputs
    if (!outputs.includes(ref.output)) {
      const list = outputs.length > 0 ? `its outputs: ${outputs.join(', ')}` : 'it declares no outputs'
      ctx.error(ref.path, ref.node, `node ${JSON.stringify(ref.from)} has no output ${JSON.stringify(ref.output)} (${list})${didYouMean(ref.output, outputs)}`)
    }
  }

  if (ctx.issues.length > 0) {
    ctx.issues.sort((a, b) => a.line - b.line || a.col - b.col)
    throw new DescriptorError(ctx.issues, file)
  }
  const nodes = [...byId.values()].map(pn => pn.node).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return { dataflow: { nodes }, warnings: ctx.warnings }
}

/** Parses and validates a descriptor; see `parseDescriptorDetailed`. */
export function parseDescriptor (yamlText: string, options: ParseOptions = {}): Dataflow {
  return parseDescriptorDetailed(yamlText, options).dataflow
}
