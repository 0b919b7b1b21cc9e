/**
 * What travels on the data plane: the payload is one Arrow IPC stream, the metadata a msgpack map
 * in the sample's attachment. Both sides of that contract live here.
 *
 * Attachment (msgpack map, version 1):
 *   { v: 1, t: [wallMs, logical], s: seq, p: producerPeer, e: epoch, u: parameters }
 */
import { Packr } from 'msgpackr'
import { Table, Vector, makeVector, tableFromIPC, tableToIPC, vectorFromArray, Null, type Data, type Struct } from 'apache-arrow'
import { UnsupportedDataError } from './errors.ts'
import type { Metadata, ParameterValue, Parameters, SendData } from './interfaces.ts'
import { decodeColumn, encodeColumn, fastColumn } from './ipc-fast.ts'

/** Column name given to data sent as a Vector, typed array, number array or bytes. */
export const DATA_COLUMN = 'data'

// Plain maps (not Map), no records extension: any msgpack implementation reads it.
const packr = new Packr({ useRecords: false, mapsAsObjects: true })

export function encodeMetadata (m: Metadata): Uint8Array {
  return packr.pack({ v: 1, t: [m.timestamp.wallMs, m.timestamp.logical], s: m.seq, p: m.peer, e: m.epoch, u: m.parameters })
}

function isParameterValue (v: unknown, depth = 0): v is ParameterValue {
  if (depth > 16) return false
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true
  if (typeof v === 'number') return Number.isFinite(v)
  if (Array.isArray(v)) return v.every(x => isParameterValue(x, depth + 1))
  if (typeof v === 'object') return Object.getPrototypeOf(v) === Object.prototype && Object.values(v).every(x => isParameterValue(x, depth + 1))
  return false
}

const isUint = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0

/** Type guard for a received attachment; undefined when it is not ours or malformed. */
export function decodeMetadata (bytes: Uint8Array | undefined): Metadata | undefined {
  if (bytes === undefined || bytes.length === 0 || bytes.length > 1 << 20) return undefined
  let o: unknown
  try { o = packr.unpack(bytes) } catch { return undefined }
  if (o === null || typeof o !== 'object') return undefined
  const r = o as Record<string, unknown>
  if (r.v !== 1 || !Array.isArray(r.t) || r.t.length !== 2 || !isUint(r.t[0]) || !isUint(r.t[1])) return undefined
  if (!isUint(r.s) || typeof r.p !== 'string' || r.p.length === 0 || !isUint(r.e)) return undefined
  const u = r.u ?? {}
  if (u === null || typeof u !== 'object' || Array.isArray(u) || !isParameterValue(u)) return undefined
  return { timestamp: { wallMs: r.t[0], logical: r.t[1] }, seq: r.s, peer: r.p, epoch: r.e, parameters: u as Parameters }
}

export function validParameters (p: unknown): p is Parameters {
  return p !== null && typeof p === 'object' && !Array.isArray(p) && isParameterValue(p)
}

/** Turns anything `send()` accepts into a Table. */
export function toTable (outputId: string, data: SendData): Table {
  if (data instanceof Table) return data
  let vector: Vector
  if (data instanceof Vector) vector = data
  else if (Array.isArray(data)) {
    if (!data.every(x => typeof x === 'number')) throw new UnsupportedDataError(outputId, 'an array with non-number items')
    vector = makeVector(Float64Array.from(data))
  } else if (data instanceof ArrayBuffer) vector = makeVector(new Uint8Array(data))
  else if (data instanceof DataView) vector = makeVector(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
  else if (ArrayBuffer.isView(data)) {
    // Buffer is a Uint8Array subclass; Arrow wants the base class to pick the Uint8 type.
    const ta = Buffer.isBuffer(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data
    vector = makeVector(ta as Uint8Array) // any TypedArray/BigIntArray; the cast only picks an overload
  } else throw new UnsupportedDataError(outputId, data === null ? 'null' : typeof data)
  return new Table({ [DATA_COLUMN]: vector })
}

export function encodeTable (table: Table): Uint8Array {
  return tableToIPC(table, 'stream')
}

/**
 * The Arrow IPC stream `send()` puts on the wire for `data`: the same stream as
 * `encodeTable(toTable(outputId, data))`, written directly when it is one column of numbers
 * without nulls (ipc-fast.ts), into `scratch` when given (see encodeColumn).
 */
export function encodeData (outputId: string, data: SendData, scratch?: { buf: Uint8Array }): Uint8Array {
  const col = fastColumn(Array.isArray(data) && data.every(x => typeof x === 'number') ? Float64Array.from(data)
    : data instanceof ArrayBuffer ? new Uint8Array(data)
      : data instanceof DataView ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
        : data)
  if (col !== undefined) return encodeColumn(DATA_COLUMN, col, scratch)
  return encodeTable(toTable(outputId, data))
}

/** The event value of a received Arrow IPC stream (see tableValue); throws when it is not one. */
export function decodeValue (bytes: Uint8Array): Vector {
  return decodeColumn(bytes) ?? tableValue(decodeIpc(bytes))
}

/** Decodes one Arrow IPC stream; throws on anything that is not one (callers guard). */
export function decodeIpc (bytes: Uint8Array): Table {
  return tableFromIPC(bytes)
}

/**
 * The event `value` of a received table: its only column when it has one (what non-table
 * sends produce), else all columns as one Struct vector (field names kept).
 */
export function tableValue (table: Table): Vector {
  if (table.numCols === 1) return table.getChildAt(0) as Vector
  return makeVector(table.data as Array<Data<Struct>>) as unknown as Vector
}

/** Value of a timer tick (dora sends an empty array). */
export function emptyValue (): Vector {
  return vectorFromArray([], new Null())
}
