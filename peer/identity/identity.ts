import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import nacl from 'tweetnacl'
import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromPublicKey as libp2pPeerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import type { Identity, IdentityDeps } from './interfaces.ts'
import { IdentityFileError, InvalidPeerIdError } from './errors.ts'
import { InvalidKeyError, createFileExclusive, readKeyFile, signerFromSeed, verifySignature } from '../../mesh/admission/index.ts'
import { BoundedMap } from '../../common/bounded-map.ts'

export const IDENTITY_FILE = 'identity.key'

/**
 * Builds the identity from a 32-byte seed. Uses `generateKeyPairFromSeed('Ed25519', …)`:
 * `privateKeyFromRaw(<32 bytes>)` would silently make a secp256k1 key with another peer id.
 */
export async function identityFromSeed (seed: Uint8Array): Promise<Identity> {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new InvalidKeyError('the identity seed', `is ${seed instanceof Uint8Array ? seed.length : typeof seed} bytes`)
  const own = new Uint8Array(seed)
  // tweetnacl only for the 64-byte secret key callers may need; signing goes through node:crypto
  // (same signatures, ~15× faster, see mesh/admission/keys.ts).
  const kp = nacl.sign.keyPair.fromSeed(own)
  const signer = signerFromSeed(own)
  const libp2pKey = await generateKeyPairFromSeed('Ed25519', own)
  const publicKey = kp.publicKey
  return {
    seed: own,
    publicKey,
    publicKeyHex: Buffer.from(publicKey).toString('hex'),
    secretKey: kp.secretKey,
    peerId: peerIdFromPrivateKey(libp2pKey).toString(),
    libp2pKey,
    sign: signer.sign,
    verify: (message: Uint8Array, signature: Uint8Array, pub: Uint8Array = publicKey) => verifySignature(message, signature, pub),
  }
}

function fileError (file: string) {
  return (detail: string, cause?: unknown) => new IdentityFileError(file, detail, { cause })
}

async function readIdentityFile (dataDir: string, deps: IdentityDeps): Promise<Identity | undefined> {
  const file = join(dataDir, IDENTITY_FILE)
  const key = await readKeyFile(file, fileError(file))
  if (key === undefined) return undefined
  if ((key.mode & 0o077) !== 0) deps.logger?.warn({ file, mode: key.mode.toString(8) }, 'identity key file is readable by other users; run chmod 600 on it')
  return await identityFromSeed(key.seed)
}

/** Loads `<dataDir>/identity.key`; a missing file is an IdentityFileError. */
export async function loadIdentity (dataDir: string, deps: IdentityDeps = {}): Promise<Identity> {
  const id = await readIdentityFile(dataDir, deps)
  if (id === undefined) throw new IdentityFileError(join(dataDir, IDENTITY_FILE), 'does not exist; run `peer init` or `peer join` first')
  return id
}

/**
 * Loads the identity, creating it once when absent (data dir 0700, key file 0600, atomic and
 * race-free: two processes starting at once end up with the same key). A corrupt file is an
 * IdentityFileError, never silently replaced.
 */
export async function loadOrCreateIdentity (dataDir: string, deps: IdentityDeps = {}): Promise<Identity> {
  const existing = await readIdentityFile(dataDir, deps)
  if (existing !== undefined) return existing
  const file = join(dataDir, IDENTITY_FILE)
  const seed = new Uint8Array(randomBytes(32))
  try {
    // false = another process created it between our read and write: use theirs.
    await createFileExclusive(file, seed, 0o600)
  } catch (err) {
    throw new IdentityFileError(file, `cannot be created (${(err as { code?: string }).code ?? 'error'})`, { cause: err })
  }
  return await loadIdentity(dataDir, deps)
}

/** The libp2p peer id string of an ed25519 public key (32 bytes or hex). */
export function peerIdFromPublicKey (publicKey: Uint8Array | string): string {
  const raw = typeof publicKey === 'string' ? Buffer.from(publicKey, 'hex') : publicKey
  if (raw.length !== 32 || (typeof publicKey === 'string' && !/^[0-9a-f]{64}$/.test(publicKey))) {
    throw new InvalidPeerIdError(typeof publicKey === 'string' ? publicKey : '(bytes)', 'cannot be made: the public key must be 32 bytes (64 lowercase hex)')
  }
  return libp2pPeerIdFromPublicKey(publicKeyFromRaw(new Uint8Array(raw))).toString()
}

/** The 32-byte ed25519 public key inside a peer id. Throws InvalidPeerIdError. */
export function publicKeyFromPeerId (peerId: string): Uint8Array {
  let parsed
  try {
    parsed = peerIdFromString(peerId)
  } catch (err) {
    throw new InvalidPeerIdError(String(peerId), 'is not a libp2p peer id', { cause: err })
  }
  if (parsed.type !== 'Ed25519' || parsed.publicKey === undefined) throw new InvalidPeerIdError(peerId, `is a ${parsed.type} id, not ed25519`)
  return new Uint8Array(parsed.publicKey.raw)
}

/**
 * Peer ids already mapped to their keys. Every admission, authorship and revocation check asks
 * this for the same few ids, and each answer is a base58 + protobuf decode (15 ms of a joining
 * peer's first 700 ms in a swarm of ten, CPU profile). Only successes are kept; bounded.
 */
const keyHexByPeerId = new BoundedMap<string, string>(4096)

/** Wire-safe: hex public key of a peer id, or undefined for anything else. Never throws. */
export function publicKeyHexFromPeerId (peerId: unknown): string | undefined {
  if (typeof peerId !== 'string' || peerId.length > 128) return undefined
  const known = keyHexByPeerId.get(peerId)
  if (known !== undefined) return known
  let hex: string
  try {
    hex = Buffer.from(publicKeyFromPeerId(peerId)).toString('hex')
  } catch {
    return undefined
  }
  keyHexByPeerId.set(peerId, hex)
  return hex
}
