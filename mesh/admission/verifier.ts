/**
 * The admission check for certificates arriving from the network (hello handshake, roster,
 * actor certificates): binds the certificate to the Noise-authenticated peer, verifies the chain,
 * and caches successful chain verifications so a reconnecting peer costs a map lookup instead of
 * up to 16 signature checks. Never throws: bad input is logged, counted and refused.
 */
import type { Logger } from '../../common/log.ts'
import { SwarmflowError } from '../../common/errors.ts'
import type { MemberCertificate, RevokedKeys, VerifiedMember } from './interfaces.ts'
import { CertificateForgedError, CertificateMalformedError } from './errors.ts'
import { fromHex, toHex } from './encoding.ts'
import { certificateToString, parseCertificate, verifyCertificate } from './certificates.ts'
import { swarmIdFromPublicKey } from './keys.ts'

export interface CertificateVerifierConfig {
  /** Pinned swarm public key, hex. */
  swarmPublicKey: string
  /** Verified certificates remembered; policy drop-oldest (the least recently used is evicted). Default 1024. */
  cacheSize?: number
  /** Tolerated clock difference for notBefore, ms. Default 0. */
  clockSkewMs?: number
}

export interface CertificateVerifierDeps {
  /** The verifier adds `{ component: 'admission' }`. */
  logger: Logger
  /** Maps a libp2p peer id to its ed25519 public key (hex), undefined for anything else (peer/identity's publicKeyHexFromPeerId). */
  publicKeyOfPeer: (peerId: string) => string | undefined
  /** Revoked member keys, read on every call (e.g. a view over the swarm document). */
  revoked?: RevokedKeys
  now?: () => number
}

export type AdmissionVerdict = { ok: true, member: VerifiedMember, certificate: MemberCertificate } | { ok: false, reason: string, error: Error }

export interface CertificateVerifierCounters {
  accepted: number
  cacheHits: number
  /** Refusals by error name (CertificateMalformedError, CertificateExpiredError, PeerMismatch…). */
  refused: Record<string, number>
}

export interface CertificateVerifier {
  /**
   * Checks `certificate` (string form, bytes or object) as presented by `peerId`. Never throws.
   */
  verifyPresented(peerId: string, certificate: unknown): AdmissionVerdict
  /** Same, for a certificate not tied to a connection (roster entries, actor certificates). */
  verify(certificate: unknown): AdmissionVerdict
  readonly counters: CertificateVerifierCounters
  /** Forget cached verifications (e.g. after the revocation set shrank, which it never should). */
  clear(): void
}

interface CacheEntry {
  member: VerifiedMember
  certificate: MemberCertificate
  /** Every member key in the chain, leaf first. */
  chainKeys: string[]
  validFrom: number
  validUntil: number
}

/** The certificate was valid but presented by another peer than its key's. */
export class CertificatePeerMismatchError extends SwarmflowError {
  constructor (peerId: string, memberPublicKey: string) {
    super(`peer ${peerId} presented the certificate of member key ${memberPublicKey.slice(0, 16)}…, which is not its own; refusing it (a stolen certificate is useless without the key)`)
  }
}

function chainOf (cert: MemberCertificate): MemberCertificate[] {
  const out: MemberCertificate[] = []
  let c: MemberCertificate | undefined = cert
  while (c !== undefined && out.length < 16) {
    out.push(c)
    c = c.delegation?.signerCertificate
  }
  return out
}

export function createCertificateVerifier (config: CertificateVerifierConfig, deps: CertificateVerifierDeps): CertificateVerifier {
  const log = deps.logger.child({ component: 'admission' })
  const swarmPublicKey = toHex(fromHex(config.swarmPublicKey, 32, 'swarmPublicKey'))
  const swarmId = swarmIdFromPublicKey(swarmPublicKey)
  const capacity = config.cacheSize ?? 1024
  const skew = config.clockSkewMs ?? 0
  const now = deps.now ?? Date.now
  const cache = new Map<string, CacheEntry>()
  const counters: CertificateVerifierCounters = { accepted: 0, cacheHits: 0, refused: {} }

  function refuse (peer: string | undefined, error: Error): AdmissionVerdict {
    counters.refused[error.name] = (counters.refused[error.name] ?? 0) + 1
    log.info({ peer, swarmId, reason: error.name, err: error.message }, 'certificate refused')
    return { ok: false, reason: error.name, error }
  }

  function check (peer: string | undefined, input: unknown): AdmissionVerdict {
    const parsed = parseCertificate(input)
    if (!parsed.ok) return refuse(peer, parsed.error)
    const cert = parsed.value
    let key: string
    try {
      key = typeof input === 'string' ? input : certificateToString(cert)
    } catch (err) {
      return refuse(peer, err instanceof Error ? err : new CertificateMalformedError('unencodable'))
    }
    if (peer !== undefined) {
      const peerKey = deps.publicKeyOfPeer(peer)
      if (peerKey === undefined || peerKey !== cert.memberPublicKey) return refuse(peer, new CertificatePeerMismatchError(peer, cert.memberPublicKey))
    }
    const t = now()
    const hit = cache.get(key)
    if (hit !== undefined && t + skew >= hit.validFrom && t <= hit.validUntil && !hit.chainKeys.some(k => deps.revoked?.has(k) === true)) {
      cache.delete(key)
      cache.set(key, hit)
      counters.cacheHits++
      counters.accepted++
      return { ok: true, member: hit.member, certificate: hit.certificate }
    }
    try {
      const opts = deps.revoked === undefined ? { swarmPublicKey, now: t, clockSkewMs: skew } : { swarmPublicKey, now: t, clockSkewMs: skew, revoked: deps.revoked }
      const member = verifyCertificate(cert, opts)
      const chain = chainOf(cert)
      cache.delete(key)
      if (cache.size >= capacity) {
        const oldest = cache.keys().next()
        if (oldest.done !== true) cache.delete(oldest.value)
      }
      cache.set(key, {
        member,
        certificate: cert,
        chainKeys: chain.map(c => c.memberPublicKey),
        validFrom: Math.max(...chain.map(c => c.notBefore)),
        validUntil: Math.min(...chain.map(c => c.notAfter)),
      })
      counters.accepted++
      return { ok: true, member, certificate: cert }
    } catch (err) {
      cache.delete(key)
      return refuse(peer, err instanceof Error ? err : new CertificateForgedError('(unknown)', 'verification failed'))
    }
  }

  return {
    verifyPresented: (peerId, certificate) => check(typeof peerId === 'string' ? peerId : String(peerId), certificate),
    verify: certificate => check(undefined, certificate),
    counters,
    clear: () => { cache.clear() },
  }
}
