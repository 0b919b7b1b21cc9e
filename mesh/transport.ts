/**
 * Tuning of the libp2p link below every FramedChannel (measured with `npm run bench`, mesh rows).
 *
 * 1. `noiseCrypto` — @chainsafe/libp2p-noise's default crypto hands the raw 32-byte key to
 *    `createCipheriv` for every Noise message of ≥ 1200 bytes, so OpenSSL imports the key each
 *    time (~10 µs of the "≈ 14 µs per frame" in ARCHITECTURE.md), and then copies ciphertext and
 *    tag into one new buffer. Here each direction's key is imported once (a KeyObject per key
 *    buffer, held weakly) and the ciphertext and tag are returned as a list, not concatenated:
 *    64 KiB messages 46 → 34 µs, 4 KiB 15.5 → 4.5 µs (node 24, this machine). Small messages keep
 *    the library's WASM implementation (~2 µs below ~1 KiB).
 *
 * 2. `coalesceWrites` — every yamux frame is its own `send` on the secured connection, so each
 *    becomes its own Noise message and its own socket write; yamux also answers every data frame
 *    with a window-update frame. A 64-byte put therefore cost two encryptions and two write
 *    syscalls each way (the syscall, ~35 µs under load here, dominated the per-message CPU).
 *    Writes made in one event-loop turn are sent together at the end of the turn (setImmediate):
 *    one Noise message (chunked at 64 KiB as before), one socket write. A batch that reaches
 *    16 KiB goes out at once, without waiting for the end of the turn: a process handling a burst
 *    (an echo answering 256 queued 64-byte samples, ~238 bytes each on the link) then hands the
 *    first part to the other side while it works on the rest, instead of the two processes taking
 *    turns. 64 B throughput on the mesh link, interleaved `--only mesh` runs: 0.58 / 0.70x raw TCP
 *    with 16 KiB against 0.39 / 0.42x with 64 KiB; the cost, one more Noise message and write per
 *    16 KiB, is small beside the ~70 messages it carries. Backpressure is the secured connection's
 *    own (its 'drain').
 *
 * 3. One syscall per batch — @libp2p/tcp writes every buffer of a list with its own
 *    `socket.write` (a Noise message is at least its 2-byte length and its ciphertext), and with
 *    TCP_NODELAY each becomes its own syscall and segment. Small batches are joined into one buffer
 *    (one write), large ones leave corked (one writev).
 *
 * 4. No exception per read — Noise's length-prefix reader signals "need more bytes" by throwing a
 *    new RangeError, which its decoder catches: at the end of every received chunk, so once per
 *    read, each capturing a stack trace (~12 µs, 4 % of the echo process's CPU at 64 B). Ours
 *    answers "the longest message" instead while fewer than 2 bytes are buffered: the decoder then
 *    waits for more bytes exactly as after the exception, without one.
 */
import crypto from 'node:crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { asCrypto, defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { StreamState } from '@chainsafe/libp2p-yamux/stream'
import type { ConnectionEncrypter, MessageStream, SecuredConnection, StreamMuxerFactory } from '@libp2p/interface'

const CHACHA = 'chacha20-poly1305'
/** Below this the library's WASM ChaCha20-Poly1305 beats a native cipher object (its own benchmark; ours agrees). */
const NATIVE_FROM_BYTES = 1024

const keys = new WeakMap<Uint8Array, crypto.KeyObject>()
function keyObject (k: Uint8Array): crypto.KeyObject {
  let ko = keys.get(k)
  if (ko === undefined) {
    ko = crypto.createSecretKey(k)
    keys.set(k, ko)
  }
  return ko
}

/** Pieces below this size are run through the cipher together (see updatePieces). */
const JOIN_PIECES_BELOW = 8 * 1024
/** One Noise message is at most 65535 bytes: a run of joined pieces always fits. */
const runScratch = new Uint8Array(64 * 1024)

