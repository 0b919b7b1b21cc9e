import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { pack } from 'msgpackr'
import {
  parseCertificate, parseRevocation, parseActorCertificate, parseSignedHeads, parseInviteToken, decodeCertificate,
  certificateToString, encodeCertificate, verifyCertificate, createSwarmRoot, signerFromSeed, randomSeed, createInvite,
  decodeInviteToken, redeemInvite, encodeRevocation, createRevocation, verifyRevocation, issueRootCertificate,
  type MemberCertificate,
} from './index.ts'
import { isSwarmflowError } from '../../common/errors.ts'

const T0 = 1_750_000_000_000
const root = createSwarmRoot()
const admin = signerFromSeed(randomSeed())
const adminCert = issueRootCertificate(root, admin.publicKey, { name: 'base', swarmName: 'lab', now: T0 })
const joined = redeemInvite(decodeInviteToken(createInvite(admin, adminCert, { swarmPublicKey: root.publicKeyHex, caps: ['cam'], now: T0 }).token), signerFromSeed(randomSeed()), { now: T0 + 1 }).certificate
const certBytes = encodeCertificate(joined)
const revBytes = encodeRevocation(createRevocation(admin, adminCert, joined.memberPublicKey, 'r', { now: T0 + 2 }))

const parsers: Array<(x: unknown) => { ok: boolean }> = [parseCertificate, parseRevocation, parseActorCertificate, parseSignedHeads, parseInviteToken]

/** Mutates 1–4 bytes of a valid encoding. */
const mutated = (base: Uint8Array) => fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })
  .map(edits => { const b = new Uint8Array(base); for (const [i, v] of edits) b[i] = v; return b })

describe('wire-safe parsers never throw', () => {
  it('on random bytes, strings and values', () => {
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.string({ maxLength: 256 }), fc.anything()), input => {
      for (const p of parsers) {
        const r = p(input)
        expect(typeof r.ok).toBe('boolean')
      }
    }), { numRuns: 400 })
  })

  it('on random msgpack structures and tuples shaped like records', () => {
    const value = fc.anything({ maxDepth: 3, withTypedArray: true })
    fc.assert(fc.property(fc.oneof(value, fc.array(value, { minLength: 4, maxLength: 12 }).map(a => [1, ...a])), v => {
      let bytes: Uint8Array
      try { bytes = pack(v) } catch { return }
      for (const p of parsers) expect(typeof p(bytes).ok).toBe('boolean')
      expect(parseInviteToken(`sf1.${Buffer.from(bytes).toString('base64url')}`).ok).toBe(false)
    }), { numRuns: 300 })
  })

  it('on hostile nesting (64 KiB of nested arrays) and oversized input', () => {
    const nested = new Uint8Array(60_000).fill(0x91)
    for (const p of parsers) expect(p(nested).ok).toBe(false)
    expect(parseCertificate(new Uint8Array(100_000)).ok).toBe(false)
    expect(parseInviteToken('sf1.' + Buffer.from(nested).toString('base64url')).ok).toBe(false)
  })

  it('on mutated valid certificates: parse never throws, verify throws only typed errors or yields the same member', () => {
    fc.assert(fc.property(mutated(certBytes), bytes => {
      const r = parseCertificate(bytes)
      if (!r.ok) { expect(r.error.name).toBe('CertificateMalformedError'); return }
      try {
        const v = verifyCertificate(r.value, { swarmPublicKey: root.publicKeyHex, now: T0 + 5 })
        // a mutation that still verifies may only have re-encoded the same values
        expect(v.memberPublicKey).toBe(joined.memberPublicKey)
        expect(certificateToString(r.value)).toBe(certificateToString(joined))
      } catch (err) {
        expect(isSwarmflowError(err)).toBe(true)
      }
    }), { numRuns: 400 })
    expect(decodeCertificate(certBytes)).toEqual(joined as MemberCertificate)
  })

  it('on mutated valid revocations', () => {
    fc.assert(fc.property(mutated(revBytes), bytes => {
      const r = parseRevocation(bytes)
      if (!r.ok) return
      try {
        verifyRevocation(r.value, root.publicKeyHex)
      } catch (err) {
        expect(isSwarmflowError(err)).toBe(true)
      }
    }), { numRuns: 300 })
  })
})
