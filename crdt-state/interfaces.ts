/**
 * Contracts of the swarm document. Types only; implementations live beside this file.
 *
 * The document holds intent (roster, revocations, dataflows, placement claims, instance states,
 * file refs) — never telemetry: every write is history that every peer keeps forever.
 */
import type { Logger } from '../common/log.ts'
import type { FramedChannel, PeerIdString } from '../mesh/interfaces.ts'

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

export interface SwarmInfo {
  id: string
  /** The name written by the first peer that changed the document, or this peer's configured name until then. */
  name: string
}

export interface MemberResources {
  cpu?: number
  memory_mb?: number
}

export interface MemberRecord {
  peerId: PeerIdString
  /** ed25519 member public key, hex. */
  publicKey: string
  /** The member certificate issued by the swarm root, base64url. */
  certificate: string
  name: string
  caps: string[]
  labels: Record<string, string>
  resources: MemberResources
  addresses: string[]
  softwareVersion: string
  /** Unix ms. */
  joinedAt: number
  /** Unix ms. */
  updatedAt: number
}

export interface RevocationRecord {
  /** Revoked member public key, hex. */
  publicKey: string
  /** The signed revocation (issued by the swarm root), opaque to this layer; checked by `authz.verifyRevocation`. */
  revocation: string
  reason?: string
  /** Unix ms. */
  revokedAt: number
  /** Peer id of the member that wrote the record. */
  revokedBy: string
  /**
   * Per Automerge actor of the revoked member: the highest change seq accepted. Changes it made
   * before the revocation stay valid (so new peers can still load the history); any later change is
   * rejected. Filled by `addRevocation` from the writer's document when omitted.
   */
  actorSeqCutoff?: Record<string, number>
}

export interface RedemptionRecord {
  inviteId: string
  memberPublicKey: string
  /** Unix ms. */
  at: number
}

export type DataflowState = 'running' | 'stopped'

export interface DataflowRecord {
  name: string
  /** The dataflow spec as JSON; replaced as a whole on every deploy (never merged field by field). */
  spec: JsonValue
  state: DataflowState
  version: number
  deployedBy: string
  /** Unix ms. */
  deployedAt: number
  signature?: string
  /** path → sha256 hex of the files the flow needs (content addressed, see `files`). */
  files?: Record<string, string>
}

/** Placement claim for one node of one flow, keyed "flow/node". */
export interface ClaimRecord {
  peerId: PeerIdString
  epoch: number
  /** Unix ms. */
  at: number
}

export type InstanceState = 'starting' | 'running' | 'restarting' | 'stopped' | 'failed'

/** Written only on state changes by the peer running the instance; keyed "flow/node". */
export interface InstanceRecord {
  peerId: PeerIdString
  state: InstanceState
  restarts: number
  /** Unix ms. */
  startedAt: number
}

/** A content-addressed file reference, keyed by its sha256 hex. The bytes travel outside the document. */
export interface FileRef {
  sha256: string
  size: number
  addedBy: string
  /** Unix ms. */
  addedAt: number
  mediaType?: string
}

/** Top-level sections of the document. */
export type DocSection = 'swarm' | 'members' | 'revocations' | 'redeemed' | 'actors' | 'dataflows' | 'claims' | 'instances' | 'files'

export interface DocChangeEvent {
  /** Sections touched by this change (local or remote). */
  sections: ReadonlySet<DocSection>
  /** Document heads after the change. */
  heads: string[]
}

export type ActorCertVerdict = { ok: true, memberPublicKeyHex: string } | { ok: false, reason: string }
export type RevocationVerdict = { ok: true, memberPublicKeyHex: string } | { ok: false, reason: string }

/**
 * What the document needs from the identity layer (mesh/admission); the integrator builds it.
 * All calls are synchronous and must not throw (a throw is treated as a rejection and logged).
 */
export interface SwarmDocumentAuthz {
  /** Signs a certificate binding this session's Automerge actor id (hex) to our member key. */
  certifyActor(actorId: string): string
  /**
   * Checks an actor certificate found in the document: signed by a member key whose member
   * certificate chains to the pinned swarm root, and binding exactly `actorId`.
   */
  verifyActorCert(cert: string, actorId: string): ActorCertVerdict
  /** True when this member key holds a valid, non-expired certificate of this swarm. */
  isCurrentMember(memberPublicKeyHex: string): boolean
  /**
   * True when this member key is revoked. Should reflect the signed revocations this peer holds
   * (e.g. `doc.isRevoked`): a key revoked here with no revocation record visible has ALL its new
   * changes rejected, history included, since there is no cutoff to tell history from new writes.
   */
  isRevoked(memberPublicKeyHex: string): boolean
  /** Verifies a signed revocation found in the document; records that fail are ignored. Optional: without it every well-formed record counts. */
  verifyRevocation?(revocation: string): RevocationVerdict
}

