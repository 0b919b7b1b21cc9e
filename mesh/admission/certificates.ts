import type { InviteDelegation, MemberCertificate, ParseResult, Signer, SwarmRoot, VerifiedMember, VerifyOptions } from './interfaces.ts'
import {
  CertificateChainTooLongError, CertificateExpiredError, CertificateForgedError, CertificateMalformedError,
  CertificateNotYetValidError, CertificateRevokedError, InviteAlreadyUsedError, InviteExpiredError, WrongSwarmError,
} from './errors.ts'
import {
  WireFormatError, certFromTuple, certSignedBytes, certToTuple, checkName, checkTokenList, claimsSignedBytes,
  fromBase64url, pack, toBase64url, toHex, unpack, fromHex,
} from './encoding.ts'
import { inviteIdFromPublicKey, swarmIdFromPublicKey, verifyHexSignature } from './keys.ts'

/** Longest chain accepted, the member's own certificate included. */
export const MAX_CHAIN_LENGTH = 8
/** Issuers backdate notBefore by this much so a verifier whose clock lags a little still accepts. */
export const BACKDATE_MS = 5 * 60_000
/** Default validity of a member certificate made from an invite. */
export const DEFAULT_CERT_TTL_MS = 365 * 24 * 3600_000
/** Default validity of the root-signed admin certificate made by `peer init`; invited certificates cannot outlive it. */
export const DEFAULT_ROOT_CERT_TTL_MS = 10 * 365 * 24 * 3600_000
export const ADMIN_ROLE = 'admin'
export const MEMBER_ROLE = 'member'

const ZERO_SIG = '0'.repeat(128)

/** Human-readable subject for messages: name plus a key prefix. */
export function describeCertificate (cert: Pick<MemberCertificate, 'name' | 'memberPublicKey'>): string {
  return `"${cert.name}" (${cert.memberPublicKey.slice(0, 16)}…)`
}

export interface RootCertificateOptions {
  swarmName?: string
  name: string
  /** Default ['admin', 'member']. */
  roles?: string[]
  caps?: string[]
  /** Default DEFAULT_ROOT_CERT_TTL_MS. */
  validityMs?: number
  now?: number
}

/** Signs a member certificate with the swarm root (used by `peer init` for this device). */
export function issueRootCertificate (root: SwarmRoot | Signer, memberPublicKey: Uint8Array | string, opts: RootCertificateOptions): MemberCertificate {
  const now = opts.now ?? Date.now()
  const cert: MemberCertificate = {
    v: 1,
    swarmId: swarmIdFromPublicKey(root.publicKey),
    memberPublicKey: typeof memberPublicKey === 'string' ? memberPublicKey : toHex(memberPublicKey),
    name: opts.name,
    roles: opts.roles ?? [ADMIN_ROLE, MEMBER_ROLE],
    caps: opts.caps ?? [],
    notBefore: Math.max(0, now - BACKDATE_MS),
    notAfter: now + (opts.validityMs ?? DEFAULT_ROOT_CERT_TTL_MS),
    issuerPublicKey: toHex(root.publicKey),
    signature: ZERO_SIG,
  }
  if (opts.swarmName !== undefined) cert.swarmName = opts.swarmName
  return signCertificate(cert, root)
}

/** Fills in the signature; validates every field first (throws CertificateMalformedError). */
export function signCertificate (cert: MemberCertificate, issuer: Signer): MemberCertificate {
  let bytes: Uint8Array
  try {
    bytes = certSignedBytes({ ...cert, signature: ZERO_SIG })
  } catch (err) {
    throw new CertificateMalformedError(err instanceof Error ? err.message : 'invalid field', { cause: err })
  }
  return { ...cert, signature: toHex(issuer.sign(bytes)) }
}

interface ChainContext {
  swarmPublicKey: string
  swarmId: string
  now: number
  skew: number
  revoked: VerifyOptions['revoked']
  /** The certificate the caller asked about; chain errors name it. */
  leaf: string
}

