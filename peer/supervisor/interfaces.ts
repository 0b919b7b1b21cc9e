/**
 * Contracts of the node supervisor: the part of a peer that runs its elected node instances as
 * child processes. Types only; the implementation lives in `supervisor.ts`, logs in `logs.ts`.
 */
import type { Logger } from '../../common/log.ts'
import type { NodeInputConfig } from '../node-sdk/interfaces.ts'

export type RestartPolicy = 'never' | 'on-failure' | 'always'

/**
 * - starting: spawned, not yet confirmed by the OS
 * - running: the process exists
 * - restarting: exited, waiting out its backoff before the next start
 * - failed: exited with a failure and will not be restarted (policy, or max_restarts reached)
 * - stopped: asked to stop, or exited cleanly with no restart due
 */
export type InstanceState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopped'

export interface InstanceSpec {
  /** `<flow>/<node>`; one instance per key on a peer. */
  key: string
  flow: string
  nodeId: string
  /** Absolute path of the executable or script. */
  path: string
  /**
   * `node`: run `path` on Node 24 with tsx (and our module resolution); `exec`: execute it directly.
   * Default: `node` for `.ts/.mts/.cts/.js/.mjs/.cjs`, else `exec`.
   */
  runtime?: 'node' | 'exec'
  args: string[]
  /** The descriptor's env (already merged); wins over the peer's environment, never over SWARMFLOW_* keys we set. */
  env: Record<string, string>
  /** Working directory. Default: the directory of `path`. */
  cwd?: string
  restartPolicy: RestartPolicy
  /** Restarts allowed in a row (or within `restartWindowMs`) before the instance ends `failed`; 0 = unlimited. */
  maxRestarts: number
  /** First backoff; doubles each consecutive restart up to `maxRestartDelayMs`. 0 = the supervisor's minimum. */
  restartDelayMs: number
  maxRestartDelayMs?: number
  /** When set, restarts are counted within this sliding window instead of "in a row". */
  restartWindowMs?: number
  epoch: number
  inputs: NodeInputConfig[]
  outputs: string[]
  /** ws:// url of the peer's Zenoh endpoint. */
  zenohEndpoint: string
  swarmId: string
  peerId: string
  peerName: string
}

export interface ExitInfo {
  code: number | null
  signal: string | null
  /** Epoch ms. */
  at: number
  /** Set when the process never started (spawn error) or was stopped on request. */
  reason?: string
}

export interface InstanceInfo {
  key: string
  flow: string
  node: string
  state: InstanceState
  /** Restarts since `startInstance` (all of them, not only the consecutive ones). */
  restarts: number
  pid: number | undefined
  /** Epoch ms of the current (or last) process start. */
  startedAt: number | undefined
  /** How long the current process has been up; 0 unless running. */
  uptimeMs: number
  lastExit: ExitInfo | undefined
  epoch: number
  /** When state is restarting: epoch ms of the next start. */
  nextStartAt?: number
}

export interface StateChange {
  key: string
  from: InstanceState | undefined
  to: InstanceState
  info: InstanceInfo
}

export interface SupervisorConfig {
  /** Node logs go to `<logDir>/<flow>/<node>.log` (+ `.1`, `.2`… after rotation). */
  logDir: string
  /** Node 24 binary for script nodes. Default: this process's `process.execPath`. */
  nodeBinary?: string
  /** Graceful stop budget: STOP at once, SIGTERM at graceMs/2, SIGKILL at graceMs. Default 6000. */
  graceMs?: number
  /** Rotate a node's log when it would exceed this size. Default 5 MiB. */
  logMaxBytes?: number
  /** Files kept per node, current included. Default 3. */
  logFiles?: number
  /** Backoff floor when a spec says restart_delay 0 (a crash loop must never spin). Default 100. */
  minRestartDelayMs?: number
  /** Backoff ceiling when a spec gives none. Default 30000. */
  maxRestartDelayMs?: number
  /** A run lasting at least this long resets the consecutive-restart count. Default 10000. */
  stableRunMs?: number
  /**
   * Prefix children with `setpriv --pdeathsig KILL` (Linux, util-linux) so a SIGKILLed peer takes
   * its children with it. Default: on when /usr/bin/setpriv exists.
   */
  pdeathsig?: boolean
}

export interface SupervisorCounters {
  /** Processes started (first starts and restarts). */
  spawns: number
  /** Processes that could not be started at all (missing program, not executable). */
  spawnFailures: number
  exits: number
  restarts: number
  /** Instances that ended `failed`. */
  failed: number
  /** Graceful stops that needed SIGTERM / SIGKILL. */
  sigterms: number
  sigkills: number
  /** stdio-protocol frames from children that were dropped (bad header, type, output or body). */
  stdioBadFrames: number
  /** stdio-protocol outputs the data plane refused. */
  stdioSendErrors: number
}

export interface SupervisorDeps {
  logger: Logger
}

export interface Supervisor {
  /**
   * Starts (or restarts after stopped/failed) the instance for `spec.key`. Resolves once the
   * process is spawned or its spawn failed (then the restart policy applies). Throws
   * InstanceRunningError when that key is already active, SupervisorStoppedError after stop().
   */
  startInstance(spec: InstanceSpec): Promise<InstanceInfo>
  /**
   * STOP through the control pipe, SIGTERM after graceMs/2, SIGKILL after graceMs; resolves once
   * the process (and its process group) is gone. Idempotent; unknown keys resolve at once.
   */
  stopInstance(key: string, options?: { reason?: string }): Promise<void>
  /** Drops a stopped/failed instance from `list()`. Returns false for unknown or active keys. */
  forget(key: string): boolean
  list(): InstanceInfo[]
  readonly counters: Readonly<SupervisorCounters>
  get(key: string): InstanceInfo | undefined
  /** Called on every state change, synchronously, in order. Returns the unsubscribe function. */
  subscribe(listener: (change: StateChange) => void): () => void
  /** Same as subscribe, with only the new InstanceInfo (what a status publisher needs). */
  onState(listener: (info: InstanceInfo) => void): () => void
  /** Stops every instance (graceful), then refuses new ones. Idempotent. */
  stop(): Promise<void>
}

export type LogStream = 'out' | 'err' | 'sup'

export interface LogEntry {
  /** ISO-8601 UTC, as stored. */
  ts: string
  stream: LogStream
  text: string
}

export interface ReadLogsOptions {
  /** Last N lines only. */
  tail?: number
  /** Keep the stored timestamp prefix. Default false. */
  timestamps?: boolean
}

export interface FollowLogsOptions {
  timestamps?: boolean
  /** Lines already in the files to emit first (like `tail -n`). Default 0. */
  tail?: number
  signal?: AbortSignal
  /** How often the file is checked for growth/rotation. Default 200 ms. */
  pollMs?: number
}
