/**
 * The node supervisor: runs this peer's elected node instances as child processes.
 *
 * Process model (why each piece exists):
 * - Each child leads its own process group (`detached`), so a stop or exit reaches the node's own
 *   children too (`kill(-pid)`), and a Ctrl-C on the peer's terminal does not hit nodes directly.
 * - No orphans: on `process.on('exit')` every group gets SIGKILL synchronously; when the peer is
 *   SIGKILLed (no handler runs) the child is still killed by `setpriv --pdeathsig KILL` (Linux), and
 *   independently sees end-of-file on its control pipe (fd 3) and on stdin: Node nodes exit through
 *   the preload's watchdog, stdio-protocol executables must exit on stdin EOF (STDIO.md).
 *   (setpriv arms the signal just before exec: a peer killed within those few ms of a spawn
 *   leaves that one child to the pipe rules.)
 * - Control pipe: fd 3 of every child, JSON lines from us (`{"type":"STOP"}`); see
 *   `peer/node-sdk/interfaces.ts` for the environment contract.
 * - Graceful stop: STOP now, SIGTERM to the group at graceMs/2, SIGKILL at graceMs.
 * - Restarts: exponential backoff from restart_delay (floor minRestartDelayMs) capped at
 *   maxRestartDelayMs; after max_restarts consecutive restarts the instance ends `failed` (or
 *   `stopped` when the last run exited cleanly under `always`).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, existsSync } from 'node:fs'
import { dirname, extname, isAbsolute, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Writable } from 'node:stream'
import type { Logger } from '../../common/log.ts'
import { InstanceRunningError, InstanceSpecError, SupervisorStoppedError } from './errors.ts'
import { NodeLogWriter } from './logs.ts'
import { nodeConfigEnv } from '../node-sdk/index.ts'
import { startStdioBridge, type StdioBridge } from './stdio-bridge.ts'
import type {
  ExitInfo, InstanceInfo, InstanceSpec, InstanceState, StateChange, Supervisor, SupervisorConfig, SupervisorCounters, SupervisorDeps,
} from './interfaces.ts'

const NODE_RUNTIME_EXTS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'])
const HERE = dirname(fileURLToPath(import.meta.url))
const REPO_ROOT = join(HERE, '..', '..')
const PRELOAD_URL = new URL('./child/preload.mjs', import.meta.url).href
const RUN_PATH = join(HERE, 'child', 'run.mjs')
const SETPRIV = '/usr/bin/setpriv'
const STOP_LINE = '{"type":"STOP"}\n'

function defaultNodeBinary (): string {
  const local = join(REPO_ROOT, 'node_modules', '.bin', 'node')
  return existsSync(local) ? local : process.execPath
}

function tsxLoaderUrl (): string {
  return import.meta.resolve('tsx')
}

interface Instance {
  spec: InstanceSpec
  state: InstanceState
  restarts: number
  /** Consecutive restarts (reset by a stable run) — what max_restarts limits. */
  attempts: number
  restartTimes: number[]
  child: ChildProcess | undefined
  pid: number | undefined
  startedAt: number | undefined
  lastExit: ExitInfo | undefined
  nextStartAt: number | undefined
  timer: NodeJS.Timeout | undefined
  stopRequested: boolean
  stopping: Promise<void> | undefined
  /** Resolves when the current child has exited (or immediately when none). */
  exited: Promise<void>
  markExited: () => void
  log: NodeLogWriter
  bridge: StdioBridge | undefined
  generation: number
}

function killGroup (pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return
  try { process.kill(-pid, signal) } catch { /* group already gone */ }
}

