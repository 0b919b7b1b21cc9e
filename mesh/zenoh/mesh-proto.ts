/**
 * Router-to-router messages on `/swarmflow/zenoh/1.0.0`. msgpack arrays with a numeric tag first
 * (compact, no field names on the data path). Every inbound frame passes `decodeMeshFrame`, a
 * type guard: anything else is logged, counted and dropped by the caller.
 *
 * Routing model (path vector, per origin): each router announces itself and every origin it can
 * reach with the full path and a snapshot of that origin's declarations (ROUTE); afterwards only
 * deltas (DECL/UNDECL) flow. A router keeps one view per (origin, neighbour) and uses the
 * shortest path whose nodes exclude itself; it tells neighbours on that path UNROUTE (poison
 * reverse), so cycles withdraw cleanly. SYNCED ends the snapshot a neighbour sends on a new
 * channel: views not refreshed by then are stale and dropped.
 */
import { Packr } from 'msgpackr'
import { Uint8ArrayList } from 'uint8arraylist'
import { smallBytes } from '../../common/small-bytes.ts'

export const ZENOH_MESH_PROTOCOL = '/swarmflow/zenoh/1.0.0'

export const T = {
  ROUTE: 1,
  UNROUTE: 2,
  DECL: 3,
  UNDECL: 4,
  PUT: 5,
  QUERY: 6,
  REPLY: 7,
  FINAL: 8,
  SYNCED: 9,
} as const

/** Declaration kinds carried over the mesh. */
export const K = { SUB: 0, QBL: 1, TOKEN: 2 } as const
export type DeclKind = 0 | 1 | 2

/** [id, kind, key, complete] */
export type WireDecl = [number, DeclKind, string, boolean]

export type RouteMsg = [1, string, string[], WireDecl[]]
export type UnrouteMsg = [2, string]
export type DeclMsg = [3, string, number, DeclKind, string, boolean]
export type UndeclMsg = [4, string, number]
/** [5, src, dsts, ttl, key, payload, kind, encId, schema, attachment|null, timestamp|null, qos] */
export type PutMsg = [5, string, string[], number, string, Uint8Array, number, number, string, Uint8Array | null, Uint8Array | null, number]
/** [6, qid, src, dst, ttl, queryableIds, key, params, payload|null, encId (-1 none), schema, attachment|null, replyKeyExpr, qos, timeoutMs] */
export type QueryMsg = [6, number, string, string, number, number[], string, string, Uint8Array | null, number, string, Uint8Array | null, number, number, number]
/**
 * [7, qid, src (the answering router), dst (the querying router), ttl, kind (0 ok, 1 del, 2 err), key,
 *  payload, encId, schema, attachment|null, timestamp|null, qos]
 */
export type ReplyMsg = [7, number, string, string, number, number, string, Uint8Array, number, string, Uint8Array | null, Uint8Array | null, number]
/** [8, qid, src (answering router), dst (querying router), ttl] */
export type FinalMsg = [8, number, string, string, number]
export type SyncedMsg = [9]

export type MeshMsg = RouteMsg | UnrouteMsg | DeclMsg | UndeclMsg | PutMsg | QueryMsg | ReplyMsg | FinalMsg | SyncedMsg

export const MAX_PATH = 64
export const DEFAULT_TTL = 32
const MAX_KEY = 4096
const MAX_DSTS = 4096
const MAX_DECLS = 200_000

// useRecords off: plain arrays; Uint8Array round-trips as bin (Buffer on decode).
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: false })

export function encodeMeshMsg (msg: MeshMsg): Uint8Array {
  return packr.pack(msg)
}

/** Payloads from this size on are not copied into the encoded PUT (see encodeMeshFrame). */
export const ZERO_COPY_FROM = 16 * 1024

/**
 * Encodes a message for a FramedChannel. A PUT is written without msgpackr's general encoder (the
 * data path: a third of the router's encoding time went to packing the same peer ids and key for
 * every sample) but to the very same msgpack bytes as encodeMeshMsg:
 *   head    — fixarray(12), tag, src, dsts, ttl, key: packed once per frozen `dsts` array (the
 *             router's cached routes) and reused while src, ttl and key are the same
 *   payload — bin header + bytes; from ZERO_COPY_FROM on the frame is a list of pieces, so the
 *             payload reaches the link without being copied into a buffer (one 1 MiB copy less per hop)
 *   tail    — kind, encoding id, schema, attachment, timestamp, qos, written directly
 */