/**
 * Feeds a list of pieces to a cipher. Each `update` call costs ~4 µs here whatever its size (node
 * 24, chacha20-poly1305), and a coalesced batch of small frames is a list of two pieces per yamux
 * frame (its 12-byte header, then its data): a 16 KiB batch of 64-byte samples is 138 pieces, and
 * encrypting it piece by piece took 552 µs against 24 µs for the same bytes in one call (measured).
 * So runs of small pieces are copied into one scratch buffer and passed in one call (`update`
 * returns new memory, so the scratch is free again right after); a large piece goes on its own,
 * as copying it costs more than the call (12 + 65507 bytes: 33 µs in two calls, 49 µs joined).
 */
function updatePieces (c: crypto.Cipheriv | crypto.Decipheriv, pieces: Iterable<Uint8Array>, out: Uint8ArrayList): void {
  let run = 0
  let runPieces = 0
  let first: Uint8Array | undefined
  for (const buf of pieces) {
    const large = buf.byteLength >= JOIN_PIECES_BELOW
    if (runPieces > 0 && (large || run + buf.byteLength > runScratch.byteLength)) {
      out.append(c.update(runPieces === 1 ? first as Uint8Array : runScratch.subarray(0, run)))
      run = 0
      runPieces = 0
    }
    if (large) { out.append(c.update(buf)); continue }
    if (runPieces === 0) first = buf
    runScratch.set(buf, run)
    run += buf.byteLength
    runPieces++
  }
  if (runPieces > 0) out.append(c.update(runPieces === 1 ? first as Uint8Array : runScratch.subarray(0, run)))
}

function nativeEncrypt (plaintext: Uint8Array | Uint8ArrayList, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array): Uint8ArrayList {
  const cipher = crypto.createCipheriv(CHACHA, keyObject(k), nonce, { authTagLength: 16 })
  cipher.setAAD(ad, { plaintextLength: plaintext.byteLength })
  const out = new Uint8ArrayList()
  if (plaintext instanceof Uint8Array) out.append(cipher.update(plaintext))
  else updatePieces(cipher, plaintext, out)
  const final = cipher.final()
  if (final.byteLength > 0) out.append(final)
  out.append(cipher.getAuthTag())
  return out
}

function nativeDecrypt (ciphertext: Uint8Array | Uint8ArrayList, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array): Uint8Array | Uint8ArrayList {
  const n = ciphertext.byteLength - 16
  const tag = ciphertext.subarray(n)
  const decipher = crypto.createDecipheriv(CHACHA, keyObject(k), nonce, { authTagLength: 16 })
  decipher.setAAD(ad, { plaintextLength: n })
  decipher.setAuthTag(tag)
  if (ciphertext instanceof Uint8Array) {
    const out = decipher.update(ciphertext.subarray(0, n))
    const final = decipher.final()
    return final.byteLength > 0 ? new Uint8ArrayList(out, final) : out
  }
  const out = new Uint8ArrayList()
  updatePieces(decipher, ciphertext.sublist(0, n), out)
  const final = decipher.final()
  if (final.byteLength > 0) out.append(final)
  return out
}

// noise bundles its own copy of uint8arraylist: the list types differ nominally, not in shape
type Encrypt = ICryptoInterface['chaCha20Poly1305Encrypt']
type Decrypt = ICryptoInterface['chaCha20Poly1305Decrypt']
type AnyList = Uint8Array | Uint8ArrayList

export const noiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  chaCha20Poly1305Encrypt: ((plaintext: AnyList, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array) => plaintext.byteLength < NATIVE_FROM_BYTES
    ? (asCrypto.chaCha20Poly1305Encrypt as unknown as (p: AnyList, n: Uint8Array, a: Uint8Array, k: Uint8Array) => AnyList)(plaintext, nonce, ad, k)
    : nativeEncrypt(plaintext, nonce, ad, k)) as unknown as Encrypt,
  chaCha20Poly1305Decrypt: ((ciphertext: AnyList, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array, dst?: Uint8Array) => ciphertext.byteLength < NATIVE_FROM_BYTES
    ? (asCrypto.chaCha20Poly1305Decrypt as unknown as (c: AnyList, n: Uint8Array, a: Uint8Array, k: Uint8Array, d?: Uint8Array) => AnyList)(ciphertext, nonce, ad, k, dst)
    : nativeDecrypt(ciphertext, nonce, ad, k)) as unknown as Decrypt,
}