function validate (spec: InstanceSpec): void {
  const bad = (p: string): never => { throw new InstanceSpecError(String(spec?.key), p) }
  if (typeof spec.key !== 'string' || spec.key.length === 0) bad('key must be a non-empty string ("<flow>/<node>")')
  for (const [k, v] of [['flow', spec.flow], ['nodeId', spec.nodeId]] as const) {
    if (typeof v !== 'string' || v.length === 0 || /[/\\\0]/.test(v) || v === '.' || v === '..') bad(`${k} ${JSON.stringify(v)} must be a non-empty id without '/', '\\' or '..'`)
  }
  if (typeof spec.path !== 'string' || !isAbsolute(spec.path)) bad(`path ${JSON.stringify(spec.path)} must be absolute`)
  if (!Array.isArray(spec.args) || spec.args.some(a => typeof a !== 'string')) bad('args must be an array of strings')
  if (spec.runtime !== undefined && spec.runtime !== 'node' && spec.runtime !== 'exec') bad(`runtime ${JSON.stringify(spec.runtime)} must be node or exec`)
  if (!['never', 'on-failure', 'always'].includes(spec.restartPolicy)) bad(`restartPolicy ${JSON.stringify(spec.restartPolicy)} must be never, on-failure or always`)
  for (const k of ['maxRestarts', 'restartDelayMs', 'epoch'] as const) {
    if (!Number.isFinite(spec[k]) || spec[k] < 0) bad(`${k} must be a non-negative number`)
  }
}

