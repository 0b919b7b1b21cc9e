/**
 * Binds the admission library (mesh/admission) and this device's identity (peer/identity) into
 * what the CLI and the peer runtime need: init, invite, join, and the Trust the runtime uses to
 * verify members, certify document actors and sign revocations.
 */
import { hostname } from 'node:os'
import type { PeerConfig } from '../config/index.ts'
import { UsageError } from '../../common/errors.ts'
import { loadOrCreateIdentity, peerIdFromPublicKey, publicKeyHexFromPeerId, type Identity } from '../identity/index.ts'
import {
  createSwarmRoot, saveSwarmRoot, loadSwarmRoot, issueRootCertificate, saveMembership, readMembershipIfPresent,
  createInvite, decodeInviteToken, redeemInvite, verifyCertificate, checkRedemption as libCheckRedemption, inviteIdOf, isAdmin,
  certificateToString, certificateFromString, createRevocation, revocationToString, revocationFromString, verifyRevocation,
  signActorCertificate, verifyActorCertificate, actorCertificateToString, actorCertificateFromString,
  CertificateForgedError, NotAdminError, toHex,
  type MembershipState, type MemberCertificate, type RevokedKeys,
} from '../../mesh/admission/index.ts'
import type { SwarmDocument, SwarmDocumentAuthz, RedemptionRecord } from '../../crdt-state/index.ts'
import type { Trust } from './trust.ts'
import type { InitResult } from './commands.ts'

export type DeviceIdentity = Identity

export async function loadDeviceIdentity (dataDir: string): Promise<Identity> {
  return await loadOrCreateIdentity(dataDir)
}

/** The stored membership with the member name (the certificate's). */
export type StoredMembership = MembershipState & { memberName?: string }

export async function loadMembershipState (dataDir: string): Promise<StoredMembership | undefined> {
  const m = await readMembershipIfPresent(dataDir)
  return m === undefined ? undefined : { ...m, memberName: m.certificate.name }
}

export async function saveMembershipState (dataDir: string, state: StoredMembership): Promise<void> {
  const { memberName: _ignored, ...m } = state
  await saveMembership(dataDir, m)
}

export async function initSwarm (config: PeerConfig, swarmName: string): Promise<InitResult> {
  const existing = await readMembershipIfPresent(config.dataDir)
  if (existing) throw new UsageError(`data dir ${config.dataDir} already belongs to swarm '${existing.swarmName}' (${existing.swarmId}); use another --data-dir to start a new swarm`)
  const identity = await loadOrCreateIdentity(config.dataDir)
  const root = createSwarmRoot()
  const name = config.name || hostname()
  const certificate = issueRootCertificate(root, identity.publicKey, { swarmName, name, caps: config.caps })
  await saveSwarmRoot(config.dataDir, root)
  await saveMembership(config.dataDir, { v: 1, swarmName, swarmId: root.swarmId, swarmPublicKey: root.publicKeyHex, certificate })
  return { swarm: { id: root.swarmId, name: swarmName }, id: identity.peerId, name, dataDir: config.dataDir }
}

export async function makeInvite (config: PeerConfig, opts: { name?: string, caps: string[], admin: boolean, ttlMs: number, addrs: string[] }): Promise<string> {
  const state = await readMembershipIfPresent(config.dataDir)
  if (!state) throw new UsageError(`this device (data dir ${config.dataDir}) is not a member of any swarm; run 'peer init --swarm NAME' first`)
  const identity = await loadOrCreateIdentity(config.dataDir)
  if (!isAdmin(state.certificate)) {
    // the swarm root can always sign, if this device holds it
    const root = await loadSwarmRoot(config.dataDir)
    if (!root) throw new NotAdminError('peer invite', `member '${state.certificate.name}' of swarm '${state.swarmName}'`)
  }
  const created = createInvite(identity, state.certificate, {
    swarmPublicKey: state.swarmPublicKey,
    swarmName: state.swarmName,
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(opts.caps.length ? { caps: opts.caps } : {}),
    admin: opts.admin,
    ttlMs: opts.ttlMs,
    bootstrap: opts.addrs.filter(a => !a.includes('/ip4/0.0.0.0/')).slice(0, 32),
  })
  return created.token
}

/** The swarm an invite token is for, or undefined when the token does not decode. */
export function inviteSwarmId (token: string): string | undefined {
  try { return decodeInviteToken(token.trim()).delegation.claims.swarmId } catch { return undefined }
}

/** Verifies and redeems an invite locally; nothing is written until a member admits us. */
export async function prepareJoin (config: PeerConfig, identity: Identity, token: string): Promise<{ state: StoredMembership, bootstrap: string[], invitedName: string | undefined }> {
  const invite = decodeInviteToken(token.trim())
  const r = redeemInvite(invite, identity, { name: config.name, ...(config.caps.length ? { caps: config.caps } : {}) })
  return {
    state: { ...r.membership, memberName: r.certificate.name },
    bootstrap: r.summary.bootstrap,
    invitedName: r.summary.name,
  }
}