/** What the coalescer uses of a secured connection: AbstractMessageStream's extension points. */
interface SendingStream {
  sendData(data: Uint8ArrayList): { sentBytes: number, canSendMore: boolean }
  close(options?: { signal?: AbortSignal }): Promise<void>
  writableNeedsDrain: boolean
  writeStatus: 'writable' | 'closing' | 'closed'
}

/** A batch this large leaves at once (see 2. in the file comment). */
const FULL_BATCH = 16 * 1024

/**
 * Sends the writes of one event-loop turn on `conn` (the secured stream) as one batch (see the file
 * comment). `raw` is the transport stream below it: closing or aborting either first sends what is
 * batched, so a frame written just before a hang-up still leaves, as it did when every write went
 * straight to the socket.
 */
export function coalesceStream (conn: MessageStream, raw?: MessageStream): MessageStream {
  const s = conn as unknown as SendingStream
  if (typeof s.sendData !== 'function' || typeof s.close !== 'function') return conn
  const sendNow = s.sendData.bind(conn)
  let pending: Uint8ArrayList | undefined
  let scheduled = false

  const flush = (): void => {
    scheduled = false
    const batch = pending
    pending = undefined
    if (batch === undefined || batch.byteLength === 0) return
    // closed or aborted meanwhile: unsent data is dropped, as the stream itself drops its write buffer
    if (s.writeStatus !== 'writable' && s.writeStatus !== 'closing') return
    try {
      if (!sendNow(batch).canSendMore) s.writableNeedsDrain = true
    } catch (err) {
      conn.abort(err as Error)
    }
  }

  s.sendData = (data) => {
    (pending ??= new Uint8ArrayList()).append(data)
    if (pending.byteLength >= FULL_BATCH) flush()
    else if (!scheduled) { scheduled = true; setImmediate(flush) }
    return { sentBytes: data.byteLength, canSendMore: !s.writableNeedsDrain }
  }
  corkWrites(raw)
  quietLengthDecoder(conn)
  for (const target of raw === undefined ? [conn] : [conn, raw]) {
    const t = target as unknown as { close: (o?: unknown) => Promise<void>, abort: (e: Error) => void }
    const close = t.close.bind(target)
    const abort = t.abort.bind(target)
    t.close = async (o?: unknown) => { flush(); await close(o) }
    t.abort = (e: Error) => { flush(); abort(e) }
  }
  return conn
}

/** Noise's largest message: with < 2 bytes buffered the decoder sees "incomplete" and waits. */
const INCOMPLETE = 0xffff
function uint16BEDecode (data: Uint8Array | Uint8ArrayList): number {
  if (data.byteLength < 2) return INCOMPLETE
  return data instanceof Uint8Array ? ((data[0] as number) << 8) | (data[1] as number) : (data.get(0) << 8) | data.get(1)
}

/** Replaces the secured stream's length decoder (noise's uint16BEDecode) with one that never throws. */
function quietLengthDecoder (conn: MessageStream): void {
  const dec = (conn as unknown as { decoder?: { lengthDecoder?: unknown } }).decoder
  if (dec !== undefined && typeof dec.lengthDecoder === 'function' && (dec.lengthDecoder as { name?: string }).name === 'uint16BEDecode') dec.lengthDecoder = uint16BEDecode
}

/** Pieces up to this size are joined into one buffer: a single write() costs less than a writev. */
const JOIN_BELOW = 16 * 1024

/**
 * One syscall per send on a TCP message stream: small batches are joined into one buffer (one
 * write, measured ~5× cheaper than a writev here), larger ones are written with the socket corked
 * (one writev, no copy).
 */
function corkWrites (raw: MessageStream | undefined): void {
  const r = raw as unknown as { sendData?: (d: Uint8ArrayList) => { sentBytes: number, canSendMore: boolean }, socket?: { cork?: () => void, uncork?: () => void } } | undefined
  const sock = r?.socket
  if (r?.sendData === undefined || typeof sock?.cork !== 'function' || typeof sock.uncork !== 'function') return
  const send = r.sendData.bind(raw)
  r.sendData = (data) => {
    if ((data as unknown as { bufs: Uint8Array[] }).bufs.length < 2) return send(data)
    if (data.byteLength <= JOIN_BELOW) return send(new Uint8ArrayList(data.subarray()))
    sock.cork?.()
    try { return send(data) } finally { sock.uncork?.() }
  }
}

