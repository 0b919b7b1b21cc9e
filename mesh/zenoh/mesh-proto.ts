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
 * Encodes a message for a FramedChannel. A PUT with a large payload becomes the same msgpack bytes
 * as encodeMeshMsg, but in pieces — head, bin header, the payload itself, tail — so the payload
 * reaches the link without being copied into a msgpack buffer (one 1 MiB copy less per hop).
 */
export function encodeMeshFrame (msg: MeshMsg): Uint8Array | Uint8ArrayList {
  if (msg[0] !== T.PUT || msg[5].byteLength < ZERO_COPY_FROM) return packr.pack(msg)
  const [tag, src, dsts, ttl, key, payload, kind, encId, schema, att, ts, qos] = msg
  // pack() returns a view of a reused buffer: copy each piece before the next pack()
  const head = packr.pack([tag, src, dsts, ttl, key]).slice()
  head[0] = 0x90 | 12 // fixarray of the 12 PUT fields (was: of these 5)
  const tail = packr.pack([kind, encId, schema, att, ts, qos]).subarray(1).slice() // without its fixarray byte
  const n = payload.byteLength
  const bin = n < 0x100 ? Uint8Array.of(0xc4, n) : n < 0x10000 ? Uint8Array.of(0xc5, n >> 8, n & 0xff) : Uint8Array.of(0xc6, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)
  return new Uint8ArrayList(head, bin, payload, tail)
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
