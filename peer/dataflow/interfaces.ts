/**
 * Contracts of the dataflow descriptor. Types only; the parser lives in `descriptor.ts`.
 *
 * A descriptor is a dora-rs 1.0 YAML file (`nodes[]` with `id`, `path`, `inputs`, `outputs`, …)
 * plus a few swarmflow additions under `deploy` and `files` (see README.md). `parseDescriptor`
 * turns it into a normalized `Dataflow`: every short form expanded, every default filled, so two
 * peers comparing definitions compare plain data.
 *
 * Every normalized object is JSON- and Automerge-safe: optional fields are omitted, never
 * `undefined` (Automerge refuses `undefined` values).
 */

/** dora: default `queue_size` of an input (`DEFAULT_QUEUE_SIZE` in dora-rs `libraries/message/src/config.rs`). */
export const DEFAULT_QUEUE_SIZE = 10
/** dora: default `queue_policy` (`QueuePolicy::DropOldest`). */
export const DEFAULT_QUEUE_POLICY: QueuePolicy = 'drop_oldest'
/** dora: default `restart_policy` (`RestartPolicy::Never`). */
export const DEFAULT_RESTART_POLICY: RestartPolicy = 'never'
/** dora: default `max_restarts`; 0 means unlimited. */
export const DEFAULT_MAX_RESTARTS = 0

export type QueuePolicy = 'drop_oldest' | 'backpressure'
export type RestartPolicy = 'never' | 'on-failure' | 'always'

/** Where an input's messages come from. Timers fire every `intervalMs` (fractional for `hz`). */
export type InputSource =
  | { kind: 'node', node: string, output: string }
  | { kind: 'timer', intervalMs: number }

export interface NormalizedInput {
  source: InputSource
  queueSize: number
  queuePolicy: QueuePolicy
  /** dora `input_timeout`: the input counts as stalled after this long without a message. */
  inputTimeoutMs?: number
}

/**
 * How `path` is run:
 * - `file`: a file relative to the descriptor's directory; shipped with the dataflow. `.ts`,
 *   `.mts`, `.js`, `.mjs`, `.cjs` files run on the peer's Node 24 (tsx for TypeScript); any other
 *   file must be executable.
 * - `command`: a bare command looked up on each peer's PATH, or an absolute path that must exist
 *   on every peer. Never shipped.
 */
export type PathKind = 'file' | 'command'

export interface NodeResources {
  /** CPU cores (fractional allowed). */
  cpu?: number
  /** Memory in MiB. */
  memory_mb?: number
}

export interface NormalizedDeploy {
  /** dora: pins the node to the peer with this name. */
  machine?: string
  /** dora: every label must be among the peer's labels with the same value. */
  labels: Record<string, string>
  /** swarmflow: capabilities the peer must advertise (e.g. `gpu`, `camera`). */
  caps: string[]
  /** swarmflow: what the node consumes; placement never oversubscribes a peer's declared resources. */
  resources: NodeResources
  /** swarmflow: a singleton that runs only where a majority of the roster is visible. */
  strict: boolean
  /** dora `working_dir`, relative to the node's materialized directory. */
  workingDir?: string
}

export interface NormalizedNode {
  id: string
  name?: string
  description?: string
  path: string
  pathKind: PathKind
  /** Whether the peer runs `path` with its own Node 24 (`.ts`/`.js`/… files). */
  runtime: 'node' | 'exec'
  args: string[]
  /** Global `env` merged under the node's own `env`; values stringified. */
  env: Record<string, string>
  /** Keyed by input id. */
  inputs: Record<string, NormalizedInput>
  /** Sorted, unique. */
  outputs: string[]
  restartPolicy: RestartPolicy
  /** 0 = unlimited (dora). */
  maxRestarts: number
  /** Initial delay before a restart; doubles each attempt (dora). 0 when unset. */
  restartDelayMs: number
  maxRestartDelayMs?: number
  restartWindowMs?: number
  sendStdoutAs?: string
  deploy: NormalizedDeploy
  /** swarmflow: extra files to ship (paths or globs relative to the descriptor's directory). */
  files: string[]
  /**
   * Filled by the deployer after shipping files (relative path → sha256 hex). Part of
   * `nodeDefinitionHash`, so a redeploy with an edited script restarts that node.
   */
  fileDigests?: Record<string, string>
}

export interface Dataflow {
  /** Sorted by id. */
  nodes: NormalizedNode[]
}

export interface DescriptorIssue {
  /** Where in the document, e.g. `nodes[2].inputs.image`. */
  path: string
  /** 1-based; 0 when unknown. */
  line: number
  /** 1-based; 0 when unknown. */
  col: number
  message: string
}

export interface ParseOptions {
  /** Shown in messages (`file:line:col`). */
  file?: string
  /** Directory relative `path`s resolve against. Default: the directory of `file`, else the cwd. */
  baseDir?: string
  /** Check that node executables exist (default true). Pass false for documents received from the network. */
  checkFiles?: boolean
  /** PATH used to find bare commands. Default `process.env.PATH`. */
  searchPath?: string
}

export interface ParseResult {
  dataflow: Dataflow
  /** Accepted dora fields swarmflow ignores (each named once), for the CLI to print. */
  warnings: DescriptorIssue[]
}

export interface DataflowDiff {
  added: string[]
  removed: string[]
  changed: string[]
  unchanged: string[]
}

export interface LocalFile {
  node: string
  /** Relative to the descriptor's directory, `/`-separated; the key in `DataflowRecord.files`. */
  relPath: string
  absPath: string
  /** `entry` for the node's `path`, `extra` for matches of `files`. */
  role: 'entry' | 'extra'
}
