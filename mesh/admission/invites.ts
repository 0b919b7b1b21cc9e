import { UsageError } from '../../common/errors.ts'
import type { Invite, InviteClaims, InviteDelegation, MemberCertificate, MembershipState, ParseResult, RevokedKeys, Signer } from './interfaces.ts'
import {
  CertificateMalformedError, InviteExpiredError, InviteForgedError, InviteMalformedError, NotAdminError, WrongSwarmError,
} from './errors.ts'
import {
  WireFormatError, checkBootstrap, checkName, checkTokenList, claimsSignedBytes, fromBase64url, fromHex, inviteFromTuple,
  inviteToTuple, pack, toBase64url, toHex, unpack,
} from './encoding.ts'
import {
  ADMIN_ROLE, BACKDATE_MS, DEFAULT_CERT_TTL_MS, MEMBER_ROLE, describeCertificate, signCertificate, verifyCertificate,
  verifyInviteDelegation,
} from './certificates.ts'
import { inviteIdFromPublicKey, randomSeed, signerFromSeed, swarmIdFromPublicKey } from './keys.ts'

/** Tokens start with this: format version 1, then base64url(msgpack). */
export const INVITE_TOKEN_PREFIX = 'sf1.'
export const MAX_INVITE_TOKEN_CHARS = 16 * 1024
export const DEFAULT_INVITE_TTL_MS = 3600_000

export interface InviteOptions {
  /** The pinned swarm public key (hex) of the admin's membership. */
  swarmPublicKey: string
  swarmName?: string
  /** Fix the joiner's name; leave undefined to let the joiner choose. */
  name?: string
  /** Capabilities the joiner may claim; undefined leaves them open. */
  caps?: string[]
  /** Grant the admin role (`peer invite --admin`). Ignored when `roles` is given. */
  admin?: boolean
  /** Explicit roles; default ['member'] or ['admin', 'member'] with `admin`. */
  roles?: string[]
  /** How long the invite can be redeemed. Default 1 h. */
  ttlMs?: number
  /** Longest validity of the resulting member certificate. Default 1 year (and never past the admin's own). */
  certTtlMs?: number
  /** Multiaddrs the joiner should dial. */
  bootstrap?: string[]
  now?: number
}

export interface CreatedInvite {
  token: string
  invite: Invite
  inviteId: string
  notAfter: number
}

/**
 * Makes a one-time invite (`peer invite`). `adminCert` is the admin's member certificate, or
 * undefined when the swarm root itself signs (the init device may do either). The token carries
 * the one-time key's seed: anyone holding it can join once, so print it, never log it.
 */
export function createInvite (admin: Signer, adminCert: MemberCertificate | undefined, opts: InviteOptions): CreatedInvite {
  const now = opts.now ?? Date.now()
  const adminKey = toHex(admin.publicKey)
  let swarmPublicKey: string
  try {
    swarmPublicKey = toHex(fromHex(opts.swarmPublicKey, 32, 'swarmPublicKey'))
  } catch (err) {
    throw new UsageError('the swarm public key given to createInvite is not 32 bytes of lowercase hex; pass membership.swarmPublicKey', { cause: err })
  }
  let notAfterCap = Number.MAX_SAFE_INTEGER
  if (adminCert === undefined) {
    if (adminKey !== swarmPublicKey) throw new NotAdminError('making an invite', `key ${adminKey.slice(0, 16)}… (no admin certificate, not the swarm root)`)
  } else {
    if (adminCert.memberPublicKey !== adminKey) throw new NotAdminError('making an invite', `key ${adminKey.slice(0, 16)}… (the certificate given is for ${describeCertificate(adminCert)})`)
    // Fails early with the precise reason (expired, revoked…) instead of minting a dead token.
    verifyCertificate(adminCert, { swarmPublicKey, now })
    if (!adminCert.roles.includes(ADMIN_ROLE)) throw new NotAdminError('making an invite', describeCertificate(adminCert))
    notAfterCap = adminCert.notAfter
  }
  const ttl = opts.ttlMs ?? DEFAULT_INVITE_TTL_MS
  const certTtl = opts.certTtlMs ?? DEFAULT_CERT_TTL_MS
  if (!Number.isSafeInteger(ttl) || ttl <= 0) throw new UsageError(`invite ttl must be a positive number of milliseconds, got ${ttl}`)
  if (!Number.isSafeInteger(certTtl) || certTtl <= 0) throw new UsageError(`certificate ttl must be a positive number of milliseconds, got ${certTtl}`)
  const seed = randomSeed()
  const inviteKey = signerFromSeed(seed)
  const claims: InviteClaims = {
    v: 1,
    inviteId: inviteIdFromPublicKey(inviteKey.publicKey),
    swarmId: swarmIdFromPublicKey(swarmPublicKey),
    swarmPublicKey,
    invitePublicKey: toHex(inviteKey.publicKey),
    roles: opts.roles ?? (opts.admin === true ? [ADMIN_ROLE, MEMBER_ROLE] : [MEMBER_ROLE]),
    issuedAt: now,
    notAfter: Math.min(now + ttl, notAfterCap),
    certTtlMs: certTtl,
  }
  const swarmName = opts.swarmName ?? adminCert?.swarmName
  if (swarmName !== undefined) claims.swarmName = swarmName
  if (opts.name !== undefined) claims.name = opts.name
  if (opts.caps !== undefined) claims.caps = opts.caps
  let signed: Uint8Array
  try {
    signed = claimsSignedBytes(claims)
    checkBootstrap(opts.bootstrap ?? [])
  } catch (err) {
    throw new UsageError(`cannot make the invite: ${err instanceof Error ? err.message : 'invalid option'}`, { cause: err })
  }
  const delegation: InviteDelegation = { claims, signerPublicKey: adminKey, signature: toHex(admin.sign(signed)) }
  if (adminCert !== undefined) delegation.signerCertificate = adminCert
  const invite: Invite = { v: 1, seed, delegation, bootstrap: [...(opts.bootstrap ?? [])] }
  return { token: encodeInviteToken(invite), invite, inviteId: claims.inviteId, notAfter: claims.notAfter }
}

