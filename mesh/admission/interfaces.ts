/**
 * Contracts of swarm admission: member certificates, invites, revocations and the records that
 * bind document authorship to member keys. Types only; implementations live beside this file.
 *
 * Public keys and signatures are lowercase hex strings in memory (easy to compare, log and store
 * in the swarm document); on the wire they travel as msgpack binary inside fixed-order tuples.
 * Times are Unix milliseconds.
 */

/** Anything that can sign with an ed25519 key: a device identity, the swarm root, an invite key. */
export interface Signer {
  /** 32-byte ed25519 public key. */
  readonly publicKey: Uint8Array
  /** 64-byte detached ed25519 signature. */
  sign(message: Uint8Array): Uint8Array
}

/** The swarm trust anchor. Exists only on the device that ran `peer init`. */
export interface SwarmRoot extends Signer {
  readonly seed: Uint8Array
  readonly publicKeyHex: string
  /** Derived from the public key, see `swarmIdFromPublicKey`. */
  readonly swarmId: string
}

/**
 * What an admin signs when it makes an invite. The joiner later signs its own member certificate
 * with the one-time invite key; these claims bound what that certificate may say.
 */
export interface InviteClaims {
  v: 1
  /** Derived from the invite public key (see `inviteIdFromPublicKey`). */
  inviteId: string
  swarmId: string
  swarmPublicKey: string
  swarmName?: string
  invitePublicKey: string
  /** Fixed member name; undefined leaves the name to the joiner. */
  name?: string
  /** Capabilities the joiner may claim; undefined leaves them open. */
  caps?: string[]
  /** Roles the joiner's certificate may hold (it may hold fewer). */
  roles: string[]
  issuedAt: number
  /** The invite cannot be redeemed after this. */
  notAfter: number
  /** Longest validity of the certificate made from this invite. */
  certTtlMs: number
}

/** Claims plus the admin's signature and the admin's own certificate (the chain to the root). */
export interface InviteDelegation {
  claims: InviteClaims
  /** The admin (or the swarm root) that signed the claims. */
  signerPublicKey: string
  signature: string
  /** The signer's member certificate; absent when the swarm root signed the claims itself. */
  signerCertificate?: MemberCertificate
}

/**
 * A member certificate (model: Nebula host certificates). Either signed by the swarm root
 * directly (no `delegation`), or signed by a one-time invite key whose `delegation` carries the
 * admin-signed claims and the admin's certificate chain. Verifiable offline against the pinned
 * swarm public key alone.
 */
export interface MemberCertificate {
  v: 1
  swarmId: string
  swarmName?: string
  memberPublicKey: string
  name: string
  roles: string[]
  caps: string[]
  notBefore: number
  notAfter: number
  issuerPublicKey: string
  signature: string
  delegation?: InviteDelegation
}

/** A decoded invite token. The seed is a secret: whoever holds the token can join once. */
export interface Invite {
  v: 1
  seed: Uint8Array
  delegation: InviteDelegation
  /** Multiaddrs the joiner dials first; supplied by whoever made the invite. */
  bootstrap: string[]
}

/** A signed revocation, stored in the swarm document. */
export interface Revocation {
  v: 1
  swarmId: string
  memberPublicKey: string
  reason: string
  at: number
  issuerPublicKey: string
  signature: string
  /** The issuer's member certificate; absent when the swarm root signed. */
  chain?: MemberCertificate
}

/** Binds one Automerge actor id (hex) to a member key for one swarm. */
export interface ActorCertificate {
  v: 1
  actorId: string
  memberPublicKey: string
  swarmId: string
  issuedAt: number
  signature: string
  /** The member's certificate, so the record verifies on its own against the swarm key. */
  memberCertificate?: MemberCertificate
}

/** Document heads signed by the member that produced them. */
export interface SignedHeads {
  v: 1
  memberPublicKey: string
  /** Sorted, hex change hashes. */
  heads: string[]
  signature: string
}

/** Anything with `has(publicKeyHex)`: a Set, or a view over the swarm document. */
export interface RevokedKeys {
  has(memberPublicKeyHex: string): boolean
}

export interface VerifyOptions {
  /** The pinned swarm public key (hex or 32 bytes). The swarm id is derived from it. */
  swarmPublicKey: string | Uint8Array
  /** Default Date.now(). */
  now?: number
  /** Revoked member public keys (hex). Checked for the member and every issuer in its chain. */
  revoked?: RevokedKeys
  /** Tolerated clock difference for notBefore, ms. Default 0 (issuers already backdate). */
  clockSkewMs?: number
}

/** What a verified certificate says, flattened for callers. */
export interface VerifiedMember {
  memberPublicKey: string
  name: string
  roles: string[]
  caps: string[]
  notAfter: number
  isAdmin: boolean
  /** Set when the certificate was made by redeeming an invite. */
  inviteId?: string
  /** Certificates in the chain, this one included (1 = signed by the root). */
  chainLength: number
}

/** This device's membership, persisted as `membership.json` in the data dir. */
export interface MembershipState {
  v: 1
  swarmName: string
  swarmId: string
  /** Pinned swarm root public key, hex. */
  swarmPublicKey: string
  certificate: MemberCertificate
  /** Multiaddrs learned from the invite; dialled on the first start. */
  bootstrap?: string[]
}

/** Result of a wire-safe parser: never throws. */
export type ParseResult<T> = { ok: true, value: T } | { ok: false, error: Error }
