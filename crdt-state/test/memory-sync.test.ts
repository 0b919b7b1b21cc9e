import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../common/log.ts'
import { createSwarmDocument } from '../swarm-document.ts'
import { DocumentStorageError, InvalidRecordError, SwarmDocumentNotStartedError } from '../errors.ts'
import type { MemberRecord, SwarmDocument } from '../interfaces.ts'
import { memoryChannelPair, newTestMember, TestRoster, until, waitForChange, type TestMember } from '../testing.ts'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

async function tmp (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'crdt-mem-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

export function member (peerId: string, m: TestMember, extra: Partial<MemberRecord> = {}): MemberRecord {
  return {
    peerId, publicKey: m.publicKeyHex, certificate: 'cert-' + peerId, name: peerId, caps: ['cpu'], labels: { zone: 'a' },
    resources: { cpu: 2 }, addresses: [], softwareVersion: '0.1.0', joinedAt: 1, updatedAt: 1, ...extra,
  }
}

async function peer (roster: TestRoster, peerId: string, opts: { dataDir?: string, outsider?: boolean } = {}): Promise<{ doc: SwarmDocument, key: TestMember }> {
  const key = opts.outsider === true ? newTestMember() : roster.add(newTestMember())
  const dataDir = opts.dataDir
  const doc = createSwarmDocument({ swarmId: 'swarm-mem', swarmName: 'mem', dataDir: dataDir ?? await tmp() }, { logger: silentLogger(), peerId, authz: roster.authzFor(key) })
  await doc.start()
  cleanups.push(() => doc.stop())
  return { doc, key }
}

describe('swarm document over in-memory channels', () => {
  it('syncs members both ways and keeps both sides of concurrent writes', async () => {
    const roster = new TestRoster()
    const a = await peer(roster, 'peer-a')
    const b = await peer(roster, 'peer-b')
    a.doc.upsertMember(member('peer-a', a.key))
    b.doc.upsertMember(member('peer-b', b.key))
    const [ca, cb] = memoryChannelPair('peer-a', 'peer-b')
    a.doc.attachPeer(ca)
    b.doc.attachPeer(cb)
    await waitForChange(a.doc, 'a sees b', () => a.doc.getMember('peer-b') !== undefined)
    await waitForChange(b.doc, 'b sees a', () => b.doc.getMember('peer-a') !== undefined)
    expect(a.doc.listMembers().map(m => m.peerId).sort()).toEqual(['peer-a', 'peer-b'])
    expect(b.doc.heads()).toEqual(a.doc.heads())
    expect(a.doc.getSwarm()).toEqual({ id: 'swarm-mem', name: 'mem' })
    expect(a.doc.counters().dropped.unauthorized).toBe(0)
  })

  it('rejects and counts changes from a non-member, closes and refuses its channel for a cooldown', async () => {
    const roster = new TestRoster()
    const a = await peer(roster, 'peer-a')
    const c = await peer(roster, 'peer-c', { outsider: true })
    c.doc.upsertMember(member('peer-c', c.key))
    const [ca, cc] = memoryChannelPair('peer-a', 'peer-c')
    a.doc.attachPeer(ca)
    c.doc.attachPeer(cc)
    await until('a rejected c', () => a.doc.counters().rejectedChanges['unknown-actor'] >= 1)
    expect(a.doc.counters().dropped.unauthorized).toBeGreaterThanOrEqual(1)
    await until('a closed the channel to c', () => !a.doc.connectedPeers().includes('peer-c') && !c.doc.connectedPeers().includes('peer-a'))
    expect(a.doc.getMember('peer-c')).toBeUndefined()
    const [ca2] = memoryChannelPair('peer-a', 'peer-c')
    a.doc.attachPeer(ca2)
    expect(a.doc.counters().channelsRefused).toBe(1)
    // A keeps working with members.
    const b = await peer(roster, 'peer-b')
    const [ab, ba] = memoryChannelPair('peer-a', 'peer-b')
    a.doc.attachPeer(ab)
    b.doc.attachPeer(ba)
    a.doc.upsertMember(member('peer-a', a.key))
    await waitForChange(b.doc, 'b receives from a', () => b.doc.getMember('peer-a') !== undefined)
  })

  it('rejects a revoked member\'s new changes, keeps its earlier ones, and new peers load that history', async () => {
    const roster = new TestRoster()
    const a = await peer(roster, 'peer-a')
    const b = await peer(roster, 'peer-b')
    b.doc.upsertMember(member('peer-b', b.key))
    const [ab, ba] = memoryChannelPair('peer-a', 'peer-b')
    a.doc.attachPeer(ab)
    b.doc.attachPeer(ba)
    await waitForChange(a.doc, 'a has b', () => a.doc.getMember('peer-b') !== undefined)

    // Enforcement follows the signed record in the document (as the integrator's authz.isRevoked,
    // which reads doc.isRevoked): a fresh peer learns of it with the history it syncs.
    a.doc.addRevocation({ publicKey: b.key.publicKeyHex, revocation: 'signed-by-root', revokedAt: Date.now(), revokedBy: 'peer-a' })
    const rev = a.doc.listRevocations()[0]
    expect(rev?.actorSeqCutoff).toEqual({ [b.doc.actorId ?? '']: 1 })
    expect(a.doc.isRevoked(b.key.publicKeyHex)).toBe(true)
    b.doc.putClaim('f/n', { peerId: 'peer-b', epoch: 9, at: 1 })
    await until('a rejected b', () => a.doc.counters().rejectedChanges.revoked >= 1)
    expect(a.doc.getClaim('f/n')).toBeUndefined()
    a.doc.detachPeer('peer-b')

    const d = await peer(roster, 'peer-d')
    const [ad, da] = memoryChannelPair('peer-a', 'peer-d')
    a.doc.attachPeer(ad)
    d.doc.attachPeer(da)
    await waitForChange(d.doc, 'd loads the history', () => d.doc.getMember('peer-b') !== undefined && d.doc.isRevoked(b.key.publicKeyHex))
    expect(d.doc.counters().dropped.unauthorized).toBe(0)
  })
})

describe('typed accessors', () => {
  it('write, read, list and remove every section; refuse invalid records with the field named', async () => {
    const roster = new TestRoster()
    const { doc, key } = await peer(roster, 'peer-x')
    const unstarted = createSwarmDocument({ swarmId: 's', swarmName: 'n', dataDir: '/nonexistent' }, { logger: silentLogger(), peerId: 'p', authz: roster.authzFor(key) })
    expect(() => unstarted.listMembers()).toThrow(SwarmDocumentNotStartedError)
    const fileDir = join(await tmp(), 'not-a-dir')
    await writeFile(fileDir, 'x')
    const broken = createSwarmDocument({ swarmId: 's', swarmName: 'n', dataDir: fileDir }, { logger: silentLogger(), peerId: 'p', authz: roster.authzFor(key) })
    await expect(broken.start()).rejects.toThrow(DocumentStorageError)
    await expect(broken.start()).rejects.toThrow(/data dir is writable/)

    doc.upsertMember(member('peer-x', key))
    expect(doc.listMembers()).toHaveLength(1)
    expect(() => doc.upsertMember({ ...member('peer-y', key), caps: 'gpu' as unknown as string[] })).toThrow(InvalidRecordError)
    expect(() => doc.upsertMember({ ...member('peer-y', key), caps: 'gpu' as unknown as string[] })).toThrow(/caps/)

    const flow = { name: 'f', spec: { nodes: [] }, state: 'running' as const, version: 3, deployedBy: 'peer-x', deployedAt: 1, files: { 'a.py': 'cd'.repeat(32) } }
    doc.putDataflow('f', flow)
    expect(doc.getDataflow('f')).toEqual(flow)
    expect(() => doc.putDataflow('g', flow)).toThrow(/differs from the key/)
    expect(doc.listDataflows().map(f => f.name)).toEqual(['f'])
    doc.removeDataflow('f')
    expect(doc.getDataflow('f')).toBeUndefined()

    doc.putClaim('f/n', { peerId: 'peer-x', epoch: 1, at: 1 })
    doc.putInstance('f/n', { peerId: 'peer-x', state: 'restarting', restarts: 2, startedAt: 1 })
    expect(doc.listClaims()).toEqual({ 'f/n': { peerId: 'peer-x', epoch: 1, at: 1 } })
    expect(doc.getInstance('f/n')?.restarts).toBe(2)
    doc.removeClaim('f/n')
    doc.removeInstance('f/n')
    expect(doc.listClaims()).toEqual({})
    expect(doc.listInstances()).toEqual({})

    doc.recordRedemption('inv-1', key.publicKeyHex)
    expect(doc.getRedemptions()).toMatchObject([{ inviteId: 'inv-1', memberPublicKey: key.publicKeyHex }])
    const file = { sha256: 'ef'.repeat(32), size: 10, addedBy: 'peer-x', addedAt: 1 }
    doc.putFile(file)
    expect(doc.getFile(file.sha256)).toEqual(file)
    expect(doc.listFiles()).toEqual([file])

    const seen: string[] = []
    const off = doc.onChange(e => seen.push(...e.sections))
    doc.putClaim('f/m', { peerId: 'peer-x', epoch: 2, at: 2 })
    off()
    doc.putClaim('f/m', { peerId: 'peer-x', epoch: 3, at: 3 })
    expect(seen).toEqual(['claims'])
    expect(doc.actorId).toMatch(/^[0-9a-f]+$/)
  })
})

describe('lifecycle', () => {
  it('start and stop are idempotent, whenReady honours its signal, a stopped document refuses channels', async () => {
    const roster = new TestRoster()
    const key = roster.add(newTestMember())
    const doc = createSwarmDocument({ swarmId: 'swarm-life', swarmName: 'life', dataDir: await tmp() }, { logger: silentLogger(), peerId: 'peer-l', authz: roster.authzFor(key) })
    cleanups.push(() => doc.stop())
    const early = new AbortController()
    const pending = doc.whenReady({ signal: early.signal })
    early.abort(new TypeError('gave up'))
    await expect(pending).rejects.toThrow('gave up')
    await Promise.all([doc.start(), doc.start()])
    await doc.whenReady({ signal: AbortSignal.timeout(1000) })
    const actor = doc.actorId
    await doc.start()
    expect(doc.actorId).toBe(actor)
    await Promise.all([doc.stop(), doc.stop()])
    await doc.stop()
    const [ch] = memoryChannelPair('peer-l', 'peer-z')
    let closed = false
    void ch.closed.then(() => { closed = true })
    doc.attachPeer(ch)
    await until('channel refused', () => closed)
    expect(doc.connectedPeers()).toEqual([])
  })
})

describe('whenSynced', () => {
  it('waits for the start and the first sync, and settles when the document stops, also when asked during the stop', async () => {
    const roster = new TestRoster()
    const a = roster.add(newTestMember())
    const b = roster.add(newTestMember())
    const docA = createSwarmDocument({ swarmId: 'swarm-sync', swarmName: 'sync', dataDir: await tmp() }, { logger: silentLogger(), peerId: 'peer-a', authz: roster.authzFor(a) })
    const docB = createSwarmDocument({ swarmId: 'swarm-sync', swarmName: 'sync', dataDir: await tmp() }, { logger: silentLogger(), peerId: 'peer-b', authz: roster.authzFor(b) })
    cleanups.push(() => docA.stop(), () => docB.stop())
    let settled = 0
    const beforeStart = docA.whenSynced().then(() => { settled++ })
    await docA.start()
    await docB.start()
    docB.upsertMember(member('peer-b', b))
    // No peer yet: the initial sync has not happened.
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(settled).toBe(0)
    const [ca, cb] = memoryChannelPair('peer-a', 'peer-b')
    docA.attachPeer(ca)
    docB.attachPeer(cb)
    await beforeStart
    expect(docA.getMember('peer-b')?.publicKey).toBe(b.publicKeyHex)

    // A second start begins a new initial sync; a stop ends it, and whenSynced asked while the
    // stop runs settles too (it must not wait on the start that already happened).
    await docA.stop()
    await docA.start()
    const beforeStop = docA.whenSynced()
    docA.upsertMember(member('peer-a', a))
    const stopping = docA.stop()
    const duringStop = docA.whenSynced()
    await Promise.all([stopping, beforeStop, duringStop])
    // Stopped: the next whenSynced belongs to the next start.
    let afterStop = false
    void docA.whenSynced().then(() => { afterStop = true })
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(afterStop).toBe(false)
  })
})
