/**
 * Records that tie swarm-document authorship to member keys: an actor certificate binds a random
 * per-session Automerge actor id to the member key (actor ids must never be reused across
 * restarts), and signed heads let a peer vouch for the document state it produced.
 */
import type { ActorCertificate, MemberCertificate, ParseResult, RevokedKeys, SignedHeads, Signer, VerifiedMember } from './interfaces.ts'
import { ActorCertificateForgedError, ActorCertificateMalformedError, SignedHeadsMalformedError, WrongSwarmError } from './errors.ts'
import {
  WireFormatError, actorCertFromTuple, actorCertSignedBytes, actorCertToTuple, checkActorId, fromBase64url, headsFromTuple,
  headsSignedBytes, headsToTuple, pack, toBase64url, toHex, unpack,
} from './encoding.ts'
import { verifyCertificate } from './certificates.ts'
import { verifyHexSignature } from './keys.ts'

export interface ActorCertificateOptions {
  now?: number
  /** Embed the member certificate so the record verifies on its own. Default true. */
  embedCertificate?: boolean
}

/** Signs the binding of `actorId` (hex) to this member's key for `swarmId` (default: the certificate's). */
export function signActorCertificate (identity: Signer, cert: MemberCertificate, actorId: string, swarmId: string = cert.swarmId, opts: ActorCertificateOptions = {}): ActorCertificate {
  const memberPublicKey = toHex(identity.publicKey)
  if (cert.memberPublicKey !== memberPublicKey) throw new ActorCertificateForgedError(actorId, `the member certificate given is for ${cert.memberPublicKey.slice(0, 16)}…, not for this identity ${memberPublicKey.slice(0, 16)}…`)
  if (swarmId !== cert.swarmId) throw new WrongSwarmError('the member certificate used to certify an actor', swarmId, cert.swarmId)
  const ac: ActorCertificate = { v: 1, actorId, memberPublicKey, swarmId, issuedAt: opts.now ?? Date.now(), signature: '0'.repeat(128) }
  if (opts.embedCertificate !== false) ac.memberCertificate = cert
  let bytes: Uint8Array
  try {
    bytes = actorCertSignedBytes(ac)
  } catch (err) {
    throw new ActorCertificateMalformedError(err instanceof Error ? err.message : 'invalid field', { cause: err })
  }
  return { ...ac, signature: toHex(identity.sign(bytes)) }
}

export interface ActorVerifyOptions {
  swarmPublicKey: string | Uint8Array
  /** The actor id the changes carry; the certificate must bind exactly this one. */
  actorId?: string
  /** The member certificate when the record does not embed it (e.g. from the roster). */
  memberCertificate?: MemberCertificate
  /** When the member certificate must be valid. Default now; pass `issuedAt` to judge history. */
  now?: number
  revoked?: RevokedKeys
}

export interface VerifiedActor {
  actorId: string
  memberPublicKey: string
  member: VerifiedMember
}

/**
 * Checks the binding signature and the member's certificate chain. Throws
 * ActorCertificateForgedError, WrongSwarmError, or the certificate's own typed error
 * (expired, revoked, forged) so callers can report the precise reason.
 */
export function verifyActorCertificate (ac: ActorCertificate, opts: ActorVerifyOptions): VerifiedActor {
  if (opts.actorId !== undefined && opts.actorId !== ac.actorId) throw new ActorCertificateForgedError(opts.actorId, `it binds actor ${ac.actorId.slice(0, 16)}… instead`)
  const mc = ac.memberCertificate ?? opts.memberCertificate
  if (mc === undefined) throw new ActorCertificateForgedError(ac.actorId, 'no member certificate is embedded or given')
  if (mc.memberPublicKey !== ac.memberPublicKey) throw new ActorCertificateForgedError(ac.actorId, 'its member certificate is for another key')
  if (mc.swarmId !== ac.swarmId) throw new ActorCertificateForgedError(ac.actorId, 'its swarm differs from its member certificate\'s')
  let bytes: Uint8Array
  try {
    bytes = actorCertSignedBytes(ac)
  } catch (err) {
    throw new ActorCertificateMalformedError(err instanceof Error ? err.message : 'invalid field', { cause: err })
  }
  if (!verifyHexSignature(bytes, ac.signature, ac.memberPublicKey)) throw new ActorCertificateForgedError(ac.actorId, 'its signature does not verify (tampered or forged)')
  const vo = { swarmPublicKey: opts.swarmPublicKey, ...(opts.now !== undefined ? { now: opts.now } : {}), ...(opts.revoked !== undefined ? { revoked: opts.revoked } : {}) }
  const member = verifyCertificate(mc, vo)
  return { actorId: ac.actorId, memberPublicKey: ac.memberPublicKey, member }
}

