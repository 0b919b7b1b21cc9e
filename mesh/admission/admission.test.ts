import { describe, it, expect } from 'vitest'
import {
  createSwarmRoot, signerFromSeed, issueRootCertificate, verifyCertificate, createInvite, decodeInviteToken, parseInviteToken,
  verifyInvite, redeemInvite, inviteIdOf, checkRedemption, certificateToString, certificateFromString, parseCertificate,
  createRevocation, verifyRevocation, revocationToString, revocationFromString, signActorCertificate, verifyActorCertificate,
  actorCertificateToString, actorCertificateFromString, signHeads, verifyHeads, signedHeadsToString, parseSignedHeads,
  swarmIdFromPublicKey, encodeInviteToken, toHex, MAX_CHAIN_LENGTH, BACKDATE_MS,
  CertificateExpiredError, CertificateNotYetValidError, CertificateForgedError, CertificateRevokedError, WrongSwarmError,
  CertificateChainTooLongError, InviteExpiredError, InviteForgedError, InviteMalformedError, InviteAlreadyUsedError,
  NotAdminError, RevocationForgedError, ActorCertificateForgedError,
  type MemberCertificate, type Signer, type Invite, type InviteDelegation, type InviteClaims,
} from './index.ts'
import { UsageError } from '../../common/errors.ts'
import { signCertificate } from './certificates.ts'
import { claimsSignedBytes } from './encoding.ts'
import { randomSeed, inviteIdFromPublicKey } from './keys.ts'

const T0 = 1_750_000_000_000
const HOUR = 3600_000
const DAY = 24 * HOUR

function device (): Signer { return signerFromSeed(randomSeed()) }

/** A swarm with a root-signed admin ("base"). */
function swarm (name = 'lab') {
  const root = createSwarmRoot()
  const admin = device()
  const adminCert = issueRootCertificate(root, admin.publicKey, { name: 'base', swarmName: name, now: T0 })
  return { root, swarmPublicKey: root.publicKeyHex, admin, adminCert }
}

function join (issuer: Signer, issuerCert: MemberCertificate | undefined, swarmPublicKey: string, opts: Partial<Parameters<typeof createInvite>[2]> = {}, now = T0 + 1000) {
  const joiner = device()
  const { token } = createInvite(issuer, issuerCert, { swarmPublicKey, now, ...opts })
  const { certificate } = redeemInvite(decodeInviteToken(token), joiner, { now: now + 1000 })
  return { joiner, cert: certificate, token }
}

/** Hand-made delegation: lets tests sign claims with keys createInvite would refuse. */
function forgeInvite (signer: Signer, signerCert: MemberCertificate | undefined, swarmPublicKey: string, roles = ['member']): Invite {
  const seed = randomSeed()
  const key = signerFromSeed(seed)
  const claims: InviteClaims = {
    v: 1, inviteId: inviteIdFromPublicKey(key.publicKey), swarmId: swarmIdFromPublicKey(swarmPublicKey), swarmPublicKey,
    invitePublicKey: toHex(key.publicKey), roles, issuedAt: T0, notAfter: T0 + HOUR, certTtlMs: DAY,
  }
  const delegation: InviteDelegation = { claims, signerPublicKey: toHex(signer.publicKey), signature: toHex(signer.sign(claimsSignedBytes(claims))) }
  if (signerCert !== undefined) delegation.signerCertificate = signerCert
  return { v: 1, seed, delegation, bootstrap: [] }
}

/** Signs a certificate with an invite key directly, bypassing redeemInvite's checks. */
function signWithInvite (invite: Invite, member: Signer, patch: Partial<MemberCertificate> = {}): MemberCertificate {
  const c = invite.delegation.claims
  return signCertificate({
    v: 1, swarmId: c.swarmId, memberPublicKey: toHex(member.publicKey), name: 'm', roles: c.roles, caps: [],
    notBefore: T0, notAfter: T0 + DAY, issuerPublicKey: c.invitePublicKey, signature: '0'.repeat(128), delegation: invite.delegation, ...patch,
  }, signerFromSeed(invite.seed))
}

