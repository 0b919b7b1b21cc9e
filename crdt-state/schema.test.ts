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
})