export function encodeMeshFrame (msg: MeshMsg): Uint8Array | Uint8ArrayList {
  if (msg[0] !== T.PUT) return packr.pack(msg)
  const [, src, dsts, ttl, key, payload, kind, encId, schema, att, ts, qos] = msg
  const head = putHead(src, dsts, ttl, key)
  const n = payload.byteLength
  const schemaBytes = schema === '' ? 0 : Buffer.byteLength(schema, 'utf8')
  const tailLen = uintSize(kind) + uintSize(encId) + strHeaderSize(schemaBytes) + schemaBytes +
    (att === null ? 1 : binHeaderSize(att.byteLength) + att.byteLength) + (ts === null ? 1 : binHeaderSize(ts.byteLength) + ts.byteLength) + uintSize(qos)
  if (n >= ZERO_COPY_FROM) {
    const bin = new Uint8Array(binHeaderSize(n))
    writeBinHeader(bin, 0, n)
    const tail = new Uint8Array(tailLen)
    writeTail(tail, 0, kind, encId, schema, schemaBytes, att, ts, qos)
    return new Uint8ArrayList(head, bin, payload, tail)
  }
  const out = smallBytes(head.byteLength + binHeaderSize(n) + n + tailLen)
  out.set(head, 0)
  let pos = writeBinHeader(out, head.byteLength, n)
  out.set(payload, pos)
  pos += n
  writeTail(out, pos, kind, encId, schema, schemaBytes, att, ts, qos)
  return out
}

interface PutHead { src: string, ttl: number, key: string, bytes: Uint8Array }
/** Packed heads by destination list; only frozen lists are kept (their identity stands for their contents). */
const putHeads = new WeakMap<readonly string[], PutHead>()

function putHead (src: string, dsts: string[], ttl: number, key: string): Uint8Array {
  const frozen = Object.isFrozen(dsts)
  if (frozen) {
    const h = putHeads.get(dsts)
    if (h !== undefined && h.src === src && h.ttl === ttl && h.key === key) return h.bytes
  }
  // pack() returns a view of a reused buffer: copy it out
  const bytes = packr.pack([T.PUT, src, dsts, ttl, key]).slice()
  bytes[0] = 0x90 | 12 // fixarray of the 12 PUT fields (was: of these 5)
  if (frozen) putHeads.set(dsts, { src, ttl, key, bytes })
  return bytes
}

// msgpack in its shortest form, as msgpackr writes it
const uintSize = (v: number): number => v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : 5
const strHeaderSize = (n: number): number => n < 0x20 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5
const binHeaderSize = (n: number): number => n < 0x100 ? 2 : n < 0x10000 ? 3 : 5

function writeUint (out: Uint8Array, pos: number, v: number): number {
  if (v < 0x80) { out[pos] = v; return pos + 1 }
  if (v < 0x100) { out[pos] = 0xcc; out[pos + 1] = v; return pos + 2 }
  if (v < 0x10000) { out[pos] = 0xcd; out[pos + 1] = v >> 8; out[pos + 2] = v & 0xff; return pos + 3 }
  out[pos] = 0xce; out[pos + 1] = v >>> 24; out[pos + 2] = (v >>> 16) & 0xff; out[pos + 3] = (v >>> 8) & 0xff; out[pos + 4] = v & 0xff
  return pos + 5
}

function writeLen (out: Uint8Array, pos: number, n: number, c8: number, c16: number, c32: number): number {
  if (n < 0x100) { out[pos] = c8; out[pos + 1] = n; return pos + 2 }
  if (n < 0x10000) { out[pos] = c16; out[pos + 1] = n >> 8; out[pos + 2] = n & 0xff; return pos + 3 }
  out[pos] = c32; out[pos + 1] = n >>> 24; out[pos + 2] = (n >>> 16) & 0xff; out[pos + 3] = (n >>> 8) & 0xff; out[pos + 4] = n & 0xff
  return pos + 5
}

const writeBinHeader = (out: Uint8Array, pos: number, n: number): number => writeLen(out, pos, n, 0xc4, 0xc5, 0xc6)

function writeBin (out: Uint8Array, pos: number, b: Uint8Array | null): number {
  if (b === null) { out[pos] = 0xc0; return pos + 1 }
  pos = writeBinHeader(out, pos, b.byteLength)
  out.set(b, pos)
  return pos + b.byteLength
}

const utf8 = new TextEncoder()