export function buildTrust (identity: Identity, state: StoredMembership): Trust {
  const swarmPublicKey = state.swarmPublicKey
  const ourCert = state.certificate
  const ourCertString = certificateToString(ourCert)
  let docRef: (() => SwarmDocument) | undefined
  const revoked: RevokedKeys = { has: (hex: string) => { try { return docRef?.().isRevoked(hex) ?? false } catch { return false } } }
  /** Member keys whose certificates verified, with their certificates (handshakes, actor certificates, roster). */
  const known = new Map<string, MemberCertificate>()

  const verifyMember: Trust['verifyMember'] = (peer, certificate) => {
    const cert = certificateFromString(certificate)
    const v = verifyCertificate(cert, { swarmPublicKey, revoked })
    const expectedPeer = peerIdOfKey(cert.memberPublicKey)
    if (expectedPeer !== peer) throw new CertificateForgedError(`'${cert.name}'`, `it is for peer ${expectedPeer}, but peer ${peer} presented it`)
    known.set(cert.memberPublicKey, cert)
    return { publicKeyHex: v.memberPublicKey, name: v.name, roles: v.roles, inviteId: v.inviteId }
  }

  const isCurrentMember = (hex: string): boolean => {
    let cert = known.get(hex)
    if (!cert) {
      const rec = docRef?.().listMembers().find(m => m.publicKey === hex)
      if (rec) { try { cert = certificateFromString(rec.certificate) } catch { return false } }
    }
    if (!cert) return false
    // Judged within the certificate's own validity: history a member wrote before its certificate
    // expired must stay loadable for peers that join later (an expired member cannot connect: the
    // admission handshake checks expiry at the current time).
    try { verifyCertificate(cert, { swarmPublicKey, revoked, now: Math.min(Date.now(), cert.notAfter) }); known.set(hex, cert); return true } catch { return false }
  }

  const authz: SwarmDocumentAuthz = {
    certifyActor (actorId) {
      return actorCertificateToString(signActorCertificate(identity, ourCert, actorId, state.swarmId))
    },
    verifyActorCert (cert, actorId) {
      try {
        const ac = actorCertificateFromString(cert)
        // judged when issued: history written by a member whose certificate later expired stays readable
        const v = verifyActorCertificate(ac, { swarmPublicKey, actorId, now: ac.issuedAt, revoked: { has: () => false } })
        if (ac.memberCertificate) known.set(ac.memberPublicKey, ac.memberCertificate)
        return { ok: true, memberPublicKeyHex: v.memberPublicKey }
      } catch (err) {
        return { ok: false, reason: (err as Error).message }
      }
    },
    isCurrentMember,
    isRevoked: (hex) => revoked.has(hex),
    verifyRevocation (rev) {
      try {
        const v = verifyRevocation(revocationFromString(rev), swarmPublicKey)
        return { ok: true, memberPublicKeyHex: v.memberPublicKey }
      } catch (err) {
        return { ok: false, reason: (err as Error).message }
      }
    },
  }

  return {
    peerId: identity.peerId,
    publicKeyHex: toHex(identity.publicKey),
    libp2pKey: identity.libp2pKey,
    swarm: { id: state.swarmId, name: state.swarmName, publicKeyHex: swarmPublicKey },
    certificate: ourCertString,
    isAdmin: isAdmin(ourCert),
    verifyMember,
    checkRedemption (certificate, prior) {
      const cert = certificateFromString(certificate)
      const id = inviteIdOf(cert)
      if (id === undefined) return
      // Also where the invite's expiry is enforced: the joiner chose its own notBefore.
      libCheckRedemption(cert, prior === undefined ? {} : { [id]: prior.memberPublicKey }, { now: Date.now() })
    },
    isRevokedPeer (peer) {
      const hex = keyOfPeer(peer)
      return hex !== undefined && revoked.has(hex)
    },
    makeRevocation (memberPublicKeyHex, reason) {
      if (!isAdmin(ourCert)) throw new NotAdminError('peer revoke', `member '${ourCert.name}'`)
      return revocationToString(createRevocation(identity, ourCert, memberPublicKeyHex, reason))
    },
    documentAuthz (doc) { docRef = doc; return authz },
    attachDocument (doc) { docRef = doc },
  }
}

function peerIdOfKey (hex: string): string {
  return peerIdFromPublicKey(Buffer.from(hex, 'hex'))
}

function keyOfPeer (peer: string): string | undefined {
  try { return publicKeyHexFromPeerId(peer) } catch { return undefined }
}

export type { RedemptionRecord }
