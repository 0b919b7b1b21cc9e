import { describe, expect, it } from 'vitest'
import { randomSeed, signerFromSeed, verifySignature } from './keys.ts'

describe('verifySignature (with its cache of verified signatures)', () => {
  const a = signerFromSeed(randomSeed())
  const b = signerFromSeed(randomSeed())
  const msg = new TextEncoder().encode('a certificate body')
  const sig = a.sign(msg)

  it('a signature that verified once does not make a changed message, signature or key verify', () => {
    expect(verifySignature(msg, sig, a.publicKey)).toBe(true)
    expect(verifySignature(msg, sig, a.publicKey)).toBe(true)
    const other = msg.slice(); other[0] = (other[0] as number) ^ 1
    expect(verifySignature(other, sig, a.publicKey)).toBe(false)
    const badSig = sig.slice(); badSig[10] = (badSig[10] as number) ^ 1
    expect(verifySignature(msg, badSig, a.publicKey)).toBe(false)
    expect(verifySignature(msg, sig, b.publicKey)).toBe(false)
    // the same bytes at other offsets of a larger buffer are the same triple
    const big = new Uint8Array(msg.length + 8); big.set(msg, 8)
    expect(verifySignature(big.subarray(8), sig, a.publicKey)).toBe(true)
    // a prefix or extension of the message is another message
    expect(verifySignature(msg.subarray(0, msg.length - 1), sig, a.publicKey)).toBe(false)
    expect(verifySignature(new Uint8Array([...msg, 0]), sig, a.publicKey)).toBe(false)
  })

  it('stays correct after the cache is full and evicts', () => {
    for (let i = 0; i < 2100; i++) {
      const m = new TextEncoder().encode(`message ${i}`)
      expect(verifySignature(m, b.sign(m), b.publicKey)).toBe(true)
    }
    expect(verifySignature(msg, sig, a.publicKey)).toBe(true)
    expect(verifySignature(msg, b.sign(msg), a.publicKey)).toBe(false)
  })

  it('refuses wrong lengths without throwing', () => {
    expect(verifySignature(msg, sig.subarray(0, 63), a.publicKey)).toBe(false)
    expect(verifySignature(msg, sig, a.publicKey.subarray(0, 31))).toBe(false)
  })
})
