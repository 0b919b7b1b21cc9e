/**
 * Contracts of the Zenoh data plane. Types only; implementations live beside this file.
 */
import type { Logger } from '../../common/log.ts'
import type { FramedChannel, PeerIdString } from '../interfaces.ts'

export interface ZenohRouterConfig {
  /**
   * Where zenoh-ts clients connect: "host:port", ":port", a port number or "ws://host:port".
   * Default 127.0.0.1:7447. Port 0 lets the OS choose (read `url` after start). A non-loopback
   * host logs a warning: remote-api sessions carry no credentials.
   */
  listen?: string | number
  /** Largest WebSocket frame accepted from a client; larger ones close that session. Default 16 MiB. */
  maxFrameBytes?: number
  /** Per-session outbound queue: frames waiting while the socket buffer is full. Default 4096. */
  sessionQueueFrames?: number
  /** Per-session outbound queue byte budget. Default 32 MiB. */
  sessionQueueBytes?: number
  /** Socket buffer level above which frames wait in the session queue. Default 4 MiB. */
  socketHighWaterBytes?: number
  /** Per-neighbour outbound queue (mesh frames). Default 8192. */
  neighbourQueueFrames?: number
  /** Largest mesh frame; must not exceed the FramedChannel's maximum. Default 8 MiB. */
  maxMeshFrameBytes?: number
  /** Declarations of each kind one session may hold. Default 10000. */
  maxDeclarationsPerSession?: number
  /** Queries in flight per session (as querier and as queryable). Default 1000. */
  maxPendingQueriesPerSession?: number
  /** Add a timestamp to samples and replies that carry none, as a zenohd router does. Default true. */
  timestamping?: boolean
  /** Largest query timeout honoured, in ms. Default 600000. */
  maxQueryTimeoutMs?: number
}

export interface ZenohRouterDeps {
  logger: Logger
  /** This peer's libp2p id; the router's identity on the mesh. */
  peerId: PeerIdString
  /** 16-byte Zenoh id of this router (timestamps, session info). Default: derived from peerId. */
  zenohId?: Uint8Array
}

export interface ZenohRouterCounters {
  sessionsOpened: number
  sessionsClosed: number
  framesIn: number
  framesOut: number
  bytesIn: number
  bytesOut: number
  /** Frames that did not decode (truncated, bad values, unknown id). */
  malformedFrames: number
  textFrames: number
  oversizedFrames: number
  /** Requests answered with ResponseError (unknown ids, duplicates, bad key expressions…). */
  errorResponses: number
  /** Samples/replies dropped because a session's outbound queue was full (policy drop-newest). */
  sessionQueueDrops: number
  /** Sessions closed because they did not read their control responses. */
  slowSessionsClosed: number
  meshFramesIn: number
  meshFramesOut: number
  /** Mesh frames that failed the type guard. */
  meshBadFrames: number
  /** Data frames dropped because a neighbour's queue was full (policy drop-newest). */
  meshQueueDrops: number
  /** Mesh messages that could not be routed (no route to their destination, ttl exhausted). */
  meshUnroutable: number
  putsLocal: number
  putsFromMesh: number
  samplesDelivered: number
  /** Large samples written to a WebSocket client from their pieces, without joining the payload in. */
  samplesInPieces: number
  queriesStarted: number
  queriesTimedOut: number
  repliesRejected: number
}

export interface ZenohRouterStatus {
  url: string | undefined
  peerId: string
  zenohId: string
  sessions: number
  neighbours: string[]
  /** Remote routers with a route, and their next hop and distance. */
  routes: Array<{ peer: string, via: string, hops: number, declarations: number }>
  localDeclarations: { subscribers: number, queryables: number, tokens: number, livelinessSubscribers: number, publishers: number, queriers: number }
  counters: ZenohRouterCounters
}

export interface ZenohRouter {
  /** Binds the WebSocket endpoint. Idempotent; a failed start leaves nothing open. */
  start(): Promise<void>
  /** Closes every session, the endpoint and every neighbour channel. Idempotent. */
  stop(): Promise<void>
  /** ws://host:port actually bound (after start), else undefined. */
  readonly url: string | undefined
  readonly peerId: PeerIdString
  /** Hex Zenoh id (as zenoh-ts prints it). */
  readonly zenohId: string
  readonly counters: Readonly<ZenohRouterCounters>
  status(): ZenohRouterStatus
  /**
   * Routes through this neighbour from now on. A second channel from the same peer replaces the
   * first (the old one is closed). The channel's close withdraws the neighbour like detachNeighbour.
   */
  attachNeighbour(channel: FramedChannel): void
  /** Drops the neighbour and everything learned only through it; recomputes routes. Idempotent. */
  detachNeighbour(peerId: PeerIdString): void
  /**
   * Resolves once a route to `peerId` exists (its declarations known), e.g. for tests and
   * readiness checks. Rejects on abort.
   */
  whenRouteTo(peerId: PeerIdString, options?: { signal?: AbortSignal }): Promise<void>
  /**
   * Opens a remote-api session for a client in this process (an in-process bridge, a benchmark):
   * the same session code as a WebSocket client, without the socket. Frames are zenoh-ts
   * remote-api messages both ways. Ends with `close()` or the router's stop.
   */
  connectLocal(client: LocalClient): LocalClientSession
}

/** The client half of an in-process session. */
export interface LocalClient {
  /** One message from the router. Call `done` once it is consumed: until then it counts against the session's queue (backpressure). */
  receive(frame: Uint8Array, done: () => void): void
  /** The router ended the session (stop, slow consumer). */
  closed?(): void
}

export interface LocalClientSession {
  /** One message to the router (as a WebSocket binary frame would carry it). */
  send(frame: Uint8Array): void
  close(): void
}

export interface BackboneConfig {
  /** ws://HOST:PORT of a zenohd remote-api endpoint (or another peer's endpoint). */
  url: string
  /** Key expression bridged both ways, e.g. "swarmflow/<swarm>/**". */
  prefix: string
  /** Session open timeout in ms. Default 5000. */
  openTimeoutMs?: number
}

export interface BackboneDeps {
  /** The local router; the bridge opens a zenoh-ts session on its endpoint. */
  router: Pick<ZenohRouter, 'url'>
  logger: Logger
}

export interface BackboneCounters {
  toBackbone: number
  fromBackbone: number
  /** Samples not forwarded because the bridge itself had forwarded them the other way. */
  loopsSuppressed: number
  errors: number
}

export interface Backbone {
  start(): Promise<void>
  stop(): Promise<void>
  readonly counters: Readonly<BackboneCounters>
}
