/**
 * The common payload — one column of fixed-width numbers (bytes, an image, a float array) with no
 * nulls — written and read without building an Arrow Table each time.
 *
 * apache-arrow's `tableToIPC` / `tableFromIPC` rebuild the schema, a Table and every flatbuffer for
 * each message: 39 µs to send 64 B and 35 µs to receive them here, half of a node's CPU in the
 * 64 B throughput bench. This module produces and accepts the very same Arrow IPC stream format
 * (https://arrow.apache.org/docs/format/Columnar.html#encapsulated-message-format):
 *
 *   schema message      — written by apache-arrow once per type and kept (encode); on receipt, its
 *                         bytes are looked up in a cache of schemas apache-arrow decoded (decode)
 *   record batch message — a fixed flatbuffer layout (below) with four int64 fields filled in
 *   body                — the values, padded to 8 bytes
 *   end of stream       — 0xFFFFFFFF 0x00000000
 *
 * Anything else — other types, nulls, several columns or batches, compression, any field this
 * reader does not expect — returns undefined and the caller uses apache-arrow. The reader checks
 * every offset against the message before using it: a malformed stream never throws from here and
 * is never accepted when apache-arrow would not understand it the same way (ipc-fast.test.ts
 * compares both on every type and on mutated streams).
 */
import { smallBytes } from '../../common/small-bytes.ts'
import { DataType, Field, Schema, Table, Type, Vector, makeData, makeVector, tableFromIPC, tableToIPC, Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64, Float32, Float64, type Int, type Float } from 'apache-arrow'

type Prim = Int | Float
type NumArray = Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array | Float32Array | Float64Array

const CONTINUATION = 0xFFFFFFFF
const EOS = new Uint8Array([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])
const pad8 = (n: number): number => (n + 7) & ~7

// ---- record batch message: one fixed layout ----------------------------------------------------
//
// Flatbuffer (little endian), positions relative to its start (8-aligned in the stream):
//   0  u32 → Message table (24)
//   8  Message vtable: size 12, table size 20, fields version@16, header_type@18, header@4, bodyLength@8
//   24 Message table: soffset 16 | u32 → RecordBatch (64) | i64 bodyLength | i16 version=V5 | u8 type=RecordBatch
//   48 RecordBatch vtable: size 10, table size 20, fields length@8, nodes@4, buffers@16
//   64 RecordBatch table: soffset 16 | u32 → nodes (92) | i64 length | u32 → buffers (116)
//   92 nodes: count 1, FieldNode { length, null_count } at 96
//  116 buffers: count 2, Buffer { offset, length } × 2 at 120 (validity, values)
//  152 end
const META_LEN = 152
const RB_HEADER_LEN = 8 + META_LEN
const AT_BODY_LENGTH = 8 + 32
const AT_LENGTH = 8 + 72
const AT_NODE_LENGTH = 8 + 96
const AT_VALUES_LENGTH = 8 + 144
const RB_TEMPLATE = ((): Uint8Array => {
  const b = new Uint8Array(RB_HEADER_LEN)
  const v = new DataView(b.buffer)
  v.setUint32(0, CONTINUATION, true)
  v.setInt32(4, META_LEN, true)
  const fb = new DataView(b.buffer, 8)
  fb.setUint32(0, 24, true)
  // Message vtable
  fb.setUint16(8, 12, true); fb.setUint16(10, 20, true)
  fb.setUint16(12, 16, true); fb.setUint16(14, 18, true); fb.setUint16(16, 4, true); fb.setUint16(18, 8, true)
  // Message table
  fb.setInt32(24, 24 - 8, true)
  fb.setUint32(28, 64 - 28, true)
  fb.setInt16(40, 4, true) // MetadataVersion.V5
  fb.setUint8(42, 3) // MessageHeader.RecordBatch
  // RecordBatch vtable
  fb.setUint16(48, 10, true); fb.setUint16(50, 20, true)
  fb.setUint16(52, 8, true); fb.setUint16(54, 4, true); fb.setUint16(56, 16, true)
  // RecordBatch table
  fb.setInt32(64, 64 - 48, true)
  fb.setUint32(68, 92 - 68, true)
  fb.setUint32(80, 116 - 80, true)
  fb.setUint32(92, 1, true)
  fb.setUint32(116, 2, true)
  return b
})()

// ---- types -------------------------------------------------------------------------------------

