import { describe, it, expect } from 'vitest'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { silentLogger } from '../../common/log.ts'
import {
  createCertificateVerifier, createSwarmRoot, issueRootCertificate, certificateToString, createInvite, decodeInviteToken,
  redeemInvite, signerFromSeed, randomSeed, encodeCertificate, toHex, type Signer,
} from './index.ts'

const T0 = 1_750_000_000_000
const peerOf = (s: Signer): string => peerIdFromPublicKey(publicKeyFromRaw(s.publicKey)).toString()
const keyOf = (peer: string): string | undefined => {
  try { const k = peerIdFromString(peer).publicKey; return k === undefined ? undefined : toHex(k.raw) } catch { return undefined }
}

describe('certificate verifier (network guard)', () => {
  it('accepts, caches, re-checks time and revocation on cache hits, counts refusals, never throws', () => {
    const root = createSwarmRoot()
    const admin = signerFromSeed(randomSeed())
    const adminCert = issueRootCertificate(root, admin.publicKey, { name: 'base', now: T0 })
    const joiner = signerFromSeed(randomSeed())
    const cert = redeemInvite(decodeInviteToken(createInvite(admin, adminCert, { swarmPublicKey: root.publicKeyHex, certTtlMs: 10_000_000, now: T0 }).token), joiner, { now: T0 + 1 }).certificate
    let now = T0 + 2
    const revoked = new Set<string>()
    const v = createCertificateVerifier({ swarmPublicKey: root.publicKeyHex, cacheSize: 2 }, { logger: silentLogger(), publicKeyOfPeer: keyOf, revoked, now: () => now })
    const s = certificateToString(cert)
    expect(v.verifyPresented(peerOf(joiner), s).ok).toBe(true)
    expect(v.verifyPresented(peerOf(joiner), s).ok).toBe(true)
    expect(v.verifyPresented(peerOf(joiner), encodeCertificate(cert)).ok).toBe(true)
    expect(v.counters).toMatchObject({ accepted: 3, cacheHits: 2 })
    // a revoked admin in the chain refuses the cached member too
    revoked.add(toHex(admin.publicKey))
    const r = v.verifyPresented(peerOf(joiner), s)
    expect(r.ok ? '' : r.reason).toBe('CertificateRevokedError')
    revoked.clear()
    now = cert.notAfter + 1
    const e = v.verify(s)
    expect(e.ok ? '' : e.reason).toBe('CertificateExpiredError')
    now = T0 + 2
    for (const bad of [undefined, 'junk', 42, {}, new Uint8Array([1, 2, 3])]) expect(v.verify(bad).ok).toBe(false)
    expect(v.verifyPresented('not-a-peer', s).ok).toBe(false)
    expect(v.verifyPresented(peerOf(admin), s).ok).toBe(false)
    expect(v.counters.refused).toMatchObject({ CertificateRevokedError: 1, CertificateExpiredError: 1, CertificateMalformedError: 5, CertificatePeerMismatchError: 2 })
    // the cache stays bounded (drop-oldest) while others keep verifying
    for (let i = 0; i < 5; i++) {
      const m = signerFromSeed(randomSeed())
      expect(v.verify(issueRootCertificate(root, m.publicKey, { name: `m${i}`, now: T0 })).ok).toBe(true)
    }
    expect(v.verifyPresented(peerOf(joiner), s).ok).toBe(true)
  })
})