function writeTail (out: Uint8Array, pos: number, kind: number, encId: number, schema: string, schemaBytes: number,
  att: Uint8Array | null, ts: Uint8Array | null, qos: number): void {
  pos = writeUint(out, pos, kind)
  pos = writeUint(out, pos, encId)
  if (schemaBytes < 0x20) { out[pos] = 0xa0 | schemaBytes; pos++ } else pos = writeLen(out, pos, schemaBytes, 0xd9, 0xda, 0xdb)
  if (schemaBytes > 0) pos += utf8.encodeInto(schema, out.subarray(pos, pos + schemaBytes)).written
  pos = writeBin(out, pos, att)
  pos = writeBin(out, pos, ts)
  writeUint(out, pos, qos)
}

const isStr = (v: unknown, max = MAX_KEY): v is string => typeof v === 'string' && v.length > 0 && v.length <= max
const isU32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff
const isByte = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array
const isOptBytes = (v: unknown): v is Uint8Array | null => v === null || v instanceof Uint8Array
const isKind = (v: unknown): v is DeclKind => v === 0 || v === 1 || v === 2
const isStrArr = (v: unknown, max: number): v is string[] => Array.isArray(v) && v.length <= max && v.every(x => isStr(x, 256))
const isSchema = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_KEY
const isTs = (v: unknown): v is Uint8Array | null => v === null || (v instanceof Uint8Array && v.byteLength === 25)

function isWireDecl (v: unknown): v is WireDecl {
  return Array.isArray(v) && v.length === 4 && isU32(v[0]) && isKind(v[1]) && isStr(v[2]) && typeof v[3] === 'boolean'
}

/** Decodes and type-checks one mesh frame; undefined when it is not a valid message. */
export function decodeMeshFrame (frame: Uint8Array): MeshMsg | undefined {
  let m: unknown
  try {
    m = packr.unpack(frame)
  } catch {
    return undefined
  }
  if (!Array.isArray(m) || m.length === 0) return undefined
  switch (m[0]) {
    case T.ROUTE:
      return m.length === 4 && isStr(m[1], 256) && isStrArr(m[2], MAX_PATH) && m[2].length > 0 &&
        Array.isArray(m[3]) && m[3].length <= MAX_DECLS && m[3].every(isWireDecl)
        ? m as RouteMsg
        : undefined
    case T.UNROUTE:
      return m.length === 2 && isStr(m[1], 256) ? m as UnrouteMsg : undefined
    case T.DECL:
      return m.length === 6 && isStr(m[1], 256) && isU32(m[2]) && isKind(m[3]) && isStr(m[4]) && typeof m[5] === 'boolean' ? m as DeclMsg : undefined
    case T.UNDECL:
      return m.length === 3 && isStr(m[1], 256) && isU32(m[2]) ? m as UndeclMsg : undefined
    case T.PUT:
      return m.length === 12 && isStr(m[1], 256) && isStrArr(m[2], MAX_DSTS) && isByte(m[3]) && isStr(m[4]) && isBytes(m[5]) &&
        (m[6] === 0 || m[6] === 1) && isU32(m[7]) && m[7] <= 0xffff && isSchema(m[8]) && isOptBytes(m[9]) && isTs(m[10]) && isByte(m[11])
        ? m as PutMsg
        : undefined
    case T.QUERY:
      return m.length === 15 && isU32(m[1]) && isStr(m[2], 256) && isStr(m[3], 256) && isByte(m[4]) &&
        Array.isArray(m[5]) && m[5].length <= MAX_DSTS && m[5].every(isU32) && isStr(m[6]) && typeof m[7] === 'string' && m[7].length <= 65536 &&
        isOptBytes(m[8]) && typeof m[9] === 'number' && Number.isInteger(m[9]) && m[9] >= -1 && m[9] <= 0xffff && isSchema(m[10]) &&
        isOptBytes(m[11]) && (m[12] === 0 || m[12] === 1) && isByte(m[13]) && isU32(m[14])
        ? m as QueryMsg
        : undefined
    case T.REPLY:
      return m.length === 13 && isU32(m[1]) && isStr(m[2], 256) && isStr(m[3], 256) && isByte(m[4]) && (m[5] === 0 || m[5] === 1 || m[5] === 2) &&
        typeof m[6] === 'string' && m[6].length <= MAX_KEY && isBytes(m[7]) && isU32(m[8]) && m[8] <= 0xffff && isSchema(m[9]) &&
        isOptBytes(m[10]) && isTs(m[11]) && isByte(m[12])
        ? m as ReplyMsg
        : undefined
    case T.FINAL:
      return m.length === 5 && isU32(m[1]) && isStr(m[2], 256) && isStr(m[3], 256) && isByte(m[4]) ? m as FinalMsg : undefined
    case T.SYNCED:
      return m.length === 1 ? m as SyncedMsg : undefined
    default:
      return undefined
  }
}
