/**
 * Swarm admission: the swarm root, member certificates (offline-verifiable chains to the pinned
 * swarm key), one-time invites any member can admit, revocations, and the records binding
 * document authorship to member keys. Pure library: the CLI, connection gater and swarm document
 * wire it in.
 */
export type {
  Signer, SwarmRoot, MemberCertificate, InviteClaims, InviteDelegation, Invite, Revocation, ActorCertificate, SignedHeads,
  RevokedKeys, VerifyOptions, VerifiedMember, MembershipState, ParseResult,
} from './interfaces.ts'
export * from './errors.ts'
export {
  signerFromSeed, verifySignature, publicKeyFromSeed, randomSeed, swarmIdFromPublicKey, inviteIdFromPublicKey, swarmRootFromSeed, createSwarmRoot,
} from './keys.ts'
export {
  MAX_CHAIN_LENGTH, BACKDATE_MS, DEFAULT_CERT_TTL_MS, DEFAULT_ROOT_CERT_TTL_MS, ADMIN_ROLE, MEMBER_ROLE,
  issueRootCertificate, verifyCertificate, isAdmin, inviteIdOf, checkRedemption, describeCertificate,
  encodeCertificate, decodeCertificate, certificateToString, certificateFromString, parseCertificate,
  type RootCertificateOptions, type RedeemedInvites,
} from './certificates.ts'
export {
  INVITE_TOKEN_PREFIX, DEFAULT_INVITE_TTL_MS, createInvite, encodeInviteToken, decodeInviteToken, parseInviteToken,
  verifyInvite, redeemInvite,
  type InviteOptions, type CreatedInvite, type InviteVerifyOptions, type InviteSummary, type RedeemOptions, type Redeemed,
} from './invites.ts'
export {
  createRevocation, verifyRevocation, encodeRevocation, decodeRevocation, revocationToString, revocationFromString,
  parseRevocation, type VerifiedRevocation,
} from './revocations.ts'
export {
  signActorCertificate, verifyActorCertificate, encodeActorCertificate, decodeActorCertificate, actorCertificateToString,
  actorCertificateFromString, parseActorCertificate, signHeads, verifyHeads, encodeSignedHeads, decodeSignedHeads,
  signedHeadsToString, parseSignedHeads,
  type ActorCertificateOptions, type ActorVerifyOptions, type VerifiedActor,
} from './authorship.ts'
export {
  SWARM_ROOT_FILE, MEMBERSHIP_FILE, saveSwarmRoot, loadSwarmRoot, saveMembership, loadMembership, readMembershipIfPresent,
  writeFileAtomic, createFileExclusive, readKeyFile,
} from './files.ts'
export {
  createCertificateVerifier, CertificatePeerMismatchError,
  type CertificateVerifier, type CertificateVerifierConfig, type CertificateVerifierDeps, type CertificateVerifierCounters, type AdmissionVerdict,
} from './verifier.ts'
export { toHex, fromHex, toBase64url } from './encoding.ts'
