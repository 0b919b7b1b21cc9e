import { describe, expect, it } from 'vitest'
import * as A from '@automerge/automerge'
import { isValidDocumentId } from '@automerge/automerge-repo'
import { GENESIS_ACTOR, genesisChange, genesisHash, swarmDocumentId } from './genesis.ts'

describe('genesis', () => {
  it('is byte-identical for one swarm id and differs between swarms', () => {
    const a = genesisChange('swarm-1')
    const b = genesisChange('swarm-1')
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true)
    expect(Buffer.from(genesisChange('swarm-2')).equals(Buffer.from(a))).toBe(false)
    const d = A.decodeChange(a)
    expect(d.actor).toBe(GENESIS_ACTOR)
    expect(d.time).toBe(0)
    expect(d.seq).toBe(1)
  })

  it('has a stable hash across automerge versions (golden value; a change here breaks existing swarms)', () => {
    expect(genesisHash('swarm-1')).toMatchInlineSnapshot(`"f6739263bf1511d931ae6f8067f627cce5dec4e46d33e86189d7a8c7113a537b"`)
  })

  it('derives a valid, stable document id from the swarm id', () => {
    const id = swarmDocumentId('swarm-1')
    expect(isValidDocumentId(id)).toBe(true)
    expect(swarmDocumentId('swarm-1')).toBe(id)
    expect(swarmDocumentId('swarm-2')).not.toBe(id)
  })

  it('lets two peers that each add members from genesis merge without losing either side', () => {
    const g = genesisChange('swarm-1')
    let p1 = A.applyChanges(A.init<Record<string, Record<string, unknown>>>(), [g])[0]
    let p2 = A.applyChanges(A.init<Record<string, Record<string, unknown>>>(), [g])[0]
    p1 = A.change(p1, d => { (d.members as Record<string, unknown>).a = 1 })
    p2 = A.change(p2, d => { (d.members as Record<string, unknown>).b = 2 })
    const merged = A.merge(p1, p2)
    expect(Object.keys(merged.members ?? {}).sort()).toEqual(['a', 'b'])
  })
})
