/**
 * A minimal zenoh-ts remote-api client for a router in the same process (`router.connectLocal`):
 * declare subscribers, put, receive samples. It encodes the few messages it needs itself (the
 * remote-api layout: first byte = message id, 0x80 = a u32 LE sequence id follows, ULEB128
 * lengths, little-endian integers) with the ids of mesh/zenoh/wire.ts, and reads with its Reader.
 */
import type { ZenohRouter, LocalClientSession } from '../../mesh/zenoh/index.ts'
import { smallBytes } from '../../common/small-bytes.ts'
import { In, Out, Reader, SEQ_FLAG } from '../../mesh/zenoh/wire.ts'

/** qos byte: locality any (2 << 6), priority data (5). */
const QOS = (2 << 6) | 5

const enc = new TextEncoder()

function uleb (n: number, out: number[]): void {
  do {
    let b = n & 0x7f
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
}

function u32 (v: number, out: number[]): void { out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff) }

export class LocalZenohClient {
  private readonly session: LocalClientSession
  private readonly subs = new Map<number, (payload: Uint8Array, key: string) => void>()
  private readonly acks = new Map<number, { resolve: () => void, reject: (e: Error) => void }>()
  private nextId = 1
  private nextSeq = 1
  /** put header cache: key → encoded prefix up to the payload length */
  private readonly putPrefix = new Map<string, Uint8Array>()

  constructor (router: ZenohRouter) {
    this.session = router.connectLocal({
      receive: (frame, done) => { try { this.onFrame(frame) } finally { done() } },
    })
  }

  /** Frames are read with the router's own Reader (mesh/zenoh/wire.ts): no closures per frame. */
  private onFrame (f: Uint8Array): void {
    const r = new Reader(f)
    const id = r.u8() & ~SEQ_FLAG
    if (id === Out.ResponseOk || id === Out.ResponseError) {
      const seq = r.u32()
      const a = this.acks.get(seq)
      this.acks.delete(seq)
      if (id === Out.ResponseOk) a?.resolve()
      else a?.reject(new Error(`router refused request ${seq}`))
      return
    }
    if (id !== Out.InSample) return
    const sid = r.u32()
    const key = r.str()
    const payload = r.bytes()
    this.subs.get(sid)?.(payload, key)
  }

  async subscribe (key: string, cb: (payload: Uint8Array, key: string) => void): Promise<void> {
    const sid = this.nextId++
    const seq = this.nextSeq++
    const out: number[] = [In.DeclareSubscriber | SEQ_FLAG]
    u32(seq, out)
    u32(sid, out)
    const k = enc.encode(key)
    uleb(k.length, out)
    out.push(...k, 2)
    this.subs.set(sid, cb)
    const acked = new Promise<void>((resolve, reject) => this.acks.set(seq, { resolve, reject }))
    this.session.send(Uint8Array.from(out))
    await acked
  }

  /** Put (fire and forget, as zenoh-ts does without a reply flag). */
  put (key: string, payload: Uint8Array): void {
    let prefix = this.putPrefix.get(key)
    if (prefix === undefined) {
      const out: number[] = [In.Put]
      const k = enc.encode(key)
      uleb(k.length, out)
      out.push(...k)
      prefix = Uint8Array.from(out)
      this.putPrefix.set(key, prefix)
    }
    const len: number[] = []
    uleb(payload.byteLength, len)
    // payload, encoding id 0 + empty schema, no attachment, no timestamp, qos (a slab view: zero-filled)
    const frame = smallBytes(prefix.byteLength + len.length + payload.byteLength + 6)
    frame.set(prefix, 0)
    frame.set(len, prefix.byteLength)
    const p = prefix.byteLength + len.length
    frame.set(payload, p)
    frame[p + payload.byteLength + 5] = QOS
    this.session.send(frame)
  }

  close (): void { this.session.close() }
}
