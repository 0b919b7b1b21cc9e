/**
 * Large payloads through zenoh-ts without copying them.
 *
 * zenoh-ts 1.10 copies every payload twice on a node's data path: `sendMessage` joins the pieces
 * of each outgoing message into one array (`ZBytesSerializer.toBytes`) before `ws.send`, and
 * every received sample's payload is copied out of the WebSocket message (`new ZBytes(view)` is
 * `Uint8Array.from`). For a 1 MiB message that was ~2 ms of CPU per copy here (fresh memory is
 * page-faulted in), two thirds of each node process's CPU in the 1 MiB end-to-end throughput
 * measure. This module hooks the session instance (never zenoh-ts's modules):
 *
 * - send: from PIECES_FROM bytes on, the serializer's pieces go to the link as one Uint8ArrayList,
 *   which the loopback WebSocket (socket.ts) writes as one WebSocket message. zenoh-ts's own link
 *   code still runs (its open check and its back-pressure wait on `bufferedAmount`), so message
 *   order and back-pressure are unchanged.
 * - receive: a sample message whose payload is at least PIECES_FROM bytes is handed to zenoh-ts
 *   with an empty payload (header and tail copied, ~100 bytes), and the subscriber's callback gets
 *   the Sample with the payload as a view of the WebSocket message. Everything else in the sample
 *   (key, encoding, attachment, timestamp, QoS) is still decoded by zenoh-ts.
 *
 * The hooks rely on SessionInner's `sendMessage`, `onMessageReceived`, `link.send` and
 * `subscribers` and on Sample's `payload_`; when a zenoh-ts release changes them the hooks are not
 * installed (logged once) and the copies come back — zero-copy.test.ts fails in that case.
 */
import type { Sample, Session, ZBytes } from '@eclipse-zenoh/zenoh-ts'
import { ZBytesSerializer } from '@eclipse-zenoh/zenoh-ts/ext'
import { Out, PIECES_FROM, Reader, WireError } from '../../mesh/zenoh/wire.ts'
import { Uint8ArrayList } from 'uint8arraylist'
import { writesPieces, zbytesView } from './socket.ts'

/** InSample in the remote-api protocol (the router writes it; zenoh-ts InRemoteMessageId.InSample). */
const IN_SAMPLE = Out.InSample

export interface ZeroCopyCounters {
  /** Messages sent to the peer in pieces (no joined copy). */
  sentInPieces: number
  /** Sample payloads received as views of the WebSocket message (no copy). */
  receivedShared: number
}

interface OutMessage { outMessageId: number, serializeWithZSerializer(s: ZBytesSerializer): void }
interface SubscriberClosure { callback(s: Sample): void }
interface InnerShape {
  link: { send(msg: unknown): Promise<void>, ws?: unknown }
  sendMessage(msg: OutMessage): Promise<void>
  onMessageReceived(msg: Uint8Array): void
  subscribers: Map<number, SubscriberClosure>
}

function innerOf (session: Session): InnerShape | undefined {
  const inner = (session as unknown as { inner?: Partial<InnerShape> }).inner
  if (inner === undefined || inner === null) return undefined
  if (typeof inner.sendMessage !== 'function' || typeof inner.onMessageReceived !== 'function') return undefined
  if (!(inner.subscribers instanceof Map) || typeof inner.link?.send !== 'function') return undefined
  const probe = new ZBytesSerializer() as unknown as { data?: unknown, len?: unknown }
  if (!Array.isArray(probe.data) || typeof probe.len !== 'number') return undefined
  return inner as InnerShape
}

/**
 * Installs the hooks on `session`. The send side only where the session's WebSocket writes messages
 * in pieces (the loopback socket, socket.ts); the receive side always. Returns undefined when
 * zenoh-ts's internals are not as expected (nothing is hooked then). With `sendsInPieces`, bytes
 * handed to put() must not change afterwards: they are written after put() returned.
 */
export function shareLargePayloads (session: Session, counters: ZeroCopyCounters): { sendsInPieces: boolean } | undefined {
  const inner = innerOf(session)
  if (inner === undefined) return undefined
  const sendsInPieces = writesPieces(inner.link.ws)
  if (sendsInPieces) {
    inner.sendMessage = async function (this: InnerShape, msg: OutMessage): Promise<void> {
      const s = new ZBytesSerializer()
      s.serializeNumberUint8(msg.outMessageId)
      msg.serializeWithZSerializer(s)
      const { data, len } = s as unknown as { data: Uint8Array[], len: number }
      if (len < PIECES_FROM) { await this.link.send(s.toBytes()); return }
      counters.sentInPieces++
      await this.link.send(new Uint8ArrayList(...data))
    }
  }
  const received = inner.onMessageReceived
  inner.onMessageReceived = function (this: InnerShape, msg: Uint8Array): void {
    const cut = msg.byteLength >= PIECES_FROM && msg[0] === IN_SAMPLE ? cutPayload(msg) : undefined
    const sub = cut === undefined ? undefined : this.subscribers.get(cut.id)
    if (cut === undefined || sub === undefined) { received.call(this, msg); return }
    const own = Object.hasOwn(sub, 'callback')
    const callback = sub.callback
    sub.callback = (sample: Sample): void => {
      ;(sample as unknown as { payload_: ZBytes }).payload_ = zbytesView(cut.payload)
      counters.receivedShared++
      callback.call(sub, sample)
    }
    try {
      received.call(this, cut.rest)
    } finally {
      if (own) sub.callback = callback
      else delete (sub as Partial<SubscriberClosure>).callback
    }
  }
  return { sendsInPieces }
}

/**
 * A sample message split into its payload (a view) and the same message with an empty payload.
 * undefined when it is not a well-formed sample with a payload of at least PIECES_FROM bytes
 * (zenoh-ts then sees the message as it came).
 */
export function cutPayload (msg: Uint8Array): { id: number, payload: Uint8Array, rest: Uint8Array } | undefined {
  try {
    const r = new Reader(msg)
    if (r.u8() !== IN_SAMPLE) return undefined
    const id = r.u32()
    r.bytes() // key expression
    const at = r.pos
    const payload = r.bytes()
    if (payload.byteLength < PIECES_FROM) return undefined
    const tail = msg.subarray(r.pos)
    const rest = new Uint8Array(at + 1 + tail.byteLength)
    rest.set(msg.subarray(0, at))
    rest[at] = 0 // payload length 0
    rest.set(tail, at + 1)
    return { id, payload, rest }
  } catch (err) {
    if (err instanceof WireError) return undefined
    throw err
  }
}