describe('swarm id', () => {
  it('is 16 base32 characters, stable for a key, different across keys', () => {
    const a = createSwarmRoot()
    const b = createSwarmRoot()
    expect(a.swarmId).toMatch(/^[a-z2-7]{16}$/)
    expect(swarmIdFromPublicKey(a.publicKeyHex)).toBe(a.swarmId)
    expect(swarmIdFromPublicKey(a.publicKey)).toBe(a.swarmId)
    expect(b.swarmId).not.toBe(a.swarmId)
  })
})

describe('member certificates', () => {
  it('a root-signed admin certificate verifies offline against the swarm key', () => {
    const s = swarm()
    const v = verifyCertificate(s.adminCert, { swarmPublicKey: s.swarmPublicKey, now: T0 })
    expect(v).toMatchObject({ name: 'base', isAdmin: true, chainLength: 1, memberPublicKey: toHex(s.admin.publicKey) })
    expect(v.inviteId).toBeUndefined()
    // the string form round-trips to an identical, still-valid certificate
    const again = certificateFromString(certificateToString(s.adminCert))
    expect(again).toEqual(s.adminCert)
    expect(verifyCertificate(again, { swarmPublicKey: s.root.publicKey, now: T0 }).isAdmin).toBe(true)
  })

  it('rejects expired and not-yet-valid certificates', () => {
    const s = swarm()
    expect(() => verifyCertificate(s.adminCert, { swarmPublicKey: s.swarmPublicKey, now: s.adminCert.notAfter + 1 })).toThrow(CertificateExpiredError)
    expect(() => verifyCertificate(s.adminCert, { swarmPublicKey: s.swarmPublicKey, now: s.adminCert.notBefore - 1 })).toThrow(CertificateNotYetValidError)
    expect(verifyCertificate(s.adminCert, { swarmPublicKey: s.swarmPublicKey, now: s.adminCert.notBefore - 1, clockSkewMs: 10 }).name).toBe('base')
  })

  it('rejects a certificate signed by another key claiming the root as issuer', () => {
    const s = swarm()
    const mallory = device()
    const forged = signCertificate({ ...s.adminCert, memberPublicKey: toHex(mallory.publicKey) }, mallory)
    expect(() => verifyCertificate(forged, { swarmPublicKey: s.swarmPublicKey, now: T0 })).toThrow(CertificateForgedError)
  })

  it('rejects a certificate of another swarm', () => {
    const a = swarm('a')
    const b = swarm('b')
    const err = (() => { try { verifyCertificate(a.adminCert, { swarmPublicKey: b.swarmPublicKey, now: T0 }) } catch (e) { return e } })()
    expect(err).toBeInstanceOf(WrongSwarmError)
    expect((err as Error).message).toContain(b.root.swarmId)
  })

  it('rejects every tampered field', () => {
    const s = swarm()
    const m = join(s.admin, s.adminCert, s.swarmPublicKey, { caps: ['camera', 'gpu'] })
    const tampered: Array<Partial<MemberCertificate>> = [
      { roles: ['member', 'admin'] }, { name: 'other' }, { caps: ['camera'] }, { notAfter: m.cert.notAfter - 1 },
      { notBefore: m.cert.notBefore + 1 }, { memberPublicKey: toHex(device().publicKey) }, { swarmName: 'x' },
      { signature: m.cert.signature.replace(/^./, c => c === '0' ? '1' : '0') },
    ]
    for (const patch of tampered) {
      expect(() => verifyCertificate({ ...m.cert, ...patch }, { swarmPublicKey: s.swarmPublicKey, now: T0 + 2000 })).toThrow(CertificateForgedError)
    }
    // tampering with the admin-signed claims breaks the admin signature
    const d = m.cert.delegation as InviteDelegation
    const claims = { ...d.claims, roles: ['admin', 'member'] }
    const bad = { ...m.cert, roles: ['admin', 'member'], delegation: { ...d, claims } }
    expect(() => verifyCertificate(bad, { swarmPublicKey: s.swarmPublicKey, now: T0 + 2000 })).toThrow(CertificateForgedError)
    expect(verifyCertificate(m.cert, { swarmPublicKey: s.swarmPublicKey, now: T0 + 2000 }).caps).toEqual(['camera', 'gpu'])
  })

  it('rejects a revoked member and any member issued through a revoked admin', () => {
    const s = swarm()
    const m = join(s.admin, s.adminCert, s.swarmPublicKey)
    const opts = { swarmPublicKey: s.swarmPublicKey, now: T0 + 2000 }
    expect(() => verifyCertificate(m.cert, { ...opts, revoked: new Set([toHex(m.joiner.publicKey)]) })).toThrow(CertificateRevokedError)
    const viaAdmin = (() => { try { verifyCertificate(m.cert, { ...opts, revoked: new Set([toHex(s.admin.publicKey)]) }) } catch (e) { return e } })()
    expect(viaAdmin).toBeInstanceOf(CertificateRevokedError)
    expect((viaAdmin as Error).message).toContain('issued through admin')
    expect(verifyCertificate(m.cert, { ...opts, revoked: new Set([toHex(device().publicKey)]) }).chainLength).toBe(2)
    // revoking the invite key withdraws the invite and what it made
    const inviteKey = (m.cert.delegation as InviteDelegation).claims.invitePublicKey
    expect(() => verifyCertificate(m.cert, { ...opts, revoked: new Set([inviteKey]) })).toThrow(CertificateRevokedError)
    expect(() => verifyInvite(decodeInviteToken(m.token), { now: T0 + 1001, revoked: new Set([inviteKey]) })).toThrow(InviteForgedError)
  })

  it('walks chains of admins up to the maximum length and refuses one more', () => {
    const s = swarm()
    let signer: Signer = s.admin
    let cert = s.adminCert
    let now = T0
    for (let len = 2; len <= MAX_CHAIN_LENGTH; len++) {
      now += 1000
      const next = join(signer, cert, s.swarmPublicKey, { admin: true }, now)
      expect(verifyCertificate(next.cert, { swarmPublicKey: s.swarmPublicKey, now: now + 2000 })).toMatchObject({ chainLength: len, isAdmin: true })
      signer = next.joiner
      cert = next.cert
    }
    const { token } = createInvite(signer, cert, { swarmPublicKey: s.swarmPublicKey, now: now + 3000 })
    const invite = decodeInviteToken(token)
    const err = (() => { try { verifyInvite(invite, { now: now + 4000 }) } catch (e) { return e } })()
    expect(err).toBeInstanceOf(InviteForgedError)
    expect((err as Error).cause).toBeInstanceOf(CertificateChainTooLongError)
    // a certificate signed anyway is refused by every verifier
    const tooLong = signWithInvite(invite, device(), { notBefore: now + 3000, notAfter: now + DAY })
    expect(() => verifyCertificate(tooLong, { swarmPublicKey: s.swarmPublicKey, now: now + 4000 })).toThrow(CertificateChainTooLongError)
  })

  it('clamps an invited certificate inside its admin\'s validity and refuses one that is not nested', () => {
    const s = swarm()
    const shortAdmin = device()
    const shortCert = issueRootCertificate(s.root, shortAdmin.publicKey, { name: 'short', validityMs: 2 * DAY, now: T0 })
    const m = join(shortAdmin, shortCert, s.swarmPublicKey, { certTtlMs: 365 * DAY })
    expect(m.cert.notAfter).toBe(shortCert.notAfter)
    expect(m.cert.notBefore).toBeGreaterThanOrEqual(shortCert.notBefore)
    const invite = decodeInviteToken(createInvite(shortAdmin, shortCert, { swarmPublicKey: s.swarmPublicKey, now: T0 + 1000, certTtlMs: 365 * DAY }).token)
    const outliving = signWithInvite(invite, device(), { notBefore: T0 + 1000, notAfter: shortCert.notAfter + 1 })
    expect(() => verifyCertificate(outliving, { swarmPublicKey: s.swarmPublicKey, now: T0 + 2000 })).toThrow(CertificateForgedError)
    // and certificates cannot stretch past the invite's certTtl either
    const long = decodeInviteToken(createInvite(s.admin, s.adminCert, { swarmPublicKey: s.swarmPublicKey, now: T0 + 1000, certTtlMs: DAY }).token)
    const stretched = signWithInvite(long, device(), { notBefore: T0 + 1000, notAfter: T0 + 1000 + DAY + BACKDATE_MS + 1 })
    expect(() => verifyCertificate(stretched, { swarmPublicKey: s.swarmPublicKey, now: T0 + 2000 })).toThrow(CertificateForgedError)
  })
})

