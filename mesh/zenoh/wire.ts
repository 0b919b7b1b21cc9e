/**
 * Byte layout of the zenoh-ts 1.10 remote-api protocol (server side). Mirrors the encoders and
 * decoders of node_modules/@eclipse-zenoh/zenoh-ts/dist/message.js: one binary WebSocket frame is
 * one message, first byte = message id (bit 0x80: a u32 LE sequence id follows and the client
 * expects a reply carrying it), ULEB128 lengths, little-endian integers, Option = bool + value.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { smallBytes } from '../../common/small-bytes.ts'

/** Messages a zenoh-ts client sends (OutRemoteMessageId on the client). */
export const In = {
  DeclarePublisher: 0,
  UndeclarePublisher: 1,
  DeclareSubscriber: 2,
  UndeclareSubscriber: 3,
  DeclareQueryable: 4,
  UndeclareQueryable: 5,
  DeclareQuerier: 6,
  UndeclareQuerier: 7,
  DeclareLivelinessToken: 8,
  UndeclareLivelinessToken: 9,
  DeclareLivelinessSubscriber: 10,
  UndeclareLivelinessSubscriber: 11,
  GetSessionInfo: 12,
  GetTimestamp: 13,
  Put: 14,
  Delete: 15,
  PublisherPut: 16,
  PublisherDelete: 17,
  Get: 18,
  QuerierGet: 19,
  LivelinessGet: 20,
  ReplyOk: 21,
  ReplyDel: 22,
  ReplyErr: 23,
  QueryResponseFinal: 24,
  Ping: 25,
  PublisherDeclareMatchingListener: 26,
  UndeclareMatchingListener: 27,
  PublisherGetMatchingStatus: 28,
  QuerierDeclareMatchingListener: 29,
  QuerierGetMatchingStatus: 30,
  GetTransports: 31,
  GetLinks: 32,
  DeclareTransportEventsListener: 33,
  UndeclareTransportEventsListener: 34,
  DeclareLinkEventsListener: 35,
  UndeclareLinkEventsListener: 36,
} as const
export const IN_MAX = 36

/** Messages the server sends (InRemoteMessageId on the client). */
export const Out = {
  ResponsePing: 0,
  ResponseOk: 1,
  ResponseError: 2,
  ResponseTimestamp: 3,
  ResponseSessionInfo: 4,
  InSample: 5,
  InQuery: 6,
  InReply: 7,
  QueryResponseFinal: 8,
  ResponseMatchingStatus: 9,
  MatchingStatusUpdate: 10,
  ResponseTransports: 11,
  ResponseLinks: 12,
  InTransportEventUpdate: 13,
  InLinkEventUpdate: 14,
} as const

export const SEQ_FLAG = 0x80

/**
 * Messages and payloads from this size on travel between the router and its WebSocket clients in
 * pieces, both ways: the router writes a large sample without joining its payload in
 * (session.ts), and the node SDK sends from the serializer's pieces and receives the payload as a
 * view (peer/node-sdk/zero-copy.ts).
 */
export const PIECES_FROM = 16 * 1024

/** Thrown by the reader on a truncated or malformed frame; caught per frame, never escapes a session. */
export class WireError extends Error {
  override name = 'WireError'
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
const utf8enc = new TextEncoder()

export class Reader {
  pos = 0
  constructor (readonly buf: Uint8Array) {}
  private need (n: number): void {
    if (this.pos + n > this.buf.byteLength) throw new WireError(`truncated frame: need ${n} bytes at offset ${this.pos} of ${this.buf.byteLength}`)
  }

  u8 (): number { this.need(1); return this.buf[this.pos++] as number }
  bool (): boolean {
    const b = this.u8()
    if (b > 1) throw new WireError(`boolean byte ${b} at offset ${this.pos - 1}`)
    return b === 1
  }

  u16 (): number {
    this.need(2)
    const v = (this.buf[this.pos] as number) | ((this.buf[this.pos + 1] as number) << 8)
    this.pos += 2
    return v
  }

  u32 (): number {
    this.need(4)
    const b = this.buf; const p = this.pos
    this.pos += 4
    return ((b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16)) + (b[p + 3] as number) * 0x1000000
  }

