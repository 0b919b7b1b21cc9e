import type { PrivateKey } from '@libp2p/interface'

/**
 * This device's identity: one 32-byte ed25519 seed that is both the tweetnacl signing key (member
 * certificates, actor certificates, revocations) and the libp2p key (peer id, Noise static key).
 * Structurally a `Signer` of mesh/admission.
 */
export interface Identity {
  /** Secret. Never log it. */
  readonly seed: Uint8Array
  /** 32-byte ed25519 public key. */
  readonly publicKey: Uint8Array
  readonly publicKeyHex: string
  /** 64-byte tweetnacl secret key (seed ‖ public key). Secret. */
  readonly secretKey: Uint8Array
  /** libp2p peer id string ("12D3KooW…"). */
  readonly peerId: string
  /** The same key as libp2p's Ed25519 private key, for `createLibp2p({ privateKey })`. */
  readonly libp2pKey: PrivateKey
  /** Detached ed25519 signature (64 bytes). */
  sign(message: Uint8Array): Uint8Array
  /** Verifies a detached signature against `publicKey` (default: this identity's). Never throws. */
  verify(message: Uint8Array, signature: Uint8Array, publicKey?: Uint8Array): boolean
}

export interface IdentityDeps {
  /** Warned when the key file is readable by group or others. */
  logger?: { warn(obj: object, msg: string): void }
}