function contextOf (opts: VerifyOptions, leaf: string): ChainContext {
  let swarmPublicKey: string
  try {
    swarmPublicKey = typeof opts.swarmPublicKey === 'string' ? toHex(fromHex(opts.swarmPublicKey, 32, 'swarmPublicKey')) : toHex(fromHex(toHex(opts.swarmPublicKey), 32, 'swarmPublicKey'))
  } catch (err) {
    throw new CertificateMalformedError('the pinned swarm public key is not 32 bytes of hex; check membership.json', { cause: err })
  }
  return { swarmPublicKey, swarmId: swarmIdFromPublicKey(swarmPublicKey), now: opts.now ?? Date.now(), skew: opts.clockSkewMs ?? 0, revoked: opts.revoked, leaf }
}

/**
 * Verifies a member certificate offline against the pinned swarm public key: signatures along the
 * chain to the root, every issuer an admin, validity windows nested and current, invite claims
 * respected, nobody in the chain revoked. Throws the typed error of the first failure.
 */
export function verifyCertificate (cert: MemberCertificate, opts: VerifyOptions): VerifiedMember {
  const ctx = contextOf(opts, describeCertificate(cert))
  const chainLength = walk(cert, ctx, 1)
  const out: VerifiedMember = {
    memberPublicKey: cert.memberPublicKey,
    name: cert.name,
    roles: [...cert.roles],
    caps: [...cert.caps],
    notAfter: cert.notAfter,
    isAdmin: cert.roles.includes(ADMIN_ROLE),
    chainLength,
  }
  const inviteId = inviteIdOf(cert)
  if (inviteId !== undefined) out.inviteId = inviteId
  return out
}

/** Returns the chain length from this certificate to the root. */
function walk (cert: MemberCertificate, ctx: ChainContext, length: number): number {
  const subject = length === 1 ? ctx.leaf : `admin ${describeCertificate(cert)} in the chain of ${ctx.leaf}`
  if (length > MAX_CHAIN_LENGTH) throw new CertificateChainTooLongError(ctx.leaf, MAX_CHAIN_LENGTH)
  if (cert.swarmId !== ctx.swarmId) throw new WrongSwarmError(`certificate of ${subject}`, ctx.swarmId, cert.swarmId)
  if (ctx.revoked?.has(cert.memberPublicKey) === true) throw new CertificateRevokedError(ctx.leaf, cert.memberPublicKey, length > 1)
  if (cert.notBefore > cert.notAfter) throw new CertificateForgedError(subject, 'notBefore is after notAfter')
  if (ctx.now + ctx.skew < cert.notBefore) throw new CertificateNotYetValidError(subject, cert.notBefore, ctx.now)
  if (ctx.now > cert.notAfter) throw new CertificateExpiredError(subject, cert.notAfter, ctx.now)
  let signed: Uint8Array
  try {
    signed = certSignedBytes(cert)
  } catch (err) {
    throw new CertificateMalformedError(err instanceof Error ? err.message : 'invalid field', { cause: err })
  }
  if (cert.delegation === undefined) {
    if (cert.issuerPublicKey !== ctx.swarmPublicKey) throw new CertificateForgedError(subject, 'it is not signed by the swarm root and carries no invite delegation')
    if (!verifyHexSignature(signed, cert.signature, cert.issuerPublicKey)) throw new CertificateForgedError(subject, 'the swarm root signature does not verify (tampered or forged)')
    return length
  }
  const d = cert.delegation
  const c = d.claims
  // Revoking an invite's public key withdraws the invite (used or not) and every certificate made from it.
  if (ctx.revoked?.has(c.invitePublicKey) === true) throw new CertificateRevokedError(ctx.leaf, c.invitePublicKey, true)
  const chainLength = verifyDelegation(d, ctx, length, subject)
  if (cert.issuerPublicKey !== c.invitePublicKey) throw new CertificateForgedError(subject, 'it is not signed by the invite key its delegation names')
  if (!verifyHexSignature(signed, cert.signature, cert.issuerPublicKey)) throw new CertificateForgedError(subject, 'the invite-key signature does not verify (tampered or forged)')
  for (const r of cert.roles) if (!c.roles.includes(r)) throw new CertificateForgedError(subject, `role '${r}' was not granted by invite ${c.inviteId}`)
  if (c.caps !== undefined) for (const cap of cert.caps) if (!c.caps.includes(cap)) throw new CertificateForgedError(subject, `capability '${cap}' was not granted by invite ${c.inviteId}`)
  if (c.name !== undefined && cert.name !== c.name) throw new CertificateForgedError(subject, `invite ${c.inviteId} fixed the name "${c.name}"`)
  if (cert.notBefore < c.issuedAt - BACKDATE_MS || cert.notBefore > c.notAfter) throw new CertificateForgedError(subject, `it was made outside the validity of invite ${c.inviteId}`)
  if (cert.notAfter - cert.notBefore > c.certTtlMs + BACKDATE_MS) throw new CertificateForgedError(subject, `its validity exceeds the ${c.certTtlMs} ms invite ${c.inviteId} allows`)
  const sc = d.signerCertificate
  if (sc !== undefined && (cert.notBefore < sc.notBefore || cert.notAfter > sc.notAfter)) {
    throw new CertificateForgedError(subject, 'its validity is not inside the validity of the admin that invited it')
  }
  return chainLength
}