export function createSupervisor (config: SupervisorConfig, deps: SupervisorDeps): Supervisor {
  const log: Logger = deps.logger
  const nodeBinary = config.nodeBinary ?? defaultNodeBinary()
  const graceMs = config.graceMs ?? 6000
  const logMaxBytes = config.logMaxBytes ?? 5 * 1024 * 1024
  const logFileCount = config.logFiles ?? 3
  const minDelay = config.minRestartDelayMs ?? 100
  const maxDelayDefault = config.maxRestartDelayMs ?? 30_000
  const stableRunMs = config.stableRunMs ?? 10_000
  const pdeathsig = config.pdeathsig ?? (process.platform === 'linux' && existsSync(SETPRIV))
  const instances = new Map<string, Instance>()
  const listeners = new Set<(c: StateChange) => void>()
  let stopped = false
  let stopping: Promise<void> | undefined
  let spawnCount = 0
  const counters: SupervisorCounters = { spawns: 0, spawnFailures: 0, exits: 0, restarts: 0, failed: 0, sigterms: 0, sigkills: 0, stdioBadFrames: 0, stdioSendErrors: 0 }

  // Runs on process.exit(): synchronous, so only kill(2) is possible — which is all we need.
  const onProcessExit = (): void => {
    for (const inst of instances.values()) killGroup(inst.pid, 'SIGKILL')
  }
  process.on('exit', onProcessExit)

  function info (inst: Instance): InstanceInfo {
    const out: InstanceInfo = {
      key: inst.spec.key,
      flow: inst.spec.flow,
      node: inst.spec.nodeId,
      state: inst.state,
      restarts: inst.restarts,
      pid: inst.pid,
      startedAt: inst.startedAt,
      uptimeMs: inst.state === 'running' && inst.startedAt !== undefined ? Date.now() - inst.startedAt : 0,
      lastExit: inst.lastExit,
      epoch: inst.spec.epoch,
    }
    if (inst.state === 'restarting' && inst.nextStartAt !== undefined) out.nextStartAt = inst.nextStartAt
    return out
  }

  function setState (inst: Instance, to: InstanceState): void {
    const from = inst.state
    if (from === to) return
    inst.state = to
    if (to === 'failed') counters.failed++
    const change: StateChange = { key: inst.spec.key, from, to, info: info(inst) }
    log.debug({ key: inst.spec.key, from, to }, 'instance state')
    for (const l of listeners) {
      try { l(change) } catch (err) { log.error({ err, key: inst.spec.key }, 'state listener threw') }
    }
  }

  function childEnv (spec: InstanceSpec, tag: string): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {}
    // The peer's own SWARMFLOW_* settings (control token, data dir…) are not the node's business.
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SWARMFLOW_') && k !== 'NODE_OPTIONS') env[k] = v
    Object.assign(env, spec.env)
    Object.assign(env, nodeConfigEnv({
      swarm: spec.swarmId, flow: spec.flow, nodeId: spec.nodeId, zenoh: spec.zenohEndpoint, epoch: spec.epoch,
      peer: spec.peerId, peerName: spec.peerName, inputs: spec.inputs, outputs: spec.outputs,
    }), { SWARMFLOW_CONTROL_FD: '3', SWARMFLOW_INSTANCE: tag })
    if (spec.env.SWARMFLOW_STDIO !== undefined) env.SWARMFLOW_STDIO = spec.env.SWARMFLOW_STDIO
    // CommonJS nodes (`.cjs`) outside this install find its packages through NODE_PATH.
    env.NODE_PATH = [join(REPO_ROOT, 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(':')
    return env
  }

  function command (spec: InstanceSpec): { file: string, args: string[] } {
    let file = spec.path
    let args = spec.args
    if ((spec.runtime ?? (NODE_RUNTIME_EXTS.has(extname(spec.path)) ? 'node' : 'exec')) === 'node') {
      file = nodeBinary
      // zenoh-ts imports WASM as an ES module, which Node 24 flags as experimental in every node's
      // log on every start; that line tells a node's author nothing they can act on.
      args = ['--disable-warning=ExperimentalWarning', '--import', tsxLoaderUrl(), '--import', PRELOAD_URL, RUN_PATH, spec.path, ...spec.args]
    }
    if (pdeathsig) return { file: SETPRIV, args: ['--pdeathsig', 'KILL', '--', file, ...args] }
    return { file, args }
  }

  function newExitLatch (inst: Instance): void {
    inst.exited = new Promise<void>(resolve => { inst.markExited = resolve })
  }

  function launch (inst: Instance): void {
    const spec = inst.spec
    const gen = ++inst.generation
    inst.timer = undefined
    inst.nextStartAt = undefined
    const tag = `${spec.key}#${++spawnCount}`
    const cmd = command(spec)
    const arrow = spec.env.SWARMFLOW_STDIO === 'arrow'
    newExitLatch(inst)
    setState(inst, 'starting')
    const isNode = cmd.args.includes(RUN_PATH)
    try {
      // Checked here because through setpriv a missing program would only show as exit code 127.
      accessSync(spec.path, isNode ? constants.R_OK : constants.X_OK)
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      onExit(inst, gen, undefined, null, null, `${e.code ?? 'EACCES'}: ${spec.path} is not ${isNode ? 'readable' : 'an executable file'}`)
      return
    }
    let child: ChildProcess
    try {
      child = spawn(cmd.file, cmd.args, {
        cwd: spec.cwd ?? dirname(spec.path),
        env: childEnv(spec, tag),
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      })
    } catch (err) {
      // Synchronous spawn failures (bad cwd type, EACCES on some platforms) follow the same path as async ones.
      onExit(inst, gen, undefined, null, null, (err as Error).message)
      return
    }
    inst.child = child
    inst.pid = child.pid
    counters.spawns++
    inst.startedAt = Date.now()
    // EPIPE on a pipe of a dying child is expected; the exit handler does the bookkeeping.
    for (const s of [child.stdin, child.stdio[3]]) (s as Writable | null)?.on('error', () => {})
    child.stderr?.on('data', (d: Buffer) => inst.log.write('err', d))
    if (arrow) {
      inst.bridge = startStdioBridge(spec, child, { logger: log.child({ key: spec.key }), note: (t) => inst.log.note(t), counters })
    } else {
      child.stdout?.on('data', (d: Buffer) => inst.log.write('out', d))
    }
    child.once('spawn', () => {
      if (inst.generation !== gen) return
      inst.log.note(`[supervisor] started pid ${child.pid} (${tag}, epoch ${spec.epoch})`)
      log.info({ key: spec.key, pid: child.pid, tag }, 'node instance started')
      if (inst.state === 'starting') setState(inst, 'running')
    })
    child.once('error', (err: NodeJS.ErrnoException) => {
      // 'error' without a pid = the program could not be started (ENOENT, EACCES); no 'exit' follows.
      if (child.pid === undefined) onExit(inst, gen, child, null, null, `${err.code ?? ''} ${err.message}`.trim())
      else log.warn({ err, key: spec.key }, 'child process error')
    })
    child.once('exit', (code, signal) => onExit(inst, gen, child, code, signal))
  }

  function onExit (inst: Instance, gen: number, child: ChildProcess | undefined, code: number | null, signal: NodeJS.Signals | null, reason?: string): void {
    if (inst.generation !== gen) return
    inst.generation++ // a late 'error' after 'exit' (or vice versa) must not count twice
    const spec = inst.spec
    const pid = inst.pid
    // Grandchildren left in the node's group go with it (the group id cannot be reused while any remain).
    killGroup(pid, 'SIGKILL')
    inst.log.flush()
    void inst.bridge?.close()
    inst.bridge = undefined
    const now = Date.now()
    const ranMs = inst.startedAt !== undefined ? now - inst.startedAt : 0
    inst.lastExit = { code, signal, at: now }
    if (reason !== undefined) inst.lastExit.reason = reason
    inst.child = undefined
    inst.pid = undefined
    const failure = reason !== undefined || code !== 0
    if (reason !== undefined) counters.spawnFailures++
    else counters.exits++
    inst.log.note(`[supervisor] ${reason !== undefined ? `could not start: ${reason}` : `exited ${signal !== null ? `by signal ${signal}` : `with code ${code}`}`} after ${ranMs} ms`)
    inst.markExited()
    if (child !== undefined) {
      // Our ends of the pipes: nothing more to say to a dead process.
      child.stdin?.destroy()
      ;(child.stdio[3] as Writable | null)?.destroy()
    }
    if (inst.stopRequested || stopped) {
      if (inst.stopRequested && inst.lastExit.reason === undefined) inst.lastExit.reason = 'stopped on request'
      setState(inst, 'stopped')
      return
    }
    const restart = spec.restartPolicy === 'always' || (spec.restartPolicy === 'on-failure' && failure)
    if (!restart) {
      log.info({ key: spec.key, code, signal, reason }, 'node instance ended')
      setState(inst, failure ? 'failed' : 'stopped')
      return
    }
    let attempts: number
    if (spec.restartWindowMs !== undefined && spec.restartWindowMs > 0) {
      inst.restartTimes = inst.restartTimes.filter(t => now - t < (spec.restartWindowMs as number))
      attempts = inst.restartTimes.length + 1
    } else {
      if (ranMs >= stableRunMs) inst.attempts = 0
      attempts = inst.attempts + 1
    }
    if (spec.maxRestarts > 0 && attempts > spec.maxRestarts) {
      inst.log.note(`[supervisor] giving up after ${spec.maxRestarts} restarts`)
      log.warn({ key: spec.key, restarts: inst.restarts, code, signal }, 'node instance gave up restarting')
      setState(inst, failure ? 'failed' : 'stopped')
      return
    }
    inst.attempts = attempts
    inst.restartTimes.push(now)
    const base = spec.restartDelayMs > 0 ? spec.restartDelayMs : minDelay
    const cap = Math.max(base, spec.maxRestartDelayMs ?? maxDelayDefault)
    const delay = Math.min(cap, base * 2 ** (attempts - 1))
    inst.nextStartAt = now + delay
    inst.log.note(`[supervisor] restart ${attempts}${spec.maxRestarts > 0 ? `/${spec.maxRestarts}` : ''} in ${delay} ms`)
    setState(inst, 'restarting')
    inst.timer = setTimeout(() => {
      if (inst.state !== 'restarting' || inst.stopRequested || stopped) return
      inst.restarts++
      counters.restarts++
      launch(inst)
    }, delay)
  }

  async function stopOne (inst: Instance, reason: string): Promise<void> {
    if (inst.stopping !== undefined) return await inst.stopping
    if (inst.state === 'stopped' || inst.state === 'failed') return
    inst.stopRequested = true
    if (inst.timer !== undefined) {
      clearTimeout(inst.timer)
      inst.timer = undefined
    }
    if (inst.state === 'restarting') {
      inst.log.note(`[supervisor] stopped while waiting to restart (${reason})`)
      inst.nextStartAt = undefined
      setState(inst, 'stopped')
      return
    }
    const child = inst.child
    const pid = inst.pid
    inst.stopping = (async () => {
      inst.log.note(`[supervisor] stopping: ${reason}`)
      try { (child?.stdio[3] as Writable | null)?.write(STOP_LINE) } catch { /* pipe gone: signals follow */ }
      inst.bridge?.stop()
      const half = Math.max(1, Math.floor(graceMs / 2))
      const term = setTimeout(() => { counters.sigterms++; inst.log.note('[supervisor] grace half over: SIGTERM'); killGroup(pid, 'SIGTERM') }, half)
      const kill = setTimeout(() => { counters.sigkills++; inst.log.note('[supervisor] grace over: SIGKILL'); killGroup(pid, 'SIGKILL') }, graceMs)
      try {
        await inst.exited
      } finally {
        clearTimeout(term)
        clearTimeout(kill)
        inst.stopping = undefined
      }
    })()
    await inst.stopping
  }

  const supervisor: Supervisor = {
    counters,

    async startInstance (spec: InstanceSpec): Promise<InstanceInfo> {
      if (stopped) throw new SupervisorStoppedError(String(spec?.key))
      validate(spec)
      const existing = instances.get(spec.key)
      if (existing !== undefined && existing.state !== 'stopped' && existing.state !== 'failed') throw new InstanceRunningError(spec.key)
      existing?.log.close()
      const inst: Instance = {
        spec: structuredClone(spec),
        state: 'stopped',
        restarts: 0,
        attempts: 0,
        restartTimes: [],
        child: undefined,
        pid: undefined,
        startedAt: undefined,
        lastExit: undefined,
        nextStartAt: undefined,
        timer: undefined,
        stopRequested: false,
        stopping: undefined,
        exited: Promise.resolve(),
        markExited: () => {},
        log: new NodeLogWriter(config.logDir, spec.flow, spec.nodeId, { maxBytes: logMaxBytes, files: logFileCount }),
        bridge: undefined,
        generation: 0,
      }
      // A restarted key keeps its history visible: `from` of the first change is the old state.
      if (existing !== undefined) inst.state = existing.state
      instances.set(spec.key, inst)
      launch(inst)
      if (inst.child !== undefined && inst.state === 'starting') {
        const child = inst.child
        await new Promise<void>(resolve => {
          const done = (): void => { child.off('spawn', done); child.off('error', done); resolve() }
          child.once('spawn', done)
          child.once('error', done)
        })
      }
      return info(inst)
    },

    async stopInstance (key: string, options: { reason?: string } = {}): Promise<void> {
      const inst = instances.get(key)
      if (inst === undefined) return
      await stopOne(inst, options.reason ?? 'stop requested')
    },

    forget (key: string): boolean {
      const inst = instances.get(key)
      if (inst === undefined || (inst.state !== 'stopped' && inst.state !== 'failed')) return false
      inst.log.close()
      instances.delete(key)
      return true
    },

    list (): InstanceInfo[] {
      return [...instances.values()].map(info)
    },

    get (key: string): InstanceInfo | undefined {
      const inst = instances.get(key)
      return inst === undefined ? undefined : info(inst)
    },

    subscribe (listener: (c: StateChange) => void): () => void {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },

    onState (listener: (i: InstanceInfo) => void): () => void {
      return supervisor.subscribe(c => { listener(c.info) })
    },

    async stop (): Promise<void> {
      if (stopping !== undefined) return await stopping
      stopped = true
      stopping = (async () => {
        await Promise.all([...instances.values()].map(async inst => await stopOne(inst, 'peer shutting down')))
        for (const inst of instances.values()) inst.log.close()
        process.off('exit', onProcessExit)
        log.info({ instances: instances.size }, 'supervisor stopped')
      })()
      await stopping
    },
  }
  return supervisor
}
