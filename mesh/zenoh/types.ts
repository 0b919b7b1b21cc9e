/** Internal shapes shared by the router core and its client sessions (not exported from index.ts). */
import type { KeyExpr } from '@eclipse-zenoh/zenoh-ts'
import type { Encoding } from './wire.ts'

/** A sample as routed: every field passes through unchanged. */
export interface Sample {
  key: string
  payload: Uint8Array
  /** 0 PUT, 1 DELETE */
  kind: number
  enc: Encoding
  att: Uint8Array | undefined
  /** raw timestamp bytes (NTP64 + zid), see wire.ts */
  ts: Uint8Array | undefined
  qos: number
}

/** A reply as routed. kind 0 = ok sample, 1 = delete sample, 2 = error (payload + encoding only). */
export interface ReplyData {
  kind: 0 | 1 | 2
  key: string
  payload: Uint8Array
  enc: Encoding
  att: Uint8Array | undefined
  ts: Uint8Array | undefined
  qos: number
}

export interface QueryData {
  key: string
  params: string
  payload: Uint8Array | undefined
  enc: Encoding | undefined
  att: Uint8Array | undefined
  replyKeyExpr: number
}

/** Where the replies of one delivered query go (a local get, or a relay back over the mesh). */
export interface QuerySink {
  reply(r: ReplyData): void
  /** Called exactly once per delivered query. */
  final(): void
}

export interface SessionRef {
  readonly num: number
}

export interface LocalSub { session: SessionRef, id: number, key: string, ke: KeyExpr, origin: number, declId: number }
export interface LocalQbl { session: SessionRef, id: number, key: string, ke: KeyExpr, complete: boolean, origin: number, declId: number }
export interface LocalToken { session: SessionRef, id: number, key: string, declId: number }
export interface LocalLivSub { session: SessionRef, id: number, key: string, ke: KeyExpr }
export interface LocalPublisher { session: SessionRef, id: number, key: string, ke: KeyExpr, enc: Encoding, qos: number }
export interface LocalQuerier { session: SessionRef, id: number, key: string, ke: KeyExpr, qos: number, settings: number, timeoutMs: number }
export interface MatchListener { session: SessionRef, id: number, target: { kind: 'pub', pub: LocalPublisher } | { kind: 'querier', querier: LocalQuerier }, last: boolean }