const ARRAY_TYPES = new Map<unknown, () => Prim>([
  [Int8Array, () => new Int8()], [Int16Array, () => new Int16()], [Int32Array, () => new Int32()], [BigInt64Array, () => new Int64()],
  [Uint8Array, () => new Uint8()], [Uint16Array, () => new Uint16()], [Uint32Array, () => new Uint32()], [BigUint64Array, () => new Uint64()],
  [Float32Array, () => new Float32()], [Float64Array, () => new Float64()],
])

const isPrim = (t: DataType): t is Prim => t.typeId === Type.Int || t.typeId === Type.Float

/** Schema message bytes (continuation, length, flatbuffer) for one column, written by apache-arrow. */
const schemaMessages = new Map<string, Uint8Array>()

function schemaMessage (column: string, type: Prim, nullable: boolean): Uint8Array {
  const key = `${column}\u0000${String(type)}\u0000${nullable ? 1 : 0}`
  let m = schemaMessages.get(key)
  if (m === undefined) {
    const ipc = tableToIPC(new Table(new Schema([new Field(column, type, nullable)])), 'stream')
    const dv = new DataView(ipc.buffer, ipc.byteOffset, ipc.byteLength)
    m = ipc.slice(0, 8 + dv.getInt32(4, true))
    if (schemaMessages.size >= 64) schemaMessages.clear()
    schemaMessages.set(key, m)
  }
  return m
}

// ---- encode ------------------------------------------------------------------------------------

/** The numbers to send when `data` has the fast shape: a typed array, or a one-chunk Int/Float vector without nulls. */
export interface FastColumn { type: Prim, values: NumArray, nullable: boolean }

export function fastColumn (data: unknown): FastColumn | undefined {
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    const make = ARRAY_TYPES.get(data.constructor) ?? (Buffer.isBuffer(data) ? ARRAY_TYPES.get(Uint8Array) : undefined)
    if (make === undefined) return undefined
    const values = Buffer.isBuffer(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data as NumArray
    // the field's nullable flag as apache-arrow sets it for makeVector(values)
    return { type: make(), values, nullable: values.length === 0 }
  }
  if (data instanceof Vector) {
    if (data.data.length !== 1 || !isPrim(data.type)) return undefined
    const d = data.data[0]!
    if (d.offset !== 0 || d.nullCount !== 0 || d.type.typeId !== data.type.typeId) return undefined
    const values = d.values as NumArray
    const n = d.length // Int and Float: one array element per value (apache-arrow's strideForType)
    if (!ARRAY_TYPES.has(values.constructor) || values.length < n) return undefined
    return { type: data.type, values: values.length === n ? values : values.subarray(0, n) as NumArray, nullable: data.nullable }
  }
  return undefined
}

/** A non-negative integer (a length, < 2^53) as little-endian int64. */
function setI64 (dv: DataView, at: number, v: number): void {
  dv.setUint32(at, v % 0x100000000, true)
  dv.setUint32(at + 4, Math.floor(v / 0x100000000), true)
}

/** Largest stream written into a caller's scratch buffer; larger ones get their own. */
const MAX_SCRATCH_BYTES = 16 * 1024 * 1024

/**
 * One Arrow IPC stream of a table with one column `column` holding `values` (no nulls).
 * With `scratch`, the stream is written into `scratch.buf` (grown when too small) and the result
 * is a view of it, valid until the next call with the same scratch: for a caller that hands the
 * bytes on and is done with them before it encodes again.
 */
export function encodeColumn (column: string, { type, values, nullable }: FastColumn, scratch?: { buf: Uint8Array }): Uint8Array {
  const schema = schemaMessage(column, type, nullable)
  const bytes = values.byteLength
  const length = values.length
  const body = pad8(bytes)
  const size = schema.byteLength + RB_HEADER_LEN + body + EOS.byteLength
  let out: Uint8Array
  if (scratch !== undefined && size <= MAX_SCRATCH_BYTES) {
    if (scratch.buf.byteLength < size) scratch.buf = new Uint8Array(size)
    out = scratch.buf.subarray(0, size)
  } else {
    // small streams from slabs (a fresh Uint8Array above 64 bytes costs 1–4 µs in V8; small-bytes.ts)
    out = smallBytes(size)
  }
  out.set(schema, 0)
  const at = schema.byteLength
  out.set(RB_TEMPLATE, at)
  const dv = new DataView(out.buffer, out.byteOffset + at, RB_HEADER_LEN)
  setI64(dv, AT_BODY_LENGTH, body)
  setI64(dv, AT_LENGTH, length)
  setI64(dv, AT_NODE_LENGTH, length)
  setI64(dv, AT_VALUES_LENGTH, bytes)
  out.set(new Uint8Array(values.buffer, values.byteOffset, bytes), at + RB_HEADER_LEN)
  // the body's padding: zeros, as in a fresh buffer (a reused one holds the previous stream there)
  out.fill(0, at + RB_HEADER_LEN + bytes, at + RB_HEADER_LEN + body)
  out.set(EOS, at + RB_HEADER_LEN + body)
  return out
}

