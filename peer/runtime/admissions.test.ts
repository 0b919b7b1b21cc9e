/**
 * Admission writes wait for the first document sync; the one-key-per-invite rule does not.
 * Real certificates (swarm root, admin, invite, redemptions), real swarm documents synced over
 * in-memory channels.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../common/log.ts'
import { createSwarmDocument, type SwarmDocument } from '../../crdt-state/index.ts'
import { memoryChannelPair, until } from '../../crdt-state/testing.ts'
import {
  createSwarmRoot, issueRootCertificate, certificateToString, createInvite, decodeInviteToken, redeemInvite,
  InviteAlreadyUsedError, type MemberCertificate, type SwarmRoot,
} from '../../mesh/admission/index.ts'
import type { Hello } from '../../mesh/index.ts'
import { loadOrCreateIdentity, type Identity } from '../identity/index.ts'
import { buildTrust } from './trust-impl.ts'
import type { Trust } from './trust.ts'
import { createAdmissions } from './admissions.ts'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c().catch(() => {}) })

async function tmp (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sf-admissions-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

interface Member { identity: Identity, cert: MemberCertificate, trust: Trust, doc: SwarmDocument }

async function member (root: SwarmRoot, name: string): Promise<Member> {
  const identity = await loadOrCreateIdentity(await tmp())
  const cert = issueRootCertificate(root, identity.publicKey, { swarmName: 'lab', name })
  const trust = buildTrust(identity, { v: 1, swarmName: 'lab', swarmId: root.swarmId, swarmPublicKey: root.publicKeyHex, certificate: cert })
  const doc: SwarmDocument = createSwarmDocument({ swarmId: root.swarmId, swarmName: 'lab', dataDir: await tmp() }, {
    logger: silentLogger(), peerId: identity.peerId, authz: trust.documentAuthz(() => doc),
  })
  trust.attachDocument(() => doc)
  await doc.start()
  cleanups.push(() => doc.stop())
  return { identity, cert, trust, doc }
}

async function device (inviteToken: string, name: string): Promise<{ identity: Identity, hello: Hello }> {
  const identity = await loadOrCreateIdentity(await tmp())
  const cert = redeemInvite(decodeInviteToken(inviteToken), identity, { name }).certificate
  return { identity, hello: { cert: certificateToString(cert), name, caps: [], labels: {}, addrs: [], version: 'test' } }
}

describe('admissions', () => {
  it('refuses a second key on an invite before the first sync, writes the first after it, and never overrides a redemption on record', async () => {
    const root = createSwarmRoot()
    const admin = await member(root, 'admin')
    const other = await member(root, 'other')
    const cutOff: string[] = []
    const admissions = createAdmissions({ doc: admin.doc, checkRedemption: admin.trust.checkRedemption, logger: silentLogger(), onInviteConflict: peer => { cutOff.push(peer) } })
    const admit = (d: { identity: Identity, hello: Hello }): void => {
      admissions.admit(d.identity.peerId, d.hello, admin.trust.verifyMember(d.identity.peerId, d.hello.cert))
    }

    const invite = createInvite(admin.identity, admin.cert, { swarmPublicKey: root.publicKeyHex }).token
    const first = await device(invite, 'first')
    const second = await device(invite, 'second')
    // A second invite: `other` records a redemption of it by some key while the admin has not
    // synced yet, and the admin admits a different key on it meanwhile.
    const invite2 = createInvite(admin.identity, admin.cert, { swarmPublicKey: root.publicKeyHex }).token
    const elsewhere = await device(invite2, 'elsewhere')
    const here = await device(invite2, 'here')
    const invite2Id = decodeInviteToken(invite2).delegation.claims.inviteId
    other.doc.upsertMember({
      peerId: other.identity.peerId, publicKey: other.trust.publicKeyHex, certificate: certificateToString(other.cert), name: 'other',
      caps: [], labels: {}, resources: {}, addresses: [], softwareVersion: 'test', joinedAt: 1, updatedAt: 1,
    })
    const elsewhereKey = other.trust.verifyMember(elsewhere.identity.peerId, elsewhere.hello.cert).publicKeyHex
    other.doc.recordRedemption(invite2Id, elsewhereKey)

    // The admin's document has not synced with anybody: nothing is written yet…
    admit(first)
    admit(first) // the same key again (a reconnection) is fine
    admit(here)
    expect(admissions.pendingRedemptions()).toBe(2)
    expect(admin.doc.getRedemptions()).toEqual([])
    expect(admin.doc.getMember(first.identity.peerId)).toBeUndefined()
    // …but the invite already belongs to the first key.
    expect(() => { admit(second) }).toThrow(InviteAlreadyUsedError)

    // The first sync.
    const [ca, cb] = memoryChannelPair(admin.identity.peerId, other.identity.peerId)
    admin.doc.attachPeer(ca)
    other.doc.attachPeer(cb)
    await admin.doc.whenSynced()
    await until('admission written', () => admin.doc.getMember(first.identity.peerId) !== undefined && admissions.pendingRedemptions() === 0)
    const byInvite = new Map(admin.doc.getRedemptions().map(r => [r.inviteId, r.memberPublicKey]))
    expect(byInvite.get(decodeInviteToken(invite).delegation.claims.inviteId)).toBe(admin.trust.verifyMember(first.identity.peerId, first.hello.cert).publicKeyHex)
    // The redemption that reached the document first stays the one on record.
    expect(byInvite.get(invite2Id)).toBe(elsewhereKey)
    expect(admin.doc.getRedemptions().filter(r => r.inviteId === invite2Id)).toHaveLength(1)
    // …and the key admitted here on that invite before the sync is not a member: it is cut off
    expect(admin.doc.getMember(here.identity.peerId)).toBeUndefined()
    expect(cutOff).toEqual([here.identity.peerId])
    expect(admissions.counters.inviteConflicts).toBe(1)
    expect(admin.doc.getMember(first.identity.peerId)?.name).toBe('first')
    // From the document now.
    expect(() => { admit(second) }).toThrow(InviteAlreadyUsedError)
    await until('other has the admission', () => other.doc.getMember(first.identity.peerId) !== undefined)
    expect(() => { createAdmissions({ doc: other.doc, checkRedemption: other.trust.checkRedemption, logger: silentLogger() }).admit(second.identity.peerId, second.hello, other.trust.verifyMember(second.identity.peerId, second.hello.cert)) }).toThrow(InviteAlreadyUsedError)
  })
})