/**
 * Checks the admin-signed claims of an invite (shared by certificate and invite verification).
 * Returns the chain length including the certificate at `length`. Throws Certificate* errors; the
 * invite layer rewraps them.
 */
export function verifyDelegation (d: InviteDelegation, ctx: ChainContext, length: number, subject: string): number {
  const c = d.claims
  // The leaf's own swarm was checked already: claims naming another swarm mean a spliced chain.
  if (c.swarmPublicKey !== ctx.swarmPublicKey || c.swarmId !== ctx.swarmId) throw new CertificateForgedError(subject, `invite ${c.inviteId} was made for swarm ${c.swarmId}, not ${ctx.swarmId}`)
  if (inviteIdFromPublicKey(c.invitePublicKey) !== c.inviteId) throw new CertificateForgedError(subject, `invite id ${c.inviteId} does not match its invite key`)
  if (c.issuedAt > c.notAfter) throw new CertificateForgedError(subject, `invite ${c.inviteId} expires before it was issued`)
  if (ctx.revoked?.has(c.invitePublicKey) === true) throw new CertificateRevokedError(ctx.leaf, c.invitePublicKey, true)
  let chainLength = length
  const sc = d.signerCertificate
  if (sc === undefined) {
    if (d.signerPublicKey !== ctx.swarmPublicKey) throw new CertificateForgedError(subject, `invite ${c.inviteId} is signed by a key that is neither the swarm root nor backed by an admin certificate`)
  } else {
    if (sc.memberPublicKey !== d.signerPublicKey) throw new CertificateForgedError(subject, `invite ${c.inviteId} carries the certificate of another key than its signer`)
    try {
      chainLength = walk(sc, ctx, length + 1)
    } catch (err) {
      // An admin of another swarm signing claims for this one is a forgery, not a wrong-swarm mistake.
      if (err instanceof WrongSwarmError) throw new CertificateForgedError(subject, `invite ${c.inviteId} was signed by an admin of another swarm`, { cause: err })
      throw err
    }
    if (!sc.roles.includes(ADMIN_ROLE)) throw new CertificateForgedError(subject, `invite ${c.inviteId} was signed by ${describeCertificate(sc)}, which does not hold the admin role`)
    if (c.issuedAt < sc.notBefore || c.notAfter > sc.notAfter) throw new CertificateForgedError(subject, `invite ${c.inviteId} is valid outside its admin's certificate`)
  }
  let signed: Uint8Array
  try {
    signed = claimsSignedBytes(c)
  } catch (err) {
    throw new CertificateMalformedError(err instanceof Error ? err.message : 'invalid invite claims', { cause: err })
  }
  if (!verifyHexSignature(signed, d.signature, d.signerPublicKey)) throw new CertificateForgedError(subject, `the admin signature on invite ${c.inviteId} does not verify (tampered or forged)`)
  return chainLength
}

