/**
 * Frames of DOC_PROTOCOL. Byte 0 is the kind, the rest is MessagePack:
 *  - HELLO (1): { peerId, session, nonce, meta: { storageId?, isEphemeral? } }, first frame on every channel;
 *  - MESSAGE (2): one automerge-repo message { type, senderId, targetId, documentId?, data? }.
 * Decoding never throws: anything off-shape comes back as `malformed` for the caller to log and count.
 */
import { Packr } from 'msgpackr'

export const DOC_PROTOCOL = '/swarmflow/doc/1.0.0'

const KIND_HELLO = 1
const KIND_MESSAGE = 2

// Plain MessagePack: no record extension (a shared structure table would make frames depend on each other).
const packr = new Packr({ useRecords: false, mapsAsObjects: true })

export interface Hello {
  peerId: string
  /** Random per process start of the sender: a new session on a channel means the peer restarted. */
  session: string
  /** Random per channel: both ends rank duplicate channels by their two nonces and keep the same one. */
  nonce: string
  meta: { storageId?: string, isEphemeral?: boolean }
}

/** The automerge-repo message types this protocol carries; others (ephemeral, remote heads) are dropped. */
export type WireMessageType = 'sync' | 'request' | 'doc-unavailable'

export interface WireMessage {
  type: WireMessageType
  senderId: string
  targetId: string
  documentId: string
  data?: Uint8Array
}

export type DecodedFrame =
  | { kind: 'hello', hello: Hello }
  | { kind: 'message', message: WireMessage }
  | { kind: 'unsupported', type: string }
  | { kind: 'malformed', problem: string }

export function encodeHello (hello: Hello): Uint8Array {
  return withKind(KIND_HELLO, packr.pack(hello))
}

export function encodeMessage (message: WireMessage): Uint8Array {
  const body: Record<string, unknown> = { type: message.type, senderId: message.senderId, targetId: message.targetId, documentId: message.documentId }
  if (message.data !== undefined) body.data = message.data
  return withKind(KIND_MESSAGE, packr.pack(body))
}

function withKind (kind: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.byteLength + 1)
  out[0] = kind
  out.set(body, 1)
  return out
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
const isId = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= 256

export function decodeFrame (frame: Uint8Array): DecodedFrame {
  if (frame.byteLength < 2) return { kind: 'malformed', problem: 'frame shorter than 2 bytes' }
  let body: unknown
  try {
    body = packr.unpack(frame.subarray(1))
  } catch (err) {
    return { kind: 'malformed', problem: `not MessagePack: ${(err as Error).message}` }
  }
  if (!isObj(body)) return { kind: 'malformed', problem: 'body is not a map' }
  switch (frame[0]) {
    case KIND_HELLO: {
      const meta = body.meta
      if (!isId(body.peerId) || !isId(body.session) || !isId(body.nonce) || !isObj(meta)) return { kind: 'malformed', problem: 'hello lacks peerId, session, nonce or meta' }
      if (meta.storageId !== undefined && !isId(meta.storageId)) return { kind: 'malformed', problem: 'hello meta.storageId is not a string' }
      if (meta.isEphemeral !== undefined && typeof meta.isEphemeral !== 'boolean') return { kind: 'malformed', problem: 'hello meta.isEphemeral is not a boolean' }
      const clean: Hello['meta'] = {}
      if (meta.storageId !== undefined) clean.storageId = meta.storageId
      if (meta.isEphemeral !== undefined) clean.isEphemeral = meta.isEphemeral
      return { kind: 'hello', hello: { peerId: body.peerId, session: body.session, nonce: body.nonce, meta: clean } }
    }
    case KIND_MESSAGE: {
      const { type, senderId, targetId, documentId, data } = body
      if (typeof type !== 'string') return { kind: 'malformed', problem: 'message type is not a string' }
      if (type !== 'sync' && type !== 'request' && type !== 'doc-unavailable') return { kind: 'unsupported', type: type.slice(0, 64) }
      if (!isId(senderId) || !isId(targetId) || !isId(documentId)) return { kind: 'malformed', problem: `${type} message lacks senderId, targetId or documentId` }
      if (type === 'doc-unavailable') return { kind: 'message', message: { type, senderId, targetId, documentId } }
      if (!(data instanceof Uint8Array)) return { kind: 'malformed', problem: `${type} message lacks binary data` }
      // msgpackr hands out Buffers that view its input; copy so the sync data owns its bytes.
      return { kind: 'message', message: { type, senderId, targetId, documentId, data: new Uint8Array(data) } }
    }
    default:
      return { kind: 'malformed', problem: `unknown frame kind ${frame[0]}` }
  }
}