  /** ULEB128 length; rejects anything that cannot be a length inside this frame. */
  len (): number {
    let result = 0
    let mul = 1
    for (let i = 0; i < 5; i++) {
      const b = this.u8()
      result += (b & 0x7f) * mul
      if ((b & 0x80) === 0) {
        if (result > this.buf.byteLength - this.pos) throw new WireError(`length ${result} exceeds the ${this.buf.byteLength - this.pos} bytes left in the frame`)
        return result
      }
      mul *= 128
    }
    throw new WireError('ULEB128 length longer than 5 bytes')
  }

  /** A view into the frame (no copy). */
  bytes (): Uint8Array {
    const n = this.len()
    const v = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return v
  }

  raw (n: number): Uint8Array {
    this.need(n)
    const v = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return v
  }

  str (): string {
    const n = this.len()
    if (n === 0) return ''
    try {
      return utf8.decode(this.buf.subarray(this.pos, (this.pos += n)))
    } catch {
      throw new WireError('string is not valid UTF-8')
    }
  }

  optBytes (): Uint8Array | undefined { return this.bool() ? this.bytes() : undefined }

  encoding (): Encoding { return { id: this.u16(), schema: this.str() } }
  optEncoding (): Encoding | undefined { return this.bool() ? this.encoding() : undefined }

  /** Timestamp = NTP64 u64 LE + ZenohId (length-prefixed, 16 bytes); kept as raw bytes to pass through unchanged. */
  optTimestamp (): Uint8Array | undefined {
    if (!this.bool()) return undefined
    const start = this.pos
    this.need(8)
    this.pos += 8
    const zid = this.bytes()
    if (zid.byteLength !== 16) throw new WireError(`timestamp zenoh id of ${zid.byteLength} bytes, expected 16`)
    return this.buf.subarray(start, this.pos)
  }

  end (): void {
    if (this.pos !== this.buf.byteLength) throw new WireError(`${this.buf.byteLength - this.pos} trailing bytes after the message`)
  }
}

export interface Encoding { id: number, schema: string }
export const DEFAULT_ENCODING: Encoding = { id: 0, schema: '' }

/**
 * Growable writer reused for every outbound message (one router, one thread). `take()` copies
 * the written bytes out exactly once.
 */
export class Writer {
  private buf = new Uint8Array(64 * 1024)
  private view = new DataView(this.buf.buffer)
  pos = 0

  reset (): this { this.pos = 0; return this }
  private ensure (n: number): void {
    if (this.pos + n <= this.buf.byteLength) return
    let size = this.buf.byteLength * 2
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
    this.view = new DataView(next.buffer)
  }

  u8 (v: number): this { this.ensure(1); this.buf[this.pos++] = v; return this }
  bool (v: boolean): this { return this.u8(v ? 1 : 0) }
  u16 (v: number): this { this.ensure(2); this.view.setUint16(this.pos, v, true); this.pos += 2; return this }
  u32 (v: number): this { this.ensure(4); this.view.setUint32(this.pos, v >>> 0, true); this.pos += 4; return this }
  u64 (v: bigint): this { this.ensure(8); this.view.setBigUint64(this.pos, v, true); this.pos += 8; return this }
  len (n: number): this {
    this.ensure(5)
    do {
      let b = n & 0x7f
      n = Math.floor(n / 128)
      if (n > 0) b |= 0x80
      this.buf[this.pos++] = b
    } while (n > 0)
    return this
  }

  raw (b: Uint8Array): this { this.ensure(b.byteLength); this.buf.set(b, this.pos); this.pos += b.byteLength; return this }
  bytes (b: Uint8Array): this { return this.len(b.byteLength).raw(b) }
  str (s: string): this {
    if (s.length === 0) return this.len(0)
    // worst case 3 bytes per UTF-16 unit; encodeInto avoids an intermediate buffer
    this.ensure(5 + s.length * 3)
    const start = this.pos
    const lenBytes = s.length * 3 < 128 ? 1 : uleb128Size(s.length * 3)
    const { written } = utf8enc.encodeInto(s, this.buf.subarray(start + lenBytes))
    const actual = uleb128Size(written)
    if (actual !== lenBytes) this.buf.copyWithin(start + actual, start + lenBytes, start + lenBytes + written)
    this.len(written)
    this.pos = start + actual + written
    return this
  }

