/**
 * Canonical wire forms. Every record travels as a msgpack fixed-order tuple (never a map, whose
 * key order could vary between encoders); signatures cover a domain tag plus the tuple of signed
 * fields re-encoded from the parsed values, so a non-canonical encoding on the wire cannot change
 * what a signature means. Keys and signatures are msgpack binary on the wire, hex in memory.
 */
import { Packr, Unpackr } from 'msgpackr'
import { SwarmflowError } from '../../common/errors.ts'
import type { ActorCertificate, InviteClaims, InviteDelegation, Invite, MemberCertificate, Revocation, SignedHeads } from './interfaces.ts'

/** Raised inside decoders; public parsers wrap it in the record's own Malformed error. */
export class WireFormatError extends SwarmflowError {}

/** Largest encoded record accepted (a full 8-deep chain is ≈ 5 KiB). */
export const MAX_RECORD_BYTES = 64 * 1024
export const MAX_LIST_ITEMS = 64
export const MAX_NAME_CHARS = 64
export const MAX_REASON_CHARS = 512
export const MAX_BOOTSTRAP_ADDRS = 32
export const MAX_HEADS = 256

// useRecords/moreTypes off: plain msgpack only, so the encoding is stable and portable.
const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false, variableMapSize: true })
const unpackr = new Unpackr({ useRecords: false, moreTypes: false, mapsAsObjects: true, int64AsType: 'number' })

/** Encodes and copies out of msgpackr's shared pool buffer. */
export function pack (value: unknown): Uint8Array {
  return new Uint8Array(packr.pack(value))
}

export function unpack (bytes: Uint8Array): unknown {
  if (!(bytes instanceof Uint8Array)) throw new WireFormatError('expected bytes')
  if (bytes.length > MAX_RECORD_BYTES) throw new WireFormatError(`${bytes.length} bytes exceeds the ${MAX_RECORD_BYTES}-byte limit`)
  if (bytes.length === 0) throw new WireFormatError('empty input')
  try {
    return unpackr.unpack(bytes)
  } catch (err) {
    throw new WireFormatError('not msgpack', { cause: err })
  }
}

// ---- primitives ------------------------------------------------------------------------------

const HEX_RE = /^[0-9a-f]*$/
const B64URL_RE = /^[A-Za-z0-9_-]*$/

export function toHex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** Strict: lowercase, exact length; throws WireFormatError. */
export function fromHex (hex: unknown, bytes: number, field: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length !== bytes * 2 || !HEX_RE.test(hex)) {
    throw new WireFormatError(`${field} must be ${bytes} bytes of lowercase hex`)
  }
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

export function isHexKey (value: unknown): value is string {
  return typeof value === 'string' && value.length === 64 && HEX_RE.test(value)
}

