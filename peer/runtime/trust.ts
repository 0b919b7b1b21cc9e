import type { PrivateKey } from '@libp2p/interface'
import type { PeerIdString } from '../../mesh/index.ts'
import type { SwarmDocument, SwarmDocumentAuthz, RedemptionRecord } from '../../crdt-state/index.ts'

/** What the peer runtime needs from identity + certificates, bound to this device's membership. */
export interface Trust {
  readonly peerId: PeerIdString
  readonly publicKeyHex: string
  readonly libp2pKey: PrivateKey
  readonly swarm: { id: string, name: string, publicKeyHex: string }
  /** Our member certificate, encoded. */
  readonly certificate: string
  readonly isAdmin: boolean
  /** Verifies a remote member's certificate for the peer id that presented it; throws a typed error. */
  verifyMember(peer: PeerIdString, certificate: string): { publicKeyHex: string, name: string | undefined, roles: string[], inviteId: string | undefined }
  /** Throws InviteAlreadyUsedError when another key redeemed the invite of this certificate. */
  checkRedemption(certificate: string, prior: RedemptionRecord | undefined): void
  isRevokedPeer(peer: PeerIdString): boolean
  makeRevocation(memberPublicKeyHex: string, reason: string): string
  documentAuthz(doc: () => SwarmDocument): SwarmDocumentAuthz
  attachDocument(doc: () => SwarmDocument): void
}
