import { describe, expect, it } from 'vitest'
import * as A from '@automerge/automerge'
import { silentLogger } from '../common/log.ts'
import { createChangeVerifier, heldBy } from './authorship.ts'
import { GENESIS_ACTOR, genesisChange, genesisHash } from './genesis.ts'
import { newTestMember, TestRoster } from './testing.ts'

type Doc = Record<string, Record<string, unknown>>
const SWARM = 'swarm-auth'
const g = genesisChange(SWARM)
const fromGenesis = (actor?: string): A.Doc<Doc> => A.applyChanges(A.init<Doc>(actor === undefined ? undefined : { actor }), [g])[0]
const actorOf = (d: A.Doc<Doc>): string => A.getActorId(d)

/** A sync message carrying exactly the changes `from` has and `to` lacks (no Bloom filter, so deterministic). */
function syncData (from: A.Doc<Doc>, to: A.Doc<Doc>): Uint8Array {
  return A.encodeSyncMessage({ heads: A.getHeads(from), need: [], have: [], changes: A.getChanges(to, from) })
}

/** What automerge's own sync sends to a peer that has nothing at all (a whole-document chunk). */
function syncToEmpty (from: A.Doc<Doc>): Uint8Array {
  let sf = A.initSyncState()
  let st = A.initSyncState()
  let req: Uint8Array | null
  ;[st, req] = A.generateSyncMessage(A.init<Doc>(), st)
  if (req === null) throw new TypeError('no request')
  ;[from, sf] = A.receiveSyncMessage(from, sf, req)
  let resp: Uint8Array | null
  ;[sf, resp] = A.generateSyncMessage(from, sf)
  if (resp === null) throw new TypeError('no response')
  return resp
}

function setup (): { roster: TestRoster, verifierFor: (doc: () => A.Doc<Doc>) => ReturnType<typeof createChangeVerifier> } {
  const roster = new TestRoster()
  const judge = roster.add(newTestMember())
  return {
    roster,
    verifierFor: doc => createChangeVerifier({ authz: roster.authzFor(judge), logger: silentLogger(), genesisHash: genesisHash(SWARM), currentDoc: doc as () => A.Doc<unknown> }),
  }
}

/** A member writing with a certified actor (the certificate travels in its first change). */
function certifiedWrite (d: A.Doc<Doc>, cert: string, key: string, value: string): A.Doc<Doc> {
  return A.change(d, x => {
    (x.actors as Record<string, unknown>)[actorOf(d)] = new A.ImmutableString(cert)
    ;(x.members as Record<string, unknown>)[key] = new A.ImmutableString(value)
  })
}