describe('invites', () => {
  it('round-trips: admin token → joiner signs its own certificate → any member verifies it offline', () => {
    const s = swarm()
    const created = createInvite(s.admin, s.adminCert, { swarmPublicKey: s.swarmPublicKey, name: 'cam-1', caps: ['camera'], bootstrap: ['/ip4/127.0.0.1/tcp/4001'], now: T0 })
    expect(created.token).toMatch(/^sf1\.[A-Za-z0-9_-]+$/)
    expect(created.token.length).toBeLessThan(1200)
    expect(created.notAfter).toBe(T0 + HOUR)
    const invite = decodeInviteToken(created.token)
    const summary = verifyInvite(invite, { now: T0 + 1 })
    expect(summary).toMatchObject({ inviteId: created.inviteId, swarmId: s.root.swarmId, swarmName: 'lab', name: 'cam-1', caps: ['camera'], roles: ['member'], issuedByName: 'base', bootstrap: ['/ip4/127.0.0.1/tcp/4001'] })
    const joiner = device()
    const r = redeemInvite(invite, joiner, { name: 'ignored', now: T0 + 2 })
    expect(r.certificate.name).toBe('cam-1')
    expect(r.membership).toMatchObject({ swarmName: 'lab', swarmId: s.root.swarmId, swarmPublicKey: s.swarmPublicKey, bootstrap: ['/ip4/127.0.0.1/tcp/4001'] })
    expect(inviteIdOf(r.certificate)).toBe(created.inviteId)
    const v = verifyCertificate(certificateFromString(certificateToString(r.certificate)), { swarmPublicKey: s.swarmPublicKey, now: T0 + 10 * DAY })
    expect(v).toMatchObject({ name: 'cam-1', roles: ['member'], caps: ['camera'], isAdmin: false, chainLength: 2, inviteId: created.inviteId })
    expect(v.notAfter).toBeGreaterThan(T0 + 364 * DAY)
  })

  it('lets the joiner choose name and caps only where the invite left them open', () => {
    const s = swarm()
    const open = decodeInviteToken(createInvite(s.admin, s.adminCert, { swarmPublicKey: s.swarmPublicKey, now: T0 }).token)
    const r = redeemInvite(open, device(), { name: 'rover', caps: ['lidar'], now: T0 + 1 })
    expect(r.certificate).toMatchObject({ name: 'rover', caps: ['lidar'] })
    const fixed = decodeInviteToken(createInvite(s.admin, s.adminCert, { swarmPublicKey: s.swarmPublicKey, caps: ['camera'], now: T0 }).token)
    expect(() => redeemInvite(fixed, device(), { caps: ['gpu'], now: T0 + 1 })).toThrow(UsageError)
    expect(() => redeemInvite(open, device(), { roles: ['admin'], now: T0 + 1 })).toThrow(UsageError)
  })

  it('an --admin invite makes an admin who can admit further members, and the root may invite directly', () => {
    const s = swarm()
    const a2 = join(s.admin, s.adminCert, s.swarmPublicKey, { admin: true })
    expect(a2.cert.roles).toEqual(['admin', 'member'])
    const m = join(a2.joiner, a2.cert, s.swarmPublicKey, {}, T0 + 5000)
    expect(verifyCertificate(m.cert, { swarmPublicKey: s.swarmPublicKey, now: T0 + 7000 }).chainLength).toBe(3)
    const byRoot = join(s.root, undefined, s.swarmPublicKey)
    expect(verifyCertificate(byRoot.cert, { swarmPublicKey: s.swarmPublicKey, now: T0 + 3000 }).chainLength).toBe(1)
  })

  it('refuses expired invites at verification, redemption and first admission', () => {
    const s = swarm()
    const { token } = createInvite(s.admin, s.adminCert, { swarmPublicKey: s.swarmPublicKey, ttlMs: 60_000, now: T0 })
    const invite = decodeInviteToken(token)
    expect(() => verifyInvite(invite, { now: T0 + 60_001 })).toThrow(InviteExpiredError)
    expect(() => redeemInvite(invite, device(), { now: T0 + 60_001 })).toThrow(InviteExpiredError)
    // a joiner can backdate its own certificate: the admitting peer's clock decides at first admission
    const late = signWithInvite(invite, device(), { notBefore: T0, notAfter: T0 + DAY })
    expect(() => checkRedemption(late, new Map(), { now: T0 + 60_001 })).toThrow(InviteExpiredError)
    expect(() => checkRedemption(late, new Map(), { now: T0 + 1 })).not.toThrow()
  })

  it('refuses invites signed by a non-admin or by another swarm\'s admin, and tampered ones', () => {
    const s = swarm()
    const member = join(s.admin, s.adminCert, s.swarmPublicKey)
    expect(() => createInvite(member.joiner, member.cert, { swarmPublicKey: s.swarmPublicKey, now: T0 + 3000 })).toThrow(NotAdminError)
    expect(() => createInvite(device(), undefined, { swarmPublicKey: s.swarmPublicKey, now: T0 })).toThrow(NotAdminError)
    const byMember = forgeInvite(member.joiner, member.cert, s.swarmPublicKey)
    expect(() => verifyInvite(byMember, { now: T0 + 3000 })).toThrow(InviteForgedError)
    const sneaked = signWithInvite(byMember, device(), { notBefore: T0 + 3000 })
    expect(() => verifyCertificate(sneaked, { swarmPublicKey: s.swarmPublicKey, now: T0 + 4000 })).toThrow(CertificateForgedError)

    const other = swarm('other')
    const foreign = forgeInvite(other.admin, other.adminCert, s.swarmPublicKey)
    expect(() => verifyInvite(foreign, { now: T0 + 1000 })).toThrow(InviteForgedError)
    expect(() => verifyInvite(foreign, { swarmPublicKey: s.swarmPublicKey, now: T0 + 1000 })).toThrow(InviteForgedError)
    const legitOther = decodeInviteToken(createInvite(other.admin, other.adminCert, { swarmPublicKey: other.swarmPublicKey, now: T0 }).token)
    expect(() => verifyInvite(legitOther, { swarmPublicKey: s.swarmPublicKey, now: T0 + 1 })).toThrow(WrongSwarmError)

    const bare = forgeInvite(device(), undefined, s.swarmPublicKey)
    expect(() => verifyInvite(bare, { now: T0 + 1 })).toThrow(InviteForgedError)

    const good = decodeInviteToken(createInvite(s.admin, s.adminCert, { swarmPublicKey: s.swarmPublicKey, now: T0 }).token)
    const upgraded = { ...good, delegation: { ...good.delegation, claims: { ...good.delegation.claims, roles: ['admin', 'member'] } } }
    expect(() => verifyInvite(decodeInviteToken(encodeInviteToken(upgraded)), { now: T0 + 1 })).toThrow(InviteForgedError)
  })

  it('reports malformed tokens with a typed error, never a crash', () => {
    const s = swarm()
    const { token } = createInvite(s.admin, s.adminCert, { swarmPublicKey: s.swarmPublicKey, now: T0 })
    const bad: unknown[] = ['', 'sf1.', 'sf1.!!!!', 'hello world', token.slice(0, token.length - 7), token.replace('sf1.', 'sf2.'), `sf1.${'A'.repeat(20000)}`, 42, null, {}, 'sf1.kQE']
    for (const t of bad) {
      expect(() => decodeInviteToken(t)).toThrow(InviteMalformedError)
      const r = parseInviteToken(t)
      expect(r.ok).toBe(false)
    }
    // a token whose seed is not the key the admin signed for was spliced
    const spliced = encodeInviteToken({ ...decodeInviteToken(token), seed: randomSeed() })
    expect(() => decodeInviteToken(spliced)).toThrow(InviteMalformedError)
    expect(parseInviteToken(`  ${token}\n`).ok).toBe(true)
  })

  it('is usable once: checkRedemption accepts the redeeming key and refuses any other', () => {
    const s = swarm()
    const { token } = createInvite(s.admin, s.adminCert, { swarmPublicKey: s.swarmPublicKey, now: T0 })
    const invite = decodeInviteToken(token)
    const first = redeemInvite(invite, device(), { now: T0 + 1 }).certificate
    const second = redeemInvite(invite, device(), { now: T0 + 2 }).certificate
    const id = inviteIdOf(first) as string
    expect(() => checkRedemption(first, {}, { now: T0 + 3 })).not.toThrow()
    const redeemed = new Map([[id, first.memberPublicKey]])
    expect(() => checkRedemption(first, redeemed, { now: T0 + 10 * DAY })).not.toThrow()
    expect(() => checkRedemption(second, redeemed, { now: T0 + 3 })).toThrow(InviteAlreadyUsedError)
    expect(() => checkRedemption(second, { [id]: first.memberPublicKey }, { now: T0 + 3 })).toThrow(InviteAlreadyUsedError)
    expect(() => checkRedemption(s.adminCert, redeemed)).not.toThrow()
  })
})