export function encodeInviteToken (invite: Invite): string {
  try {
    return INVITE_TOKEN_PREFIX + toBase64url(pack(inviteToTuple(invite)))
  } catch (err) {
    throw new InviteMalformedError(err instanceof Error ? err.message : 'invalid field', { cause: err })
  }
}

/** Decodes a token (structure only; see verifyInvite). Throws InviteMalformedError. */
export function decodeInviteToken (token: unknown): Invite {
  if (typeof token !== 'string') throw new InviteMalformedError('not a string')
  const t = token.trim()
  if (!t.startsWith(INVITE_TOKEN_PREFIX)) throw new InviteMalformedError(`it does not start with "${INVITE_TOKEN_PREFIX}"`)
  if (t.length > MAX_INVITE_TOKEN_CHARS) throw new InviteMalformedError(`longer than ${MAX_INVITE_TOKEN_CHARS} characters`)
  let invite: Invite
  try {
    invite = inviteFromTuple(unpack(fromBase64url(t.slice(INVITE_TOKEN_PREFIX.length), 'token')))
  } catch (err) {
    throw new InviteMalformedError(err instanceof WireFormatError ? err.message : 'undecodable', { cause: err })
  }
  // The seed must be the key the admin signed for, or the token was spliced together.
  if (toHex(signerFromSeed(invite.seed).publicKey) !== invite.delegation.claims.invitePublicKey) {
    throw new InviteMalformedError('its key does not match the key the admin signed')
  }
  return invite
}

/** Wire-safe: never throws. */
export function parseInviteToken (token: unknown): ParseResult<Invite> {
  try {
    return { ok: true, value: decodeInviteToken(token) }
  } catch (err) {
    return { ok: false, error: err instanceof InviteMalformedError ? err : new InviteMalformedError('undecodable', { cause: err }) }
  }
}

export interface InviteVerifyOptions {
  /** The pinned swarm key when the verifier already belongs to a swarm; a joiner pins the token's. */
  swarmPublicKey?: string
  now?: number
  revoked?: RevokedKeys
}

/** What an invite offers, after verification. */
export interface InviteSummary {
  inviteId: string
  swarmId: string
  swarmName?: string
  swarmPublicKey: string
  name?: string
  caps?: string[]
  roles: string[]
  notAfter: number
  certTtlMs: number
  bootstrap: string[]
  /** Public key (hex) of the admin, or of the swarm root, that signed the invite. */
  issuedBy: string
  issuedByName?: string
}

/**
 * Checks an invite offline: the claims are signed by a valid admin of the swarm (chain to the
 * root), and the invite is still open. Throws WrongSwarmError, InviteForgedError,
 * InviteExpiredError, InviteMalformedError.
 */