export function encodeActorCertificate (ac: ActorCertificate): Uint8Array {
  try {
    return pack(actorCertToTuple(ac))
  } catch (err) {
    throw new ActorCertificateMalformedError(err instanceof Error ? err.message : 'invalid field', { cause: err })
  }
}

export function decodeActorCertificate (bytes: Uint8Array): ActorCertificate {
  try {
    return actorCertFromTuple(unpack(bytes))
  } catch (err) {
    throw new ActorCertificateMalformedError(err instanceof WireFormatError ? err.message : 'undecodable', { cause: err })
  }
}

export function actorCertificateToString (ac: ActorCertificate): string {
  return toBase64url(encodeActorCertificate(ac))
}

export function actorCertificateFromString (text: string): ActorCertificate {
  let bytes: Uint8Array
  try {
    bytes = fromBase64url(text, 'actor certificate')
  } catch (err) {
    throw new ActorCertificateMalformedError('not base64url', { cause: err })
  }
  return decodeActorCertificate(bytes)
}

/** Wire-safe guard over the string form, bytes, or an object; never throws. */
export function parseActorCertificate (input: unknown): ParseResult<ActorCertificate> {
  try {
    if (typeof input === 'string') return { ok: true, value: actorCertificateFromString(input) }
    if (input instanceof Uint8Array) return { ok: true, value: decodeActorCertificate(input) }
    if (typeof input === 'object' && input !== null) return { ok: true, value: actorCertFromTuple(actorCertToTuple(input as ActorCertificate)) }
    return { ok: false, error: new ActorCertificateMalformedError(`expected a string, bytes or object, got ${input === null ? 'null' : typeof input}`) }
  } catch (err) {
    if (err instanceof ActorCertificateMalformedError) return { ok: false, error: err }
    return { ok: false, error: new ActorCertificateMalformedError(err instanceof WireFormatError ? err.message : 'invalid structure', { cause: err }) }
  }
}

export { checkActorId as assertActorId }

// ---- heads -----------------------------------------------------------------------------------

/** Signs the document heads this member produced. Heads are sorted first (order carries no meaning). */
export function signHeads (identity: Signer, heads: string[]): SignedHeads {
  const memberPublicKey = toHex(identity.publicKey)
  const sorted = [...heads].sort()
  let bytes: Uint8Array
  try {
    bytes = headsSignedBytes(memberPublicKey, sorted)
  } catch (err) {
    throw new SignedHeadsMalformedError(err instanceof Error ? err.message : 'invalid heads', { cause: err })
  }
  return { v: 1, memberPublicKey, heads: sorted, signature: toHex(identity.sign(bytes)) }
}

/**
 * True when the heads were signed by `memberPublicKey` (default: the key the record names —
 * then the caller must still check that key is a member). Never throws.
 */
export function verifyHeads (signed: SignedHeads, memberPublicKey: string = signed.memberPublicKey): boolean {
  if (memberPublicKey !== signed.memberPublicKey) return false
  try {
    return verifyHexSignature(headsSignedBytes(signed.memberPublicKey, signed.heads), signed.signature, memberPublicKey)
  } catch {
    return false
  }
}

export function encodeSignedHeads (h: SignedHeads): Uint8Array {
  try {
    return pack(headsToTuple(h))
  } catch (err) {
    throw new SignedHeadsMalformedError(err instanceof Error ? err.message : 'invalid field', { cause: err })
  }
}

export function decodeSignedHeads (bytes: Uint8Array): SignedHeads {
  try {
    return headsFromTuple(unpack(bytes))
  } catch (err) {
    throw new SignedHeadsMalformedError(err instanceof WireFormatError ? err.message : 'undecodable', { cause: err })
  }
}

export function signedHeadsToString (h: SignedHeads): string {
  return toBase64url(encodeSignedHeads(h))
}

/** Wire-safe guard over the string form, bytes, or an object; never throws. */
export function parseSignedHeads (input: unknown): ParseResult<SignedHeads> {
  try {
    if (typeof input === 'string') return { ok: true, value: decodeSignedHeads(fromBase64url(input, 'signed heads')) }
    if (input instanceof Uint8Array) return { ok: true, value: decodeSignedHeads(input) }
    if (typeof input === 'object' && input !== null) return { ok: true, value: headsFromTuple(headsToTuple(input as SignedHeads)) }
    return { ok: false, error: new SignedHeadsMalformedError(`expected a string, bytes or object, got ${input === null ? 'null' : typeof input}`) }
  } catch (err) {
    if (err instanceof SignedHeadsMalformedError) return { ok: false, error: err }
    return { ok: false, error: new SignedHeadsMalformedError(err instanceof WireFormatError ? err.message : 'invalid structure', { cause: err }) }
  }
}
