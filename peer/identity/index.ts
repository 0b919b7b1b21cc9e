/** This device's identity: one ed25519 seed that is both its member signing key and its libp2p peer id. */
export type { Identity, IdentityDeps } from './interfaces.ts'
export { IdentityFileError, InvalidPeerIdError } from './errors.ts'
export {
  IDENTITY_FILE, identityFromSeed, loadIdentity, loadOrCreateIdentity, peerIdFromPublicKey, publicKeyFromPeerId,
  publicKeyHexFromPeerId,
} from './identity.ts'