/** Wraps a connection encrypter factory so that its secured connections coalesce writes. */
export function coalesceWrites<C> (factory: (components: C) => ConnectionEncrypter): (components: C) => ConnectionEncrypter {
  return (components: C) => {
    const inner = factory(components)
    const wrap = (r: SecuredConnection, raw: MessageStream): SecuredConnection => ({ ...r, connection: coalesceStream(r.connection, raw) })
    return Object.assign(Object.create(inner) as ConnectionEncrypter, {
      secureInbound: async (c: MessageStream, o?: Parameters<ConnectionEncrypter['secureInbound']>[1]) => wrap(await inner.secureInbound(c, o), c),
      secureOutbound: async (c: MessageStream, o?: Parameters<ConnectionEncrypter['secureOutbound']>[1]) => wrap(await inner.secureOutbound(c, o), c),
    })
  }
}

/**
 * 5. `lazyWindowUpdates` — @chainsafe/libp2p-yamux answers every data frame with a window-update
 *    frame as soon as any of the receive window is used. On a request/response link nothing else
 *    leaves in that turn, so each message costs its receiver one more Noise message and write, and
 *    its sender one more wake-up, read and decryption: a third of the link's system calls per
 *    message (strace of an end-to-end ping-pong). Like Go's yamux (and the spec's intent), the
 *    window is topped up only once half of it has been used. The remote never waits for it: it
 *    still has at least half a window (≥ 128 KiB) to send. Stream set-up, pauses and the window
 *    auto-tuning are the library's own (its sendWindowUpdate runs whenever an update is sent).
 *
 *    Each stream also opens with a larger receive window (`openWindow`, default 2 MiB) than yamux's
 *    256 KiB: the first update it sends (with the SYN of an outbound stream, or on the first bytes
 *    received, i.e. the protocol negotiation, of an inbound one) grants the difference. A peer's
 *    whole document (~740 KB compressed at 1 MB) then crosses in one go instead of waiting three
 *    times for the receiver's event loop to hand out more window (measured on a joining peer among
 *    ten busy ones: 220–750 ms for that transfer). It is a plain window update, so any yamux peer
 *    honours it; how much a stalled reader can leave buffered is still bounded by the library's
 *    maxStreamWindowSize (16 MiB), which the auto-tuning can reach anyway.
 */
export function lazyWindowUpdates<C> (factory: (components: C) => StreamMuxerFactory, opts: { openWindow?: number } = {}): (components: C) => StreamMuxerFactory {
  const openWindow = opts.openWindow ?? 2 * 1024 * 1024
  return (components: C) => {
    const inner = factory(components)
    return Object.assign(Object.create(inner) as StreamMuxerFactory, {
      createStreamMuxer: (conn: MessageStream) => {
        const muxer = inner.createStreamMuxer(conn)
        const m = muxer as unknown as { _newStream?: (...args: unknown[]) => unknown }
        const newStream = m._newStream
        // a yamux release without this internal keeps its own behaviour (eager updates)
        if (typeof newStream === 'function') {
          m._newStream = function (this: unknown, ...args: unknown[]) {
            const s = newStream.apply(this, args)
            lazyStream(s, openWindow)
            return s
          }
        }
        return muxer
      },
    })
  }
}

interface WindowedStream { state: number, recvWindow: number, recvWindowCapacity: number, maxStreamWindowSize: number, sendWindowUpdate(): void }

function lazyStream (s: unknown, openWindow: number): void {
  const w = s as Partial<WindowedStream>
  const eager = w.sendWindowUpdate
  if (typeof eager !== 'function' || typeof w.recvWindow !== 'number' || typeof w.recvWindowCapacity !== 'number') return
  // granted by the first update (recvWindow - recvWindowCapacity), never above the library's cap
  const cap = typeof w.maxStreamWindowSize === 'number' ? w.maxStreamWindowSize : openWindow
  if (openWindow > w.recvWindow) w.recvWindow = Math.min(openWindow, cap)
  w.sendWindowUpdate = function (this: WindowedStream) {
    if (this.state === StreamState.Established && this.recvWindow - this.recvWindowCapacity < this.recvWindow / 2) return
    eager.call(this)
  }
}
