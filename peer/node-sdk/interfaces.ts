/**
 * Contracts of the node SDK (`import { Node } from 'swarmflow/node'`). Types only; the
 * implementation lives in `node.ts`.
 *
 * The supervisor starts a node process with the environment below; the SDK reads it.
 *
 * | variable | value |
 * |---|---|
 * | `SWARMFLOW_SWARM` | swarm id (first chunk of every key after `swarmflow/`) |
 * | `SWARMFLOW_FLOW` | dataflow id |
 * | `SWARMFLOW_NODE_ID` | node id within the flow |
 * | `SWARMFLOW_ZENOH` | `ws://host:port` of the peer's Zenoh endpoint (zenoh-ts remote-api) |
 * | `SWARMFLOW_EPOCH` | this instance's placement epoch (integer); travels with every sample |
 * | `SWARMFLOW_PEER` | libp2p peer id of the peer running this instance |
 * | `SWARMFLOW_PEER_NAME` | that peer's human name |
 * | `SWARMFLOW_NODE_CONFIG` | JSON `NodeIoConfig`: inputs (source, queue size/policy, timeout) and outputs |
 * | `SWARMFLOW_CONTROL_FD` | file descriptor of the control pipe (`3`): JSON lines from the supervisor (`{"type":"STOP"}`); its end-of-file means the peer is gone |
 * | `SWARMFLOW_INSTANCE` | `<flow>/<node>#<n>`: this process's instance tag (logs, diagnostics) |
 * | `SWARMFLOW_STDIO` | `arrow` for executables speaking the stdin/stdout protocol of STDIO.md |
 */
import type { Vector, Table } from 'apache-arrow'

// The input contract is the descriptor's own (peer/dataflow), keyed by input id on the wire.
import type { NormalizedInput, QueuePolicy, InputSource } from '../dataflow/index.ts'
export type { QueuePolicy, InputSource }

/** One input as the supervisor hands it to the node (`SWARMFLOW_NODE_CONFIG`). */
export interface NodeInputConfig extends NormalizedInput {
  id: string
}

/** What `SWARMFLOW_NODE_CONFIG` holds. */
export interface NodeIoConfig {
  inputs: NodeInputConfig[]
  outputs: string[]
}

/** Everything a node needs to join the data plane; read from the environment by `Node.init()`. */
export interface NodeRuntimeConfig extends NodeIoConfig {
  swarm: string
  flow: string
  nodeId: string
  zenoh: string
  epoch: number
  peer: string
  peerName?: string
}

/** Hybrid logical clock reading: wall milliseconds plus a counter that orders events within one ms. */
export interface HlcTimestamp {
  wallMs: number
  logical: number
}

export type ParameterValue = string | number | boolean | null | ParameterValue[] | { [k: string]: ParameterValue }
export type Parameters = Record<string, ParameterValue>

export interface Metadata {
  timestamp: HlcTimestamp
  /** Per output, per producing process; starts at 1. */
  seq: number
  /** Producer peer id. */
  peer: string
  /** Producer placement epoch; consumers drop samples from an epoch lower than one already seen. */
  epoch: number
  parameters: Parameters
}

export type NodeEvent =
  | {
    type: 'INPUT'
    id: string
    value: Vector
    metadata: Metadata
    /** The received Arrow IPC stream bytes; only with `Node.init({ keepRaw: true })` (bridges). */
    raw?: Uint8Array
  }
  | { type: 'INPUT_CLOSED', id: string }
  | { type: 'STOP' }

/** What `node.send()` accepts. Non-table data becomes a one-column table named `DATA_COLUMN`. */
export type SendData = Vector | Table | ArrayBufferView | ArrayBuffer | number[]

export interface NodeInitOptions {
  signal?: AbortSignal
  /** Environment to read instead of `process.env` (in-process bridges, tests). */
  env?: Record<string, string | undefined>
  /** Session open timeout, ms. Default 5000. */
  openTimeoutMs?: number
  /** Keep each INPUT's received bytes in `event.raw` (for bridges that forward them unchanged). */
  keepRaw?: boolean
}

export interface NodeCounters {
  received: number
  sent: number
  /** Samples dropped by a drop_oldest input queue. */
  queueDrops: number
  /** Samples dropped because an input was in backpressure and its pull buffer overflowed. */
  backpressureDrops: number
  /** Samples whose producer epoch was lower than one already seen from that source. */
  staleDrops: number
  /** Samples that failed the type guard (bad attachment, not Arrow IPC, wrong encoding). */
  malformed: number
  timerTicks: number
  /** Timer ticks skipped because the input queue was full under backpressure. */
  timerSkips: number
  /** Messages of 16 KiB or more written to the peer from their pieces, without joining them (zero-copy.ts). */
  sentInPieces: number
  /** Received payloads of 16 KiB or more handed over as views of the WebSocket message, without a copy. */
  receivedShared: number
}
