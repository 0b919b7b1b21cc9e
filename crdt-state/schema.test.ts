import { describe, expect, it } from 'vitest'
import * as A from '@automerge/automerge'
import { checkDataflow, checkMember, decodeRecord, encodeRecord, MAX_RECORD_BYTES } from './schema.ts'

const member = {
  peerId: '12D3KooWx', publicKey: 'ab'.repeat(32), certificate: 'c', name: 'n', caps: ['gpu'], labels: { zone: 'a' },
  resources: { cpu: 2 }, addresses: ['/ip4/127.0.0.1/tcp/1'], softwareVersion: '0.1.0', joinedAt: 1, updatedAt: 2,
}

describe('record schema', () => {
  it('round-trips a valid record through an immutable string', () => {
    const enc = encodeRecord(member, checkMember)
    expect(enc).toBeInstanceOf(A.ImmutableString)
    expect(decodeRecord(enc, checkMember)).toEqual(member)
  })

  it('names the first problem of an invalid record', () => {
    expect(encodeRecord({ ...member, publicKey: 'XY' }, checkMember)).toMatch(/publicKey/)
    expect(encodeRecord({ ...member, resources: { cpu: -1 } }, checkMember)).toMatch(/resources/)
    expect(encodeRecord({ ...member, labels: { a: 1 } }, checkMember)).toMatch(/labels/)
    expect(encodeRecord({ name: 'f', spec: { x: Number.NaN }, state: 'running', version: 1, deployedBy: 'p', deployedAt: 1 }, checkDataflow)).toMatch(/spec/)
    expect(encodeRecord({ ...member, name: 'x'.repeat(MAX_RECORD_BYTES) }, checkMember)).toMatch(/limit/)
  })

  it('reads whatever the network stored as unknown and drops what does not validate', () => {
    expect(decodeRecord(undefined, checkMember)).toBeUndefined()
    expect(decodeRecord(42, checkMember)).toBeUndefined()
    expect(decodeRecord('{not json', checkMember)).toBeUndefined()
    expect(decodeRecord(new A.ImmutableString(JSON.stringify({ ...member, caps: 'gpu' })), checkMember)).toBeUndefined()
    expect(decodeRecord(JSON.stringify(member), checkMember)).toEqual(member) // written as text by a foreign writer
  })

  it('decodes a stored value once per check, reuses it while the document keeps the value, and freezes it', () => {
    let doc = A.from<Record<string, Record<string, unknown>>>({ members: {} })
    doc = A.change(doc, d => { (d.members as Record<string, unknown>).a = encodeRecord(member, checkMember); (d.members as Record<string, unknown>).b = encodeRecord({ ...member, name: 'b' }, checkMember) })
    const first = decodeRecord<typeof member>(doc.members?.a, checkMember)
    expect(first).toEqual(member)
    expect(Object.isFrozen(first)).toBe(true)
    expect(Object.isFrozen(first?.labels)).toBe(true)
    expect(() => { (first as { caps: string[] }).caps.push('x') }).toThrow(TypeError)
    // another key changes (here a merge of a concurrent change): the untouched value is the same object
    let other = A.clone(doc)
    other = A.change(other, d => { (d.members as Record<string, unknown>).b = encodeRecord({ ...member, name: 'b2' }, checkMember) })
    doc = A.merge(doc, other)
    expect(decodeRecord(doc.members?.a, checkMember)).toBe(first)
    expect(decodeRecord<typeof member>(doc.members?.b, checkMember)?.name).toBe('b2')
    // the key itself rewritten: decoded afresh
    doc = A.change(doc, d => { (d.members as Record<string, unknown>).a = encodeRecord({ ...member, name: 'a2' }, checkMember) })
    expect(decodeRecord<typeof member>(doc.members?.a, checkMember)?.name).toBe('a2')
    // one value judged by another check gets that check's own answer, both ways
    const v = doc.members?.a
    expect(decodeRecord(v, checkDataflow)).toBeUndefined()
    expect(decodeRecord<typeof member>(v, checkMember)?.name).toBe('a2')
    expect(decodeRecord(v, checkDataflow)).toBeUndefined()
  })
})