export function toBase64url (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

/** Strict: Node's decoder silently skips foreign characters, so check the alphabet first. */
export function fromBase64url (text: unknown, field: string): Uint8Array {
  if (typeof text !== 'string' || !B64URL_RE.test(text) || text.length % 4 === 1) {
    throw new WireFormatError(`${field} is not base64url`)
  }
  if (text.length > Math.ceil(MAX_RECORD_BYTES * 4 / 3)) throw new WireFormatError(`${field} is too long`)
  return new Uint8Array(Buffer.from(text, 'base64url'))
}

const B32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** RFC 4648 base32, lowercase, no padding. */
export function toBase32 (bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let acc = 0
  for (const b of bytes) {
    acc = (acc << 8) | b
    bits += 8
    while (bits >= 5) {
      out += B32[(acc >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31]
  return out
}

function bin (value: unknown, bytes: number, field: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== bytes) throw new WireFormatError(`${field} must be ${bytes} bytes`)
  return value
}

function str (value: unknown, field: string, max: number, min = 1): string {
  if (typeof value !== 'string' || value.length < min || value.length > max) throw new WireFormatError(`${field} must be a string of ${min}–${max} characters`)
  return value
}

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/

/** Display names: printable, 1–64 characters. */
export function checkName (value: unknown, field: string): string {
  const s = str(value, field, MAX_NAME_CHARS)
  if (CONTROL_RE.test(s) || s.trim() !== s) throw new WireFormatError(`${field} must be printable without leading or trailing spaces`)
  return s
}

const TOKEN_RE = /^[A-Za-z0-9][A-Za-z0-9._:=/-]{0,63}$/

/** Roles and capabilities: short tokens, unique, at most 64. */
export function checkTokenList (value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_LIST_ITEMS) throw new WireFormatError(`${field} must be a list of at most ${MAX_LIST_ITEMS}`)
  const seen = new Set<string>()
  for (const item of value) {
    if (typeof item !== 'string' || !TOKEN_RE.test(item)) throw new WireFormatError(`${field} entries must match ${TOKEN_RE.source}`)
    if (seen.has(item)) throw new WireFormatError(`${field} has duplicate ${item}`)
    seen.add(item)
  }
  return [...value] as string[]
}

function time (value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new WireFormatError(`${field} must be a non-negative integer (Unix ms)`)
  return value
}

function optional<T> (value: unknown, f: (v: unknown) => T): T | undefined {
  return value === null || value === undefined ? undefined : f(value)
}

function tuple (value: unknown, length: number, field: string): unknown[] {
  if (!Array.isArray(value) || value.length !== length) throw new WireFormatError(`${field} must be a ${length}-element tuple`)
  if (value[0] !== 1) throw new WireFormatError(`${field} has unsupported version ${String(value[0])}; upgrade this peer`)
  return value
}

const SWARM_ID_RE = /^[a-z2-7]{16}$/
export function checkSwarmId (value: unknown, field = 'swarmId'): string {
  if (typeof value !== 'string' || !SWARM_ID_RE.test(value)) throw new WireFormatError(`${field} must be 16 base32 characters`)
  return value
}

const INVITE_ID_RE = /^[a-z2-7]{16}$/
function checkInviteId (value: unknown): string {
  if (typeof value !== 'string' || !INVITE_ID_RE.test(value)) throw new WireFormatError('inviteId must be 16 base32 characters')
  return value
}

const ACTOR_RE = /^[0-9a-f]{2,128}$/
export function checkActorId (value: unknown): string {
  if (typeof value !== 'string' || !ACTOR_RE.test(value) || value.length % 2 !== 0) throw new WireFormatError('actorId must be 1–64 bytes of lowercase hex')
  return value
}

const HEAD_RE = /^[0-9a-f]{64}$/

// ---- member certificate ----------------------------------------------------------------------

export function certToTuple (c: MemberCertificate): unknown[] {
  return [1, checkSwarmId(c.swarmId), c.swarmName === undefined ? null : checkName(c.swarmName, 'swarmName'),
    fromHex(c.memberPublicKey, 32, 'memberPublicKey'), checkName(c.name, 'name'), checkTokenList(c.roles, 'roles'),
    checkTokenList(c.caps, 'caps'), time(c.notBefore, 'notBefore'), time(c.notAfter, 'notAfter'),
    fromHex(c.issuerPublicKey, 32, 'issuerPublicKey'), fromHex(c.signature, 64, 'signature'),
    c.delegation === undefined ? null : delegationToTuple(c.delegation)]
}

export function certFromTuple (t: unknown, depth = 0): MemberCertificate {
  // Chains are verified to 8; the decoder stops runaway nesting a little above that.
  if (depth > 10) throw new WireFormatError('certificate chain nested too deep')
  const a = tuple(t, 12, 'certificate')
  const c: MemberCertificate = {
    v: 1,
    swarmId: checkSwarmId(a[1]),
    memberPublicKey: toHex(bin(a[3], 32, 'memberPublicKey')),
    name: checkName(a[4], 'name'),
    roles: checkTokenList(a[5], 'roles'),
    caps: checkTokenList(a[6], 'caps'),
    notBefore: time(a[7], 'notBefore'),
    notAfter: time(a[8], 'notAfter'),
    issuerPublicKey: toHex(bin(a[9], 32, 'issuerPublicKey')),
    signature: toHex(bin(a[10], 64, 'signature')),
  }
  const swarmName = optional(a[2], v => checkName(v, 'swarmName'))
  if (swarmName !== undefined) c.swarmName = swarmName
  const delegation = optional(a[11], v => delegationFromTuple(v, depth))
  if (delegation !== undefined) c.delegation = delegation
  return c
}

/** The bytes the issuer signs. */
export function certSignedBytes (c: MemberCertificate): Uint8Array {
  const t = certToTuple(c)
  return pack(['swarmflow/cert/v1', ...t.slice(1, 10), t[11] === null ? null : pack(t[11])])
}

export function claimsToTuple (c: InviteClaims): unknown[] {
  return [1, checkInviteId(c.inviteId), checkSwarmId(c.swarmId), fromHex(c.swarmPublicKey, 32, 'swarmPublicKey'),
    c.swarmName === undefined ? null : checkName(c.swarmName, 'swarmName'), fromHex(c.invitePublicKey, 32, 'invitePublicKey'),
    c.name === undefined ? null : checkName(c.name, 'name'), c.caps === undefined ? null : checkTokenList(c.caps, 'caps'),
    checkTokenList(c.roles, 'roles'), time(c.issuedAt, 'issuedAt'), time(c.notAfter, 'notAfter'), time(c.certTtlMs, 'certTtlMs')]
}

export function claimsFromTuple (t: unknown): InviteClaims {
  const a = tuple(t, 12, 'invite claims')
  const c: InviteClaims = {
    v: 1,
    inviteId: checkInviteId(a[1]),
    swarmId: checkSwarmId(a[2]),
    swarmPublicKey: toHex(bin(a[3], 32, 'swarmPublicKey')),
    invitePublicKey: toHex(bin(a[5], 32, 'invitePublicKey')),
    roles: checkTokenList(a[8], 'roles'),
    issuedAt: time(a[9], 'issuedAt'),
    notAfter: time(a[10], 'notAfter'),
    certTtlMs: time(a[11], 'certTtlMs'),
  }
  const swarmName = optional(a[4], v => checkName(v, 'swarmName'))
  if (swarmName !== undefined) c.swarmName = swarmName
  const name = optional(a[6], v => checkName(v, 'name'))
  if (name !== undefined) c.name = name
  const caps = optional(a[7], v => checkTokenList(v, 'caps'))
  if (caps !== undefined) c.caps = caps
  return c
}

export function claimsSignedBytes (c: InviteClaims): Uint8Array {
  return pack(['swarmflow/invite/v1', ...claimsToTuple(c).slice(1)])
}

function delegationToTuple (d: InviteDelegation): unknown[] {
  return [1, claimsToTuple(d.claims), fromHex(d.signerPublicKey, 32, 'signerPublicKey'), fromHex(d.signature, 64, 'delegation signature'),
    d.signerCertificate === undefined ? null : certToTuple(d.signerCertificate)]
}

function delegationFromTuple (t: unknown, depth: number): InviteDelegation {
  const a = tuple(t, 5, 'delegation')
  const d: InviteDelegation = {
    claims: claimsFromTuple(a[1]),
    signerPublicKey: toHex(bin(a[2], 32, 'signerPublicKey')),
    signature: toHex(bin(a[3], 64, 'delegation signature')),
  }
  const signerCertificate = optional(a[4], v => certFromTuple(v, depth + 1))
  if (signerCertificate !== undefined) d.signerCertificate = signerCertificate
  return d
}

// ---- invite token ----------------------------------------------------------------------------

export function inviteToTuple (i: Invite): unknown[] {
  return [1, bin(i.seed, 32, 'invite seed'), delegationToTuple(i.delegation), checkBootstrap(i.bootstrap)]
}

export function inviteFromTuple (t: unknown): Invite {
  const a = tuple(t, 4, 'invite')
  return { v: 1, seed: new Uint8Array(bin(a[1], 32, 'invite seed')), delegation: delegationFromTuple(a[2], 0), bootstrap: checkBootstrap(a[3]) }
}

export function checkBootstrap (value: unknown): string[] {
  if (!Array.isArray(value) || value.length > MAX_BOOTSTRAP_ADDRS) throw new WireFormatError(`bootstrap must be a list of at most ${MAX_BOOTSTRAP_ADDRS} multiaddrs`)
  for (const a of value) {
    if (typeof a !== 'string' || !a.startsWith('/') || a.length > 512 || CONTROL_RE.test(a) || /\s/.test(a)) throw new WireFormatError('bootstrap entries must be multiaddr strings')
  }
  return [...value] as string[]
}

// ---- revocation ------------------------------------------------------------------------------

export function revocationToTuple (r: Revocation): unknown[] {
  return [1, checkSwarmId(r.swarmId), fromHex(r.memberPublicKey, 32, 'memberPublicKey'), str(r.reason, 'reason', MAX_REASON_CHARS, 0),
    time(r.at, 'at'), fromHex(r.issuerPublicKey, 32, 'issuerPublicKey'), fromHex(r.signature, 64, 'signature'),
    r.chain === undefined ? null : certToTuple(r.chain)]
}

export function revocationFromTuple (t: unknown): Revocation {
  const a = tuple(t, 8, 'revocation')
  const r: Revocation = {
    v: 1,
    swarmId: checkSwarmId(a[1]),
    memberPublicKey: toHex(bin(a[2], 32, 'memberPublicKey')),
    reason: str(a[3], 'reason', MAX_REASON_CHARS, 0),
    at: time(a[4], 'at'),
    issuerPublicKey: toHex(bin(a[5], 32, 'issuerPublicKey')),
    signature: toHex(bin(a[6], 64, 'signature')),
  }
  const chain = optional(a[7], v => certFromTuple(v, 1))
  if (chain !== undefined) r.chain = chain
  return r
}

export function revocationSignedBytes (r: Revocation): Uint8Array {
  return pack(['swarmflow/revocation/v1', ...revocationToTuple(r).slice(1, 6)])
}

// ---- actor certificate -----------------------------------------------------------------------

export function actorCertToTuple (c: ActorCertificate): unknown[] {
  return [1, checkActorId(c.actorId), fromHex(c.memberPublicKey, 32, 'memberPublicKey'), checkSwarmId(c.swarmId),
    time(c.issuedAt, 'issuedAt'), fromHex(c.signature, 64, 'signature'),
    c.memberCertificate === undefined ? null : certToTuple(c.memberCertificate)]
}

export function actorCertFromTuple (t: unknown): ActorCertificate {
  const a = tuple(t, 7, 'actor certificate')
  const c: ActorCertificate = {
    v: 1,
    actorId: checkActorId(a[1]),
    memberPublicKey: toHex(bin(a[2], 32, 'memberPublicKey')),
    swarmId: checkSwarmId(a[3]),
    issuedAt: time(a[4], 'issuedAt'),
    signature: toHex(bin(a[5], 64, 'signature')),
  }
  const mc = optional(a[6], v => certFromTuple(v, 1))
  if (mc !== undefined) c.memberCertificate = mc
  return c
}

export function actorCertSignedBytes (c: ActorCertificate): Uint8Array {
  return pack(['swarmflow/actor/v1', ...actorCertToTuple(c).slice(1, 5)])
}

// ---- signed heads ----------------------------------------------------------------------------

export function checkHeads (value: unknown): string[] {
  if (!Array.isArray(value) || value.length > MAX_HEADS) throw new WireFormatError(`heads must be a list of at most ${MAX_HEADS}`)
  for (const h of value) if (typeof h !== 'string' || !HEAD_RE.test(h)) throw new WireFormatError('heads must be 32-byte lowercase hex hashes')
  return [...value] as string[]
}

export function headsToTuple (h: SignedHeads): unknown[] {
  return [1, fromHex(h.memberPublicKey, 32, 'memberPublicKey'), checkHeads(h.heads).map(x => fromHex(x, 32, 'head')), fromHex(h.signature, 64, 'signature')]
}

export function headsFromTuple (t: unknown): SignedHeads {
  const a = tuple(t, 4, 'signed heads')
  if (!Array.isArray(a[2]) || a[2].length > MAX_HEADS) throw new WireFormatError(`heads must be a list of at most ${MAX_HEADS}`)
  return {
    v: 1,
    memberPublicKey: toHex(bin(a[1], 32, 'memberPublicKey')),
    heads: a[2].map((x: unknown) => toHex(bin(x, 32, 'head'))),
    signature: toHex(bin(a[3], 64, 'signature')),
  }
}

export function headsSignedBytes (memberPublicKey: string, heads: string[]): Uint8Array {
  return pack(['swarmflow/heads/v1', fromHex(memberPublicKey, 32, 'memberPublicKey'), checkHeads(heads).map(x => fromHex(x, 32, 'head'))])
}