describe('revocations', () => {
  it('verifies revocations by the root and by admins, refuses non-admins, tampering and other swarms', () => {
    const s = swarm()
    const m = join(s.admin, s.adminCert, s.swarmPublicKey)
    const target = toHex(m.joiner.publicKey)
    const byAdmin = createRevocation(s.admin, s.adminCert, target, 'lost robot', { now: T0 + 5000 })
    expect(verifyRevocation(revocationFromString(revocationToString(byAdmin)), s.swarmPublicKey)).toMatchObject({ memberPublicKey: target, reason: 'lost robot', issuerPublicKey: toHex(s.admin.publicKey) })
    const byRoot = createRevocation(s.root, undefined, m.joiner.publicKey, 'x', { now: T0 })
    expect(verifyRevocation(byRoot, s.root.publicKey).memberPublicKey).toBe(target)

    expect(() => createRevocation(m.joiner, m.cert, toHex(s.admin.publicKey), 'coup')).toThrow(NotAdminError)
    const memberSigned = createRevocation(m.joiner, { ...m.cert, roles: ['admin'] }, toHex(s.admin.publicKey), 'coup', { now: T0 + 5000 })
    expect(() => verifyRevocation(memberSigned, s.swarmPublicKey)).toThrow(RevocationForgedError)
    expect(() => verifyRevocation({ ...byAdmin, reason: 'other' }, s.swarmPublicKey)).toThrow(RevocationForgedError)
    expect(() => verifyRevocation({ ...byAdmin, memberPublicKey: toHex(s.admin.publicKey) }, s.swarmPublicKey)).toThrow(RevocationForgedError)
    const stranger = device()
    expect(() => verifyRevocation(createRevocation(stranger, undefined, target, 'x'), s.swarmPublicKey)).toThrow(WrongSwarmError)
    expect(() => verifyRevocation({ ...createRevocation(stranger, undefined, target, 'x'), swarmId: s.root.swarmId }, s.swarmPublicKey)).toThrow(RevocationForgedError)
    // an admin that was itself revoked cannot revoke anyone
    expect(() => verifyRevocation(byAdmin, s.swarmPublicKey, { revoked: new Set([toHex(s.admin.publicKey)]) })).toThrow(RevocationForgedError)
    // revocations are judged at their own time, so they outlive the issuer's certificate
    expect(verifyRevocation(byAdmin, s.swarmPublicKey).at).toBe(T0 + 5000)
  })
})