/** Internal door for invites.ts: same chain rules, invite-specific subject. */
export function verifyInviteDelegation (d: InviteDelegation, opts: VerifyOptions): number {
  const ctx = contextOf(opts, `invite ${d.claims.inviteId}`)
  // Length 1 is the certificate the invite will produce; its admin sits at 2.
  return verifyDelegation(d, ctx, 1, ctx.leaf)
}

export function isAdmin (cert: MemberCertificate): boolean {
  return cert.roles.includes(ADMIN_ROLE)
}

/** The invite a certificate was made from, or undefined for a root-signed certificate. */
export function inviteIdOf (cert: MemberCertificate): string | undefined {
  return cert.delegation?.claims.inviteId
}

/** Invite id → member public key (hex) that redeemed it, as recorded in the swarm document. */
export type RedeemedInvites = ReadonlyMap<string, string> | Readonly<Record<string, string>>

/**
 * "Usable once": the swarm document records which key redeemed each invite. Throws
 * InviteAlreadyUsedError when another key holds it. On a first redemption the invite must still
 * be open at `now`: the joiner chose its own notBefore, so only the admitting peer's clock can
 * enforce the invite's expiry. Certificates signed by the root directly pass.
 */
export function checkRedemption (cert: MemberCertificate, redeemed: RedeemedInvites | undefined, opts: { now?: number } = {}): void {
  const id = inviteIdOf(cert)
  if (id === undefined) return
  const prior = redeemed === undefined
    ? undefined
    : redeemed instanceof Map ? redeemed.get(id) : Object.hasOwn(redeemed, id) ? (redeemed as Record<string, string>)[id] : undefined
  if (prior !== undefined) {
    if (prior !== cert.memberPublicKey) throw new InviteAlreadyUsedError(id, prior)
    return
  }
  const now = opts.now ?? Date.now()
  const claims = (cert.delegation as InviteDelegation).claims
  if (now > claims.notAfter) throw new InviteExpiredError(id, claims.notAfter, now)
}

// ---- encodings -------------------------------------------------------------------------------

export function encodeCertificate (cert: MemberCertificate): Uint8Array {
  try {
    return pack(certToTuple(cert))
  } catch (err) {
    throw new CertificateMalformedError(err instanceof Error ? err.message : 'invalid field', { cause: err })
  }
}

/** Throws CertificateMalformedError. */
export function decodeCertificate (bytes: Uint8Array): MemberCertificate {
  try {
    return certFromTuple(unpack(bytes))
  } catch (err) {
    throw new CertificateMalformedError(err instanceof WireFormatError ? err.message : 'undecodable', { cause: err })
  }
}

/** The string form the swarm document and membership.json store: base64url of the encoding. */
export function certificateToString (cert: MemberCertificate): string {
  return toBase64url(encodeCertificate(cert))
}

export function certificateFromString (text: string): MemberCertificate {
  let bytes: Uint8Array
  try {
    bytes = fromBase64url(text, 'certificate')
  } catch (err) {
    throw new CertificateMalformedError('not base64url', { cause: err })
  }
  return decodeCertificate(bytes)
}

/**
 * Wire-safe guard: accepts the string form, the bytes, or an object shaped like a certificate
 * (e.g. out of JSON); never throws. Structure only: call verifyCertificate for trust.
 */
export function parseCertificate (input: unknown): ParseResult<MemberCertificate> {
  try {
    if (typeof input === 'string') return { ok: true, value: certificateFromString(input) }
    if (input instanceof Uint8Array) return { ok: true, value: decodeCertificate(input) }
    if (typeof input === 'object' && input !== null) return { ok: true, value: certFromTuple(certToTuple(input as MemberCertificate)) }
    return { ok: false, error: new CertificateMalformedError(`expected a string, bytes or object, got ${input === null ? 'null' : typeof input}`) }
  } catch (err) {
    if (err instanceof CertificateMalformedError) return { ok: false, error: err }
    return { ok: false, error: new CertificateMalformedError(err instanceof WireFormatError ? err.message : 'invalid structure', { cause: err }) }
  }
}

export { checkName, checkTokenList }
