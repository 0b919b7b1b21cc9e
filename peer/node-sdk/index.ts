/**
 * The node SDK: `import { Node } from 'swarmflow/node'`. See node.ts for usage, interfaces.ts for
 * the environment contract, STDIO.md for nodes written without this SDK.
 */
export { Node, dataKey } from './node.ts'
export { DATA_COLUMN, encodeMetadata, decodeMetadata, toTable, encodeTable, encodeData, decodeIpc, decodeValue, tableValue } from './codec.ts'
export { readNodeConfig, nodeConfigEnv, parseIoConfig } from './config.ts'
export { HybridLogicalClock, compareHlc } from './hlc.ts'
export { encodeFrame, FrameDecoder, MAX_FRAME_BYTES, type StdioFrame, type StdioHeader } from './stdio.ts'
export {
  NodeConfigError, DataPlaneConnectError, UnknownOutputError, UnsupportedDataError, InvalidParametersError,
  InvalidIpcError, NodeClosedError, StdioFrameError,
} from './errors.ts'
export type {
  NodeEvent, Metadata, HlcTimestamp, Parameters, ParameterValue, SendData, NodeInitOptions, NodeCounters,
  NodeRuntimeConfig, NodeIoConfig, NodeInputConfig, InputSource, QueuePolicy,
} from './interfaces.ts'
