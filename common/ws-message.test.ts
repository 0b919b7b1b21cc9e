import { describe, expect, it } from 'vitest'
import { Uint8ArrayList } from 'uint8arraylist'
import * as wsModule from 'ws'
import { writeWsMessage } from './ws-message.ts'

/** A socket that records what is written to it (pure unit test: the frame bytes only). */
function recorder (): { sock: { cork(): void, uncork(): void, write(b: Uint8Array, cb?: () => void): boolean }, bytes: () => Buffer, callbacks: () => number } {
  const parts: Uint8Array[] = []
  let callbacks = 0
  return {
    sock: { cork () {}, uncork () {}, write (b, cb) { parts.push(Uint8Array.from(b)); if (cb) { callbacks++; cb() } return true } },
    bytes: () => Buffer.concat(parts),
    callbacks: () => callbacks,
  }
}

// ws's own frame writer (exported at runtime, not in its typings): the reference for the bytes
const { Sender } = wsModule as unknown as { Sender: { frame(data: Buffer, opts: Record<string, unknown>): Buffer[] } }
const open = { readyState: 1, extensions: '' }
const pattern = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff)

describe('writeWsMessage', () => {
  it('writes the same bytes as ws for every length form, unmasked (server) and zero-masked (client)', () => {
    for (const n of [0, 5, 125, 126, 65_535, 65_536, 70_000]) {
      for (const masked of [false, true]) {
        const data = pattern(n)
        // split into pieces the way callers hand them over (header, payload, tail)
        const pieces = new Uint8ArrayList(data.subarray(0, Math.min(3, n)), data.subarray(Math.min(3, n), Math.max(3, n - 2)), data.subarray(Math.max(3, n - 2)))
        const r = recorder()
        let done = 0
        expect(writeWsMessage(open, r.sock, pieces, masked, () => { done++ })).toBe(true)
        const ws = Buffer.concat(Sender.frame(Buffer.from(data), { fin: true, opcode: 2, mask: masked, generateMask: (m: Buffer) => m.fill(0), readOnly: false, rsv1: false }))
        expect(r.bytes().equals(ws), `${n} bytes, masked ${masked}`).toBe(true)
        expect(done).toBe(1)
      }
    }
  })

  it('writes nothing and returns false when the order with ws cannot be kept or there is no open socket', () => {
    const one = new Uint8ArrayList(pattern(10))
    const r = recorder()
    expect(writeWsMessage({ readyState: 0, extensions: '' }, r.sock, one, true)).toBe(false) // connecting
    expect(writeWsMessage({ readyState: 2, extensions: '' }, r.sock, one, true)).toBe(false) // closing
    expect(writeWsMessage({ readyState: 1, extensions: 'permessage-deflate' }, r.sock, one, false)).toBe(false)
    expect(writeWsMessage(open, null, one, false)).toBe(false) // an in-process client
    expect(writeWsMessage(open, { cork () {}, uncork () {} }, one, false)).toBe(false)
    expect(r.bytes().byteLength).toBe(0)
  })
})