  optBytes (b: Uint8Array | undefined): this { return b === undefined ? this.u8(0) : this.u8(1).bytes(b) }
  encoding (e: Encoding): this { return this.u16(e.id).str(e.schema) }
  optEncoding (e: Encoding | undefined): this { return e === undefined ? this.u8(0) : this.u8(1).encoding(e) }
  optTimestamp (t: Uint8Array | undefined): this { return t === undefined ? this.u8(0) : this.u8(1).raw(t) }
  zid (z: Uint8Array): this { return this.bytes(z) }

  header (id: number, seq?: number): this {
    this.reset()
    if (seq === undefined) return this.u8(id)
    return this.u8(id | SEQ_FLAG).u32(seq)
  }

  /** The written bytes, copied out once (into a small-bytes slab: the frame is sent and dropped). */
  take (): Uint8Array { return this.copyOut(0, this.pos) }

  /** Written bytes [from, to) in a small-bytes array of their own. */
  private copyOut (from: number, to: number): Uint8Array {
    const out = smallBytes(to - from)
    out.set(this.buf.subarray(from, to))
    return out
  }

  /**
   * The written bytes with `body` inserted at offset `at` (a position recorded earlier), in one new
   * buffer: a large payload is copied once, straight into the frame, never into the writer.
   */
  takeWith (at: number, body: Uint8Array): Uint8Array {
    const out = smallBytes(this.pos + body.byteLength)
    out.set(this.buf.subarray(0, at), 0)
    out.set(body, at)
    out.set(this.buf.subarray(at, this.pos), at + body.byteLength)
    return out
  }

  /** As takeWith, but `body` is not copied: the bytes before and after it, each copied once, around it. */
  takeAround (at: number, body: Uint8Array): Uint8ArrayList {
    return new Uint8ArrayList(this.copyOut(0, at), body, this.copyOut(at, this.pos))
  }
}

function uleb128Size (n: number): number {
  let s = 1
  while (n >= 128) { n = Math.floor(n / 128); s++ }
  return s
}

/**
 * Raw timestamp bytes: NTP64 LE + ULEB len 16 + zid, for NTP64 = seconds << 32 | fraction (two
 * numbers: no BigInt arithmetic per sample).
 */
export function encodeTimestamp (seconds: number, fraction: number, zid: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 1 + 16)
  patchU32(out, 0, fraction)
  patchU32(out, 4, seconds)
  out[8] = 16
  out.set(zid.subarray(0, 16), 9)
  return out
}

/**
 * u32 little-endian at `offset`, byte by byte: a DataView needs `.buffer`, which moves a small
 * array off the V8 heap (~1 µs).
 */
export function patchU32 (frame: Uint8Array, offset: number, v: number): void {
  frame[offset] = v & 0xff
  frame[offset + 1] = (v >>> 8) & 0xff
  frame[offset + 2] = (v >>> 16) & 0xff
  frame[offset + 3] = (v >>> 24) & 0xff
}

/** Reads the NTP64 of raw timestamp bytes (for consolidation ordering). */
export function timestampNtp (ts: Uint8Array | undefined): bigint {
  if (ts === undefined || ts.byteLength < 8) return -1n
  return new DataView(ts.buffer, ts.byteOffset, 8).getBigUint64(0, true)
}

// ---- Bit-packed fields ------------------------------------------------------------------

/** qos byte: llrecppp (priority 3 bits, congestion 1, express 1, reliability 1, locality 2). */
export function qosLocality (qos: number): number {
  const l = (qos >> 6) & 0b11
  return l > 2 ? 2 : l
}

export const Locality = { SessionLocal: 0, Remote: 1, Any: 2 } as const
export const Target = { BestMatching: 0, All: 1, AllComplete: 2 } as const
export const Consolidation = { Auto: 0, None: 1, Monotonic: 2, Latest: 3 } as const
export const ReplyKeyExprPolicy = { Any: 0, MatchingQuery: 1 } as const

/** querySettings byte: rcctt (target 2 bits, consolidation 2, reply key-expr 1). */
export function decodeQuerySettings (b: number): { target: number, consolidation: number, replyKeyExpr: number } {
  const t = b & 0b11
  return { target: t > 2 ? 0 : t, consolidation: (b >> 2) & 0b11, replyKeyExpr: (b >> 4) & 1 }
}