describe('authorship checks before merge', () => {
  it('accepts a first change that carries its own valid actor certificate', () => {
    const { roster, verifierFor } = setup()
    const m = roster.add(newTestMember())
    const mine = fromGenesis()
    // Certified for some other actor id (each init draws a random actor).
    const theirs = certifiedWrite(fromGenesis(), TestRoster.certify(m, actorOf(fromGenesis())), 'x', '1')
    const writer = fromGenesis()
    const w = certifiedWrite(writer, TestRoster.certify(m, actorOf(writer)), 'x', '1')
    expect(verifierFor(() => mine).check(syncData(w, mine))).toMatchObject({ ok: true, newChanges: 1 })
    // A certificate for another actor id does not vouch for this one.
    expect(verifierFor(() => mine).check(syncData(theirs, mine))).toMatchObject({ ok: false, reason: 'unknown-actor' })
  })

  it('rejects changes from an actor without a certificate and from a non-member key', () => {
    const { verifierFor } = setup()
    const mine = fromGenesis()
    const anon = A.change(fromGenesis(), x => { (x.members as Record<string, unknown>).evil = new A.ImmutableString('{}') })
    expect(verifierFor(() => mine).check(syncData(anon, mine))).toMatchObject({ ok: false, reason: 'unknown-actor' })
    const outsider = newTestMember() // valid signature, but not in the roster
    const w0 = fromGenesis()
    const w = certifiedWrite(w0, TestRoster.certify(outsider, actorOf(w0)), 'evil', '{}')
    expect(verifierFor(() => mine).check(syncData(w, mine))).toMatchObject({ ok: false, reason: 'unknown-actor' })
  })

  it('rejects any change by the genesis actor other than genesis itself', () => {
    const { verifierFor } = setup()
    const mine = fromGenesis()
    const forged = A.change(fromGenesis(GENESIS_ACTOR), x => { (x.members as Record<string, unknown>).evil = new A.ImmutableString('{}') })
    expect(verifierFor(() => mine).check(syncData(forged, mine))).toMatchObject({ ok: false, reason: 'forged-genesis' })
  })

  it('keeps a revoked member\'s changes up to the cutoff and rejects later ones', () => {
    const { roster, verifierFor } = setup()
    const m = roster.add(newTestMember())
    const w0 = fromGenesis()
    const actor = actorOf(w0)
    let w = certifiedWrite(w0, TestRoster.certify(m, actor), 'a', '1') // seq 1
    const revocation = JSON.stringify({ publicKey: m.publicKeyHex, revocation: 'signed-by-root', revokedAt: 1, revokedBy: 'p', actorSeqCutoff: { [actor]: 1 } })
    const revoker = roster.add(newTestMember())
    let mine = A.merge(fromGenesis(), w)
    const mineActor = actorOf(mine)
    mine = A.change(mine, x => {
      (x.actors as Record<string, unknown>)[mineActor] = new A.ImmutableString(TestRoster.certify(revoker, mineActor))
      ;(x.revocations as Record<string, unknown>)[m.publicKeyHex] = new A.ImmutableString(revocation)
    })
    roster.revoked.add(m.publicKeyHex)
    w = A.change(w, x => { (x.members as Record<string, unknown>).b = new A.ImmutableString('2') }) // seq 2
    const v = verifierFor(() => mine)
    expect(v.check(syncData(w, mine))).toMatchObject({ ok: false, reason: 'revoked' })
    // A new peer that has nothing yet still accepts the pre-revocation history, revocation included.
    const fresh = fromGenesis()
    const history = syncData(mine, fresh)
    expect(verifierFor(() => fresh).check(history)).toMatchObject({ ok: true, newChanges: 2 })
    // ...but not the post-revocation change.
    const both = A.merge(A.clone(mine), w)
    expect(verifierFor(() => fresh).check(syncData(both, fresh))).toMatchObject({ ok: false, reason: 'revoked' })
  })

  it('checks the actors inside a whole-document chunk', () => {
    const { roster, verifierFor } = setup()
    const m = roster.add(newTestMember())
    const w0 = fromGenesis()
    let w = certifiedWrite(w0, TestRoster.certify(m, actorOf(w0)), 'a', '1')
    for (let i = 0; i < 20; i++) w = A.change(w, x => { (x.claims as Record<string, unknown>)[`c${i}`] = new A.ImmutableString('{}') })
    const fresh = A.init<Doc>()
    const data = syncToEmpty(w)
    const chunks = A.decodeSyncMessage(data).changes
    expect(chunks.some(c => c[8] === 0)).toBe(true) // automerge chose to send the whole document
    expect(verifierFor(() => fresh).check(data)).toMatchObject({ ok: true, newChanges: 22 })
    const anon = A.change(A.clone(w), x => { (x.claims as Record<string, unknown>).evil = new A.ImmutableString('{}') })
    expect(verifierFor(() => fresh).check(syncToEmpty(anon))).toMatchObject({ ok: false, reason: 'unknown-actor' })
  })

  it('lets a change wait for its missing dependencies when its certificate is among them, and judges it when it can', () => {
    const { roster, verifierFor } = setup()
    const m = roster.add(newTestMember())
    const w0 = fromGenesis()
    const w1 = certifiedWrite(w0, TestRoster.certify(m, actorOf(w0)), 'a', '1')
    // Snapshot before w1 moves on: an automerge document shares its backend with its successors.
    const withCert = A.merge(fromGenesis(), A.clone(w1))
    const w2 = A.change(w1, x => { (x.members as Record<string, unknown>).b = new A.ImmutableString('2') })
    const mine = fromGenesis()
    // As after a Bloom-filter false positive: the sender skipped w1 (which carries the certificate).
    const onlySecond = A.encodeSyncMessage({ heads: A.getHeads(w2), need: [], have: [], changes: A.getChanges(w1, w2) })
    expect(verifierFor(() => mine).check(onlySecond)).toMatchObject({ ok: true, newChanges: 0, waiting: 1 })
    // An uncertified actor's change that could apply right away is refused.
    const anon = A.change(fromGenesis(), x => { (x.members as Record<string, unknown>).c = new A.ImmutableString('3') })
    expect(verifierFor(() => mine).check(syncData(anon, mine))).toMatchObject({ ok: false, reason: 'unknown-actor' })
    // Once the certificate is known, a later change with missing dependencies is judged in full.
    roster.revoked.add(m.publicKeyHex)
    expect(verifierFor(() => withCert).check(onlySecond)).toMatchObject({ ok: false, reason: 'revoked' })
  })

  it('judges a queued change when its certificate arrives, and refuses the message that would release it', () => {
    const { roster, verifierFor } = setup()
    const m = roster.add(newTestMember())
    const w0 = fromGenesis()
    const actor = actorOf(w0)
    const w1 = certifiedWrite(w0, TestRoster.certify(m, actor), 'a', '1')
    const first = A.getChanges(fromGenesis(), A.clone(w1))
    const w2 = A.change(w1, x => { (x.members as Record<string, unknown>).b = new A.ImmutableString('2') })
    // The revocation (cutoff seq 1) is already merged here; the verifier has not seen actor's certificate.
    const revoker = roster.add(newTestMember())
    let mine = fromGenesis()
    const mineActor = actorOf(mine)
    mine = A.change(mine, x => {
      (x.actors as Record<string, unknown>)[mineActor] = new A.ImmutableString(TestRoster.certify(revoker, mineActor))
      ;(x.revocations as Record<string, unknown>)[m.publicKeyHex] = new A.ImmutableString(JSON.stringify({ publicKey: m.publicKeyHex, revocation: 'r', revokedAt: 1, revokedBy: 'p', actorSeqCutoff: { [actor]: 1 } }))
    })
    const v = verifierFor(() => mine)
    const second = A.encodeSyncMessage({ heads: A.getHeads(w2), need: [], have: [], changes: A.getChanges(w1, w2) })
    expect(v.check(second)).toMatchObject({ ok: true, waiting: 1 })
    const firstMsg = A.encodeSyncMessage({ heads: A.getHeads(w2), need: [], have: [], changes: first })
    expect(v.check(firstMsg)).toMatchObject({ ok: false, reason: 'revoked', detail: expect.stringContaining('queued earlier') })
  })

  it('refuses undecodable sync data without throwing', () => {
    const { verifierFor } = setup()
    const mine = fromGenesis()
    expect(verifierFor(() => mine).check(new Uint8Array([0x42, 0, 1, 2]))).toMatchObject({ ok: false, reason: 'malformed' })
  })
})