export interface SwarmDocumentConfig {
  swarmId: string
  swarmName: string
  /** The peer's data dir; the document lives in `<dataDir>/doc/`. */
  dataDir: string
  /** Largest sync frame accepted or sent. Default 8 MiB. Keep it below the FramedChannel's own limit, which closes the channel. */
  maxFrameBytes?: number
  /** Frames queued per peer before that peer is deemed too slow and its channel aborted. Default 1024. */
  sendQueueFrames?: number
  /**
   * A peer that sends unauthorized changes has its channels closed and refused for this long
   * (doubling per strike, up to 64×). Default 5000.
   */
  rejectCooldownMs?: number
  /** Milliseconds between a change and its write to disk (automerge-repo debounce). Default 100. */
  saveDebounceMs?: number
  /**
   * At start the document syncs with the first peer that attaches alone, and with the others once
   * it holds that peer's heads, that peer goes away or stays silent this many milliseconds, or four
   * times this long passed — so a new peer receives the document once instead of once per member.
   * 0 disables. Default 2000.
   */
  initialSyncTimeoutMs?: number
}

export interface SwarmDocumentDeps {
  /** A pino child logger named `{ component: 'crdt-state' }` by the caller. */
  logger: Logger
  /** This peer's libp2p peer id; also its automerge-repo peer id. */
  peerId: PeerIdString
  authz: SwarmDocumentAuthz
}

/** Why an inbound frame or message was dropped. */
export type DropReason =
  | 'oversized'
  | 'malformed'
  | 'before-hello'
  | 'spoofed-sender'
  | 'wrong-target'
  | 'foreign-document'
  | 'unsupported-type'
  | 'unauthorized'

/** Why an outbound message was not sent. */
export type SendDropReason = 'no-route' | 'oversized' | 'overflow'

export interface SwarmDocumentCounters {
  framesIn: number
  framesOut: number
  bytesIn: number
  bytesOut: number
  dropped: Record<DropReason, number>
  sendDropped: Record<SendDropReason, number>
  /** Rejected changes by reason (each rejected sync message counts once, under its first failing change). */
  rejectedChanges: Record<'unknown-actor' | 'revoked' | 'not-member' | 'forged-genesis' | 'malformed', number>
  /** Channels closed because a newer channel to the same peer replaced them. */
  channelsReplaced: number
  /** Channels refused: their peer is cooling down after sending unauthorized changes, or has too many open. */
  channelsRefused: number
}

export interface SwarmDocument {
  readonly documentId: string
  /** This session's Automerge actor id (random per start). Undefined before start. */
  readonly actorId: string | undefined
  start(): Promise<void>
  stop(): Promise<void>
  /** Resolves once the document is loaded (from disk or genesis); rejects if `signal` aborts first. */
  whenReady(options?: { signal?: AbortSignal }): Promise<void>
  onChange(cb: (event: DocChangeEvent) => void): () => void
  /**
   * Resolves once the initial sync of this start is over: the document holds what the first peer it
   * synced with had, that peer went away or silent, the time limit passed (README: "Initial
   * sync"), or the document stopped. Until then the document may lack most of the swarm's records.
   * Pending before any peer attaches; called before start, it waits for the start.
   */
  whenSynced(): Promise<void>

  /** Hands over one authenticated channel on DOC_PROTOCOL; the document owns it from now on (closes it on stop). */
  attachPeer(channel: FramedChannel): void
  /** Closes every channel to this peer (revocation, departure). */
  detachPeer(peerId: PeerIdString): void
  /** Peers with an open, greeted channel. */
  connectedPeers(): PeerIdString[]
  counters(): SwarmDocumentCounters

  getSwarm(): SwarmInfo
  listMembers(): MemberRecord[]
  getMember(peerId: PeerIdString): MemberRecord | undefined
  upsertMember(record: MemberRecord): void

  addRevocation(record: RevocationRecord): void
  listRevocations(): RevocationRecord[]
  /** True when the document holds a (verified) revocation for this member key. */
  isRevoked(publicKeyHex: string): boolean

  recordRedemption(inviteId: string, memberPublicKeyHex: string): void
  getRedemptions(): RedemptionRecord[]

  putDataflow(name: string, record: DataflowRecord): void
  getDataflow(name: string): DataflowRecord | undefined
  listDataflows(): DataflowRecord[]
  removeDataflow(name: string): void

  /** `key` is "flow/node". */
  putClaim(key: string, claim: ClaimRecord): void
  getClaim(key: string): ClaimRecord | undefined
  listClaims(): Record<string, ClaimRecord>
  removeClaim(key: string): void

  /** `key` is "flow/node". Write only on state changes. */
  putInstance(key: string, record: InstanceRecord): void
  getInstance(key: string): InstanceRecord | undefined
  listInstances(): Record<string, InstanceRecord>
  removeInstance(key: string): void

  putFile(ref: FileRef): void
  getFile(sha256: string): FileRef | undefined
  listFiles(): FileRef[]

  /** Document heads (hex change hashes). */
  heads(): string[]
  /** Size of the saved document in bytes (for metrics; costs one save). */
  savedSize(): number
}