// ---- decode ------------------------------------------------------------------------------------

/**
 * Decoded schemas by their message bytes: the one field's type, or null when not the fast shape.
 * Compared byte by byte, newest first (a node sees one or two schemas): no key string per message.
 */
const schemaTypes: Array<{ bytes: Uint8Array, type: Prim | null }> = []
const MAX_SCHEMA_BYTES = 4096

function sameBytes (a: Uint8Array, b: Uint8Array, bStart: number, bEnd: number): boolean {
  if (a.byteLength !== bEnd - bStart) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[bStart + i]) return false
  return true
}

function schemaType (bytes: Uint8Array, start: number, end: number): Prim | null {
  for (let i = 0; i < schemaTypes.length; i++) {
    const s = schemaTypes[i]!
    if (!sameBytes(s.bytes, bytes, start, end)) continue
    if (i > 0) { schemaTypes.splice(i, 1); schemaTypes.unshift(s) }
    return s.type
  }
  let t: Prim | null = null
  try {
    const stream = new Uint8Array(end - start + EOS.byteLength)
    stream.set(bytes.subarray(start, end), 0)
    stream.set(EOS, end - start)
    const fields = tableFromIPC(stream).schema.fields
    const f = fields[0]
    if (fields.length === 1 && f !== undefined && isPrim(f.type) && ARRAY_TYPES.has(f.type.ArrayType)) t = f.type
  } catch {}
  if (schemaTypes.length >= 16) schemaTypes.pop()
  schemaTypes.unshift({ bytes: bytes.slice(start, end), type: t })
  return t
}

/** Bounds-checked little-endian reads over one flatbuffer; any read outside throws OutOfRange. */
class Fb {
  private readonly dv: DataView
  constructor (bytes: Uint8Array, private readonly start: number, private readonly end: number) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  private at (pos: number, size: number): number {
    if (!Number.isInteger(pos) || pos < this.start || pos + size > this.end) throw OUT_OF_RANGE
    return pos
  }

  u8 (pos: number): number { return this.dv.getUint8(this.at(pos, 1)) }
  u16 (pos: number): number { return this.dv.getUint16(this.at(pos, 2), true) }
  i16 (pos: number): number { return this.dv.getInt16(this.at(pos, 2), true) }
  u32 (pos: number): number { return this.dv.getUint32(this.at(pos, 4), true) }
  i32 (pos: number): number { return this.dv.getInt32(this.at(pos, 4), true) }
  /** A non-negative int64 up to Number.MAX_SAFE_INTEGER (as two u32: no BigInt per read). */
  i64 (pos: number): number {
    const at = this.at(pos, 8)
    const hi = this.dv.getUint32(at + 4, true)
    if (hi > 0x1fffff) throw OUT_OF_RANGE // negative, or above 2^53 - 1
    return hi * 0x100000000 + this.dv.getUint32(at, true)
  }

  /** Position of a table's field `i`, or undefined when absent (its default applies). */
  field (table: number, i: number): number | undefined {
    const vt = table - this.i32(table)
    const vtSize = this.u16(vt)
    if (vtSize < 4 || vtSize % 2 !== 0) throw OUT_OF_RANGE
    if (4 + 2 * i >= vtSize) return undefined
    const off = this.u16(vt + 4 + 2 * i)
    return off === 0 ? undefined : table + off
  }

  /** Number of fields a table's vtable declares. */
  fieldCount (table: number): number { return (this.u16(table - this.i32(table)) - 4) / 2 }

  ref (pos: number): number { return pos + this.u32(pos) }
}