export function verifyInvite (invite: Invite, opts: InviteVerifyOptions = {}): InviteSummary {
  const c = invite.delegation.claims
  const now = opts.now ?? Date.now()
  const swarmPublicKey = opts.swarmPublicKey ?? c.swarmPublicKey
  if (opts.swarmPublicKey !== undefined && c.swarmPublicKey !== opts.swarmPublicKey) {
    throw new WrongSwarmError(`invite ${c.inviteId}`, swarmIdFromPublicKey(opts.swarmPublicKey), c.swarmId)
  }
  try {
    const verifyOpts = opts.revoked === undefined ? { swarmPublicKey, now } : { swarmPublicKey, now, revoked: opts.revoked }
    verifyInviteDelegation(invite.delegation, verifyOpts)
  } catch (err) {
    if (err instanceof CertificateMalformedError) throw new InviteMalformedError(err.message, { cause: err })
    throw new InviteForgedError(c.inviteId, err instanceof Error ? err.message : 'chain does not verify', { cause: err })
  }
  if (now > c.notAfter) throw new InviteExpiredError(c.inviteId, c.notAfter, now)
  const s: InviteSummary = {
    inviteId: c.inviteId,
    swarmId: c.swarmId,
    swarmPublicKey: c.swarmPublicKey,
    roles: [...c.roles],
    notAfter: c.notAfter,
    certTtlMs: c.certTtlMs,
    bootstrap: [...invite.bootstrap],
    issuedBy: invite.delegation.signerPublicKey,
  }
  if (c.swarmName !== undefined) s.swarmName = c.swarmName
  if (c.name !== undefined) s.name = c.name
  if (c.caps !== undefined) s.caps = [...c.caps]
  if (invite.delegation.signerCertificate !== undefined) s.issuedByName = invite.delegation.signerCertificate.name
  return s
}

export interface RedeemOptions {
  /** Used only when the invite left the name open; default "member-<key prefix>". */
  name?: string
  /** Default: every capability the invite grants (none when it left them open). */
  caps?: string[]
  /** Default: every role the invite grants. */
  roles?: string[]
  now?: number
  /** Set when the joiner already knows which swarm it expects. */
  swarmPublicKey?: string
}

export interface Redeemed {
  certificate: MemberCertificate
  /** Ready for saveMembership. */
  membership: MembershipState
  summary: InviteSummary
}

/**
 * `peer join <token>`: verifies the invite, then signs a member certificate for the joiner's own
 * key with the one-time invite key. No admin needs to be online. "Usable once" is enforced
 * later by the swarm document (checkRedemption).
 */
export function redeemInvite (invite: Invite, joiner: Signer, opts: RedeemOptions = {}): Redeemed {
  const now = opts.now ?? Date.now()
  const verifyOpts: InviteVerifyOptions = opts.swarmPublicKey === undefined ? { now } : { now, swarmPublicKey: opts.swarmPublicKey }
  const summary = verifyInvite(invite, verifyOpts)
  const c = invite.delegation.claims
  const memberPublicKey = toHex(joiner.publicKey)
  const name = c.name ?? opts.name ?? `member-${memberPublicKey.slice(0, 8)}`
  const roles = opts.roles ?? c.roles
  const caps = opts.caps ?? c.caps ?? []
  try {
    checkName(name, 'name')
    checkTokenList(roles, 'roles')
    checkTokenList(caps, 'caps')
  } catch (err) {
    throw new UsageError(`cannot join: ${err instanceof Error ? err.message : 'invalid option'}`, { cause: err })
  }
  for (const r of roles) if (!c.roles.includes(r)) throw new UsageError(`cannot join with role '${r}': invite ${c.inviteId} grants only ${c.roles.join(', ') || 'no roles'}`)
  if (c.caps !== undefined) for (const cap of caps) if (!c.caps.includes(cap)) throw new UsageError(`cannot join with capability '${cap}': invite ${c.inviteId} grants only ${c.caps.join(', ') || 'none'}`)
  const sc = invite.delegation.signerCertificate
  const notBefore = Math.max(now - BACKDATE_MS, c.issuedAt - BACKDATE_MS, sc?.notBefore ?? 0, 0)
  const notAfter = Math.min(now + c.certTtlMs, sc?.notAfter ?? Number.MAX_SAFE_INTEGER)
  const unsigned: MemberCertificate = {
    v: 1,
    swarmId: c.swarmId,
    memberPublicKey,
    name,
    roles: [...roles],
    caps: [...caps],
    notBefore,
    notAfter,
    issuerPublicKey: c.invitePublicKey,
    signature: '0'.repeat(128),
    delegation: invite.delegation,
  }
  if (c.swarmName !== undefined) unsigned.swarmName = c.swarmName
  const certificate = signCertificate(unsigned, signerFromSeed(invite.seed))
  // Self-check: a certificate this library makes must pass this library's verifier.
  verifyCertificate(certificate, { swarmPublicKey: c.swarmPublicKey, now })
  const membership: MembershipState = {
    v: 1,
    swarmName: c.swarmName ?? c.swarmId,
    swarmId: c.swarmId,
    swarmPublicKey: c.swarmPublicKey,
    certificate,
  }
  if (invite.bootstrap.length > 0) membership.bootstrap = [...invite.bootstrap]
  return { certificate, membership, summary }
}