describe('heldBy', () => {
  it('answers as A.hasHeads does for merged, queued (dependencies missing) and unknown changes', () => {
    let base = fromGenesis()
    for (let i = 0; i < 5; i++) base = A.change(base, d => { (d.members as Record<string, unknown>)[`k${i}`] = new A.ImmutableString(`v${i}`) })
    let other = A.clone(base, { actor: 'bb'.repeat(16) })
    other = A.change(other, d => { (d.members as Record<string, unknown>).x = 1 })
    const first = A.getLastLocalChange(other) as Uint8Array
    other = A.change(other, d => { (d.members as Record<string, unknown>).y = 2 })
    const second = A.getLastLocalChange(other) as Uint8Array
    // `second` arrives without `first`: automerge queues it
    const doc = A.applyChanges(A.clone(base), [second])[0]
    const merged = A.getChangesMetaSince(doc, []).map(m => m.hash)
    const queued = A.decodeChange(second).hash
    const absent = A.decodeChange(first).hash
    const unknown = 'ab'.repeat(32)
    const asked = [...merged, queued, absent, unknown]
    expect(A.hasHeads(doc, [queued])).toBe(false)
    const held = heldBy(doc as A.Doc<unknown>, asked)
    for (const h of asked) expect(held(h), h).toBe(A.hasHeads(doc, [h]))
    expect(merged.every(h => held(h))).toBe(true)
    expect([queued, absent, unknown].some(h => held(h))).toBe(false)
    // hashes it was not told about up front get the same answer
    const late = heldBy(doc as A.Doc<unknown>, [])
    for (const h of asked) expect(late(h), h).toBe(A.hasHeads(doc, [h]))
  })
})