const OUT_OF_RANGE = new Error('out of range')

/**
 * The column of an Arrow IPC stream of the fast shape, as a Vector viewing `bytes` (copied only
 * when the values are misaligned for their type); undefined for any other stream.
 */
export function decodeColumn (bytes: Uint8Array): Vector | undefined {
  try {
    return decode(bytes)
  } catch {
    return undefined
  }
}

function decode (bytes: Uint8Array): Vector | undefined {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.byteLength < 16 || dv.getUint32(0, true) !== CONTINUATION) return undefined
  const schemaLen = dv.getInt32(4, true)
  if (schemaLen <= 0 || schemaLen > MAX_SCHEMA_BYTES || 8 + schemaLen + 8 > bytes.byteLength) return undefined
  const type = schemaType(bytes, 0, 8 + schemaLen)
  if (type === null) return undefined

  // record batch message
  const m = 8 + schemaLen
  if (dv.getUint32(m, true) !== CONTINUATION) return undefined
  const metaLen = dv.getInt32(m + 4, true)
  const fbStart = m + 8
  const bodyStart = fbStart + metaLen
  if (metaLen <= 0 || bodyStart > bytes.byteLength) return undefined
  const fb = new Fb(bytes, fbStart, bodyStart)
  const msg = fb.ref(fbStart)
  if (fb.fieldCount(msg) > 5) return undefined
  const version = fb.field(msg, 0)
  if (version === undefined || fb.i16(version) !== 4) return undefined // V5 only
  const headerType = fb.field(msg, 1)
  if (headerType === undefined || fb.u8(headerType) !== 3) return undefined // RecordBatch
  const headerAt = fb.field(msg, 2)
  if (headerAt === undefined) return undefined
  const bl = fb.field(msg, 3)
  const bodyLength = bl === undefined ? 0 : fb.i64(bl)
  if (bodyStart + bodyLength > bytes.byteLength) return undefined

  const rb = fb.ref(headerAt)
  if (fb.fieldCount(rb) > 3 && fb.field(rb, 3) !== undefined) return undefined // compression
  if (fb.fieldCount(rb) > 4 && fb.field(rb, 4) !== undefined) return undefined // variadic buffers
  const lf = fb.field(rb, 0)
  const length = lf === undefined ? 0 : fb.i64(lf)
  const nf = fb.field(rb, 1)
  const bf = fb.field(rb, 2)
  if (nf === undefined || bf === undefined) return undefined
  const nodes = fb.ref(nf)
  if (fb.u32(nodes) !== 1 || fb.i64(nodes + 4) !== length || fb.i64(nodes + 12) !== 0) return undefined // one column, no nulls
  const buffers = fb.ref(bf)
  if (fb.u32(buffers) !== 2) return undefined
  const validity = { offset: fb.i64(buffers + 4), length: fb.i64(buffers + 12) }
  const valuesAt = fb.i64(buffers + 20)
  const valuesLen = fb.i64(buffers + 28)
  if (validity.offset + validity.length > bodyLength || valuesAt + valuesLen > bodyLength) return undefined

  // nothing but the end of the stream may follow (another batch: apache-arrow reads the whole stream)
  const rest = bodyStart + bodyLength
  if (rest !== bytes.byteLength) {
    if (rest + 4 > bytes.byteLength) return undefined
    const next = dv.getUint32(rest, true)
    const eos = next === 0 || (next === CONTINUATION && rest + 8 <= bytes.byteLength && dv.getUint32(rest + 4, true) === 0)
    if (!eos) return undefined
  }

  const ArrayType = type.ArrayType as unknown as { new (buf: ArrayBufferLike, off: number, n: number): NumArray, new (n: number): NumArray, BYTES_PER_ELEMENT: number }
  const count = length
  const need = count * ArrayType.BYTES_PER_ELEMENT
  if (need > valuesLen) return undefined
  const abs = bytes.byteOffset + bodyStart + valuesAt
  let values: NumArray
  if (abs % ArrayType.BYTES_PER_ELEMENT === 0) values = new ArrayType(bytes.buffer, abs, count)
  else {
    values = new ArrayType(count)
    new Uint8Array(values.buffer).set(bytes.subarray(bodyStart + valuesAt, bodyStart + valuesAt + need))
  }
  return makeVector(makeData({ type, length, nullCount: 0, data: values } as never)) as Vector
}
