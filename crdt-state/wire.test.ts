import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { decodeFrame, encodeHello, encodeMessage, type WireMessage } from './wire.ts'

describe('document protocol framing', () => {
  it('round-trips hello and every carried message type', () => {
    const hello = { peerId: '12D3KooWA', session: 's1', nonce: 'n1', meta: { storageId: 'st', isEphemeral: false } }
    expect(decodeFrame(encodeHello(hello))).toEqual({ kind: 'hello', hello })
    fc.assert(fc.property(
      fc.constantFrom<WireMessage['type']>('sync', 'request'),
      fc.string({ minLength: 1, maxLength: 60 }), fc.string({ minLength: 1, maxLength: 60 }), fc.uint8Array({ maxLength: 2048 }),
      (type, senderId, targetId, data) => {
        const m: WireMessage = { type, senderId, targetId, documentId: 'doc', data }
        const d = decodeFrame(encodeMessage(m))
        expect(d).toEqual({ kind: 'message', message: m })
        if (d.kind === 'message') expect(d.message.data).toBeInstanceOf(Uint8Array)
      },
    ), { numRuns: 200 })
    expect(decodeFrame(encodeMessage({ type: 'doc-unavailable', senderId: 'a', targetId: 'b', documentId: 'd' })))
      .toEqual({ kind: 'message', message: { type: 'doc-unavailable', senderId: 'a', targetId: 'b', documentId: 'd' } })
  })

  it('never throws on arbitrary bytes and classifies them', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), bytes => {
      const d = decodeFrame(bytes)
      expect(['hello', 'message', 'unsupported', 'malformed']).toContain(d.kind)
    }), { numRuns: 2000 })
  })

  it('rejects off-shape bodies with a reason', () => {
    // Encodes bodies a well-behaved sender never produces.
    const sync = (o: Record<string, unknown>): Uint8Array => encodeMessage(o as unknown as WireMessage)
    expect(decodeFrame(new Uint8Array([2]))).toMatchObject({ kind: 'malformed' })
    expect(decodeFrame(sync({ type: 'sync', senderId: 'a', targetId: 'b', documentId: 'd' }))).toMatchObject({ kind: 'malformed', problem: expect.stringContaining('binary data') })
    expect(decodeFrame(sync({ type: 'sync', senderId: 7, targetId: 'b', documentId: 'd', data: new Uint8Array(1) }))).toMatchObject({ kind: 'malformed' })
    expect(decodeFrame(sync({ type: 'ephemeral', senderId: 'a', targetId: 'b', documentId: 'd', data: new Uint8Array(1) }))).toEqual({ kind: 'unsupported', type: 'ephemeral' })
    const badHello = encodeHello({ peerId: 'p', session: '', nonce: 'n', meta: {} })
    expect(decodeFrame(badHello)).toMatchObject({ kind: 'malformed' })
    const arrayBody = new Uint8Array([1, 0x91, 0x01]) // kind HELLO, MessagePack [1]
    expect(decodeFrame(arrayBody)).toMatchObject({ kind: 'malformed', problem: 'body is not a map' })
  })
})
