import type { MemberCertificate, ParseResult, Revocation, RevokedKeys, Signer } from './interfaces.ts'
import { NotAdminError, RevocationForgedError, RevocationMalformedError, WrongSwarmError } from './errors.ts'
import {
  WireFormatError, fromBase64url, fromHex, pack, revocationFromTuple, revocationSignedBytes, revocationToTuple, toBase64url,
  toHex, unpack,
} from './encoding.ts'
import { ADMIN_ROLE, describeCertificate, verifyCertificate } from './certificates.ts'
import { swarmIdFromPublicKey, verifyHexSignature } from './keys.ts'

/**
 * `peer revoke`: a signed record, stored in the swarm document, that excludes a member key.
 * `adminCert` is undefined when the swarm root signs.
 */
export function createRevocation (admin: Signer, adminCert: MemberCertificate | undefined, memberPublicKey: string | Uint8Array, reason: string, opts: { now?: number } = {}): Revocation {
  const issuer = toHex(admin.publicKey)
  let swarmId: string
  if (adminCert === undefined) {
    swarmId = swarmIdFromPublicKey(admin.publicKey)
  } else {
    if (adminCert.memberPublicKey !== issuer) throw new NotAdminError('revoking a member', `key ${issuer.slice(0, 16)}… (the certificate given is for ${describeCertificate(adminCert)})`)
    if (!adminCert.roles.includes(ADMIN_ROLE)) throw new NotAdminError('revoking a member', describeCertificate(adminCert))
    swarmId = adminCert.swarmId
  }
  const rev: Revocation = {
    v: 1,
    swarmId,
    memberPublicKey: typeof memberPublicKey === 'string' ? memberPublicKey : toHex(memberPublicKey),
    reason,
    at: opts.now ?? Date.now(),
    issuerPublicKey: issuer,
    signature: '0'.repeat(128),
  }
  if (adminCert !== undefined) rev.chain = adminCert
  let bytes: Uint8Array
  try {
    bytes = revocationSignedBytes(rev)
  } catch (err) {
    throw new RevocationMalformedError(err instanceof Error ? err.message : 'invalid field', { cause: err })
  }
  return { ...rev, signature: toHex(admin.sign(bytes)) }
}

export interface VerifiedRevocation {
  memberPublicKey: string
  issuerPublicKey: string
  reason: string
  at: number
}

/**
 * Checks a revocation offline: signed by the swarm root, or by a member whose certificate chains
 * to the root, held the admin role, and was valid at the revocation's `at`. Revocations outlive
 * their issuer's certificate (judged at `at`, not now). `at` is the issuer's claim: pass
 * `revoked` so revocations by admins who were themselves revoked are refused outright.
 * Throws WrongSwarmError or RevocationForgedError.
 */
export function verifyRevocation (rev: Revocation, swarmPublicKey: string | Uint8Array, opts: { revoked?: RevokedKeys } = {}): VerifiedRevocation {
  const swarmKey = typeof swarmPublicKey === 'string' ? swarmPublicKey : toHex(swarmPublicKey)
  let swarmId: string
  try {
    swarmId = swarmIdFromPublicKey(fromHex(swarmKey, 32, 'swarmPublicKey'))
  } catch (err) {
    throw new RevocationForgedError(rev.memberPublicKey, 'the pinned swarm public key is not 32 bytes of hex', { cause: err })
  }
  if (rev.swarmId !== swarmId) throw new WrongSwarmError(`revocation of ${rev.memberPublicKey.slice(0, 16)}…`, swarmId, rev.swarmId)
  let bytes: Uint8Array
  try {
    bytes = revocationSignedBytes(rev)
  } catch (err) {
    throw new RevocationForgedError(rev.memberPublicKey, err instanceof Error ? err.message : 'invalid field', { cause: err })
  }
  if (rev.chain === undefined) {
    if (rev.issuerPublicKey !== swarmKey) throw new RevocationForgedError(rev.memberPublicKey, 'its issuer is not the swarm root and it carries no admin certificate')
  } else {
    const chain = rev.chain
    if (chain.memberPublicKey !== rev.issuerPublicKey) throw new RevocationForgedError(rev.memberPublicKey, 'the certificate it carries is for another key than its signer')
    try {
      const verifyOpts = opts.revoked === undefined ? { swarmPublicKey: swarmKey, now: rev.at } : { swarmPublicKey: swarmKey, now: rev.at, revoked: opts.revoked }
      verifyCertificate(chain, verifyOpts)
    } catch (err) {
      throw new RevocationForgedError(rev.memberPublicKey, `its issuer's certificate is not valid: ${err instanceof Error ? err.message : 'chain does not verify'}`, { cause: err })
    }
    if (!chain.roles.includes(ADMIN_ROLE)) throw new RevocationForgedError(rev.memberPublicKey, `its issuer ${describeCertificate(chain)} does not hold the admin role`)
  }
  if (!verifyHexSignature(bytes, rev.signature, rev.issuerPublicKey)) throw new RevocationForgedError(rev.memberPublicKey, 'its signature does not verify (tampered or forged)')
  return { memberPublicKey: rev.memberPublicKey, issuerPublicKey: rev.issuerPublicKey, reason: rev.reason, at: rev.at }
}

export function encodeRevocation (rev: Revocation): Uint8Array {
  try {
    return pack(revocationToTuple(rev))
  } catch (err) {
    throw new RevocationMalformedError(err instanceof Error ? err.message : 'invalid field', { cause: err })
  }
}

export function decodeRevocation (bytes: Uint8Array): Revocation {
  try {
    return revocationFromTuple(unpack(bytes))
  } catch (err) {
    throw new RevocationMalformedError(err instanceof WireFormatError ? err.message : 'undecodable', { cause: err })
  }
}

export function revocationToString (rev: Revocation): string {
  return toBase64url(encodeRevocation(rev))
}

export function revocationFromString (text: string): Revocation {
  let bytes: Uint8Array
  try {
    bytes = fromBase64url(text, 'revocation')
  } catch (err) {
    throw new RevocationMalformedError('not base64url', { cause: err })
  }
  return decodeRevocation(bytes)
}

/** Wire-safe guard over the string form, bytes, or an object; never throws. */
export function parseRevocation (input: unknown): ParseResult<Revocation> {
  try {
    if (typeof input === 'string') return { ok: true, value: revocationFromString(input) }
    if (input instanceof Uint8Array) return { ok: true, value: decodeRevocation(input) }
    if (typeof input === 'object' && input !== null) return { ok: true, value: revocationFromTuple(revocationToTuple(input as Revocation)) }
    return { ok: false, error: new RevocationMalformedError(`expected a string, bytes or object, got ${input === null ? 'null' : typeof input}`) }
  } catch (err) {
    if (err instanceof RevocationMalformedError) return { ok: false, error: err }
    return { ok: false, error: new RevocationMalformedError(err instanceof WireFormatError ? err.message : 'invalid structure', { cause: err }) }
  }
}
