import { SwarmflowError } from '../../common/errors.ts'

/** The environment does not describe a node (missing or malformed SWARMFLOW_* variables). */
export class NodeConfigError extends SwarmflowError {
  constructor (problem: string, options?: ErrorOptions) {
    super(`this process is not a swarmflow node: ${problem}; nodes are started by a peer (see peer/node-sdk/interfaces.ts for the environment), or pass Node.init({ env })`, options)
  }
}

/** The peer's Zenoh endpoint did not accept a session. */
export class DataPlaneConnectError extends SwarmflowError {
  constructor (url: string, options?: ErrorOptions) {
    super(`node could not open a zenoh session on ${url}; check that the peer is running and its data plane endpoint is reachable`, options)
  }
}

/** send() to an output the descriptor does not declare. */
export class UnknownOutputError extends SwarmflowError {
  constructor (outputId: string, outputs: readonly string[]) {
    super(`send() to output ${JSON.stringify(outputId)}, which this node does not declare (outputs: ${outputs.length > 0 ? outputs.join(', ') : 'none'}); add it to the node's outputs in the descriptor`)
  }
}

/** send() with data it cannot turn into an Arrow table. */
export class UnsupportedDataError extends SwarmflowError {
  constructor (outputId: string, what: string) {
    super(`send() to output ${JSON.stringify(outputId)} got ${what}; pass an apache-arrow Vector or Table, a typed array, a number[] or bytes`)
  }
}

/** send() with parameters that are not plain JSON-like values. */
export class InvalidParametersError extends SwarmflowError {
  constructor (outputId: string) {
    super(`send() to output ${JSON.stringify(outputId)} got parameters that are not a plain object of strings, finite numbers, booleans, null, arrays or plain objects`)
  }
}

/** sendIpc() with bytes that are not an Arrow IPC stream. */
export class InvalidIpcError extends SwarmflowError {
  constructor (outputId: string, options?: ErrorOptions) {
    super(`data for output ${JSON.stringify(outputId)} is not an Arrow IPC stream (schema message then record batches); encode it with an Arrow library's stream writer`, options)
  }
}

/** send() after close(). */
export class NodeClosedError extends SwarmflowError {
  constructor (what: string) {
    super(`${what} after the node was closed; send outputs before leaving the event loop (leaving it closes the node)`)
  }
}

/** A stdio-protocol stream (STDIO.md) broke framing: a length beyond the limits. It cannot resync. */
export class StdioFrameError extends SwarmflowError {
  constructor (problem: string) {
    super(`stdio node protocol violation: ${problem}; each frame is u32le header length, JSON header, u32le body length, body (see peer/node-sdk/STDIO.md)`)
  }
}