describe('document authorship', () => {
  const actorId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'

  it('binds an actor id to a member key and verifies through the member certificate', () => {
    const s = swarm()
    const m = join(s.admin, s.adminCert, s.swarmPublicKey)
    const ac = signActorCertificate(m.joiner, m.cert, actorId, s.root.swarmId, { now: T0 + 3000 })
    const back = actorCertificateFromString(actorCertificateToString(ac))
    const v = verifyActorCertificate(back, { swarmPublicKey: s.swarmPublicKey, actorId, now: T0 + 3000 })
    expect(v).toMatchObject({ actorId, memberPublicKey: toHex(m.joiner.publicKey), member: { name: m.cert.name } })
    expect(() => verifyActorCertificate(ac, { swarmPublicKey: s.swarmPublicKey, actorId: 'ff', now: T0 + 3000 })).toThrow(ActorCertificateForgedError)
    expect(() => verifyActorCertificate({ ...ac, actorId: 'ff' + actorId.slice(2) }, { swarmPublicKey: s.swarmPublicKey, now: T0 + 3000 })).toThrow(ActorCertificateForgedError)
    expect(() => verifyActorCertificate(ac, { swarmPublicKey: s.swarmPublicKey, now: T0 + 3000, revoked: new Set([ac.memberPublicKey]) })).toThrow(CertificateRevokedError)
    // a thief with someone else's certificate but not their key
    const thief = device()
    expect(() => signActorCertificate(thief, m.cert, actorId)).toThrow(ActorCertificateForgedError)
    const slim = signActorCertificate(m.joiner, m.cert, actorId, undefined, { now: T0 + 3000, embedCertificate: false })
    expect(() => verifyActorCertificate(slim, { swarmPublicKey: s.swarmPublicKey, now: T0 + 3000 })).toThrow(ActorCertificateForgedError)
    expect(verifyActorCertificate(slim, { swarmPublicKey: s.swarmPublicKey, memberCertificate: m.cert, now: T0 + 3000 }).actorId).toBe(actorId)
    expect(() => signActorCertificate(m.joiner, m.cert, actorId, swarm().root.swarmId)).toThrow(WrongSwarmError)
  })

  it('signs heads; tampering or another key fails', () => {
    const s = swarm()
    const heads = ['ff'.repeat(32), '0a'.repeat(32)]
    const signed = signHeads(s.admin, heads)
    expect(signed.heads).toEqual(['0a'.repeat(32), 'ff'.repeat(32)])
    expect(verifyHeads(signed)).toBe(true)
    expect(verifyHeads(signed, toHex(s.admin.publicKey))).toBe(true)
    expect(verifyHeads(signed, toHex(device().publicKey))).toBe(false)
    expect(verifyHeads({ ...signed, heads: ['0b'.repeat(32), 'ff'.repeat(32)] })).toBe(false)
    expect(verifyHeads({ ...signed, heads: ['nonsense'] })).toBe(false)
    const parsed = parseSignedHeads(signedHeadsToString(signed))
    expect(parsed.ok && verifyHeads(parsed.value)).toBe(true)
  })
})

describe('parsers', () => {
  it('accept the string, byte and object forms and reject garbage without throwing', () => {
    const s = swarm()
    const str = certificateToString(s.adminCert)
    expect(parseCertificate(str)).toEqual({ ok: true, value: s.adminCert })
    expect(parseCertificate(JSON.parse(JSON.stringify(s.adminCert)))).toEqual({ ok: true, value: s.adminCert })
    for (const bad of [null, undefined, 1, 'x', '!!', new Uint8Array(0), new Uint8Array([0xc1]), { ...s.adminCert, roles: 'admin' }, [], { delegation: 5 }]) {
      const r = parseCertificate(bad)
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.error.name).toBe('CertificateMalformedError')
    }
  })
})
