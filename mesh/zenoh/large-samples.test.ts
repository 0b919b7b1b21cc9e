/**
 * Large samples reach WebSocket clients in pieces (header, payload, tail written to the socket
 * without joining them): real zenoh-ts sessions on a real router, every size class of the
 * WebSocket length field, two subscribers sharing one payload, order kept with small samples
 * written by `ws` itself, and an in-process client that takes whole frames.
 */
import { describe, expect, test } from 'vitest'
import { ZBytes, type Sample } from '@eclipse-zenoh/zenoh-ts'
import { Inbox, openSession, startRouter } from './test-helpers.ts'
import { In, Out, PIECES_FROM, Reader, Writer } from './wire.ts'

const pattern = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)

describe('large samples to clients', () => {
  test('every size arrives whole and in order at two WebSocket subscribers and an in-process one', async () => {
    await using router = await startRouter('A')
    await using pub = await openSession(router)
    await using subA = await openSession(router)
    await using subB = await openSession(router)
    const gotA = new Inbox<Sample>()
    const gotB = new Inbox<Sample>()
    await subA.declareSubscriber('big/**', { handler: gotA.push })
    await subB.declareSubscriber('big/**', { handler: gotB.push })
    const gotLocal = new Inbox<Uint8Array>()
    const acks = new Inbox<number>()
    const local = router.connectLocal({
      receive (frame, done) {
        const r = new Reader(frame)
        const id = r.u8()
        if ((id & 0x7f) === Out.ResponseOk) acks.push(r.u32())
        if (id === Out.InSample) { r.u32(); r.str(); gotLocal.push(r.bytes().slice()) }
        done()
      },
    })
    local.send(new Writer().header(In.DeclareSubscriber, 3).u32(1).str('big/**').u8(2).take())
    expect(await acks.next()).toBe(3)

    // small (ws writes it) / below / at the pieces threshold / 16-bit / 64-bit WebSocket lengths / small again
    const sizes = [10, PIECES_FROM - 1, PIECES_FROM, 40_000, 65_530, 300_000, 1 << 20, 7]
    for (const [i, n] of sizes.entries()) {
      await pub.put(`big/${i}`, new ZBytes(pattern(n, i)), { encoding: 'application/vnd.apache.arrow.stream', attachment: `att-${i}` })
    }
    for (const got of [gotA, gotB]) {
      for (const [i, n] of sizes.entries()) {
        const s = await got.next(10_000, `sample ${i}`)
        expect(s.keyexpr().toString()).toBe(`big/${i}`)
        const bytes = s.payload().toBytes()
        expect(bytes.byteLength).toBe(n)
        expect(Buffer.from(bytes).equals(Buffer.from(pattern(n, i)))).toBe(true)
        expect(s.encoding().toString()).toBe('application/vnd.apache.arrow.stream')
        expect(s.attachment()?.toString()).toBe(`att-${i}`)
      }
    }
    for (const [i, n] of sizes.entries()) {
      expect(Buffer.from(await gotLocal.next(10_000, `local sample ${i}`)).equals(Buffer.from(pattern(n, i)))).toBe(true)
    }
    expect(router.counters.samplesDelivered).toBe(sizes.length * 3)
    // the large ones went to the two WebSocket subscribers from their pieces, not joined
    expect(router.counters.samplesInPieces).toBe(sizes.filter(n => n >= PIECES_FROM).length * 2)
  })
})
