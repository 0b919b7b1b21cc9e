import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import type { ClaimRecord } from '../../crdt-state/index.ts'
import { hrwScore } from '../placement/index.ts'
import { indexClaims, resolveHolders, claimsToWithdraw, nodeKeyOfClaim, peerKey } from './claims.ts'

const P1 = '12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1'
const P2 = '12D3KooWBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB2'
const P3 = '12D3KooWCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC3'
const K = 'pipe/producer'
const claim = (peerId: string, epoch: number, at = 0): ClaimRecord => ({ peerId, epoch, at })

describe('claims per peer', () => {
  it('reads flow/node/<peer> and legacy flow/node keys; a key naming another peer is ignored', () => {
    expect(nodeKeyOfClaim(peerKey(K, P1), claim(P1, 1))).toBe(K)
    expect(nodeKeyOfClaim(K, claim(P1, 1))).toBe(K)
    expect(nodeKeyOfClaim(peerKey(K, P2), claim(P1, 1))).toBeUndefined()
    expect(nodeKeyOfClaim('a/b/c/d', claim(P1, 1))).toBeUndefined()
    const idx = indexClaims({ [peerKey(K, P1)]: claim(P1, 1), [peerKey(K, P3)]: claim(P2, 9), x: claim(P1, 1) })
    expect(idx.ignored.sort()).toEqual([peerKey(K, P3), 'x'].sort())
    expect(idx.byNode.get(K)?.length).toBe(1)
  })

  it('after a heal the highest epoch wins, whichever side wrote last', () => {
    // side A kept P1 at epoch 1 and moved nothing; side B elected P2 (epoch 2) then P3 (epoch 3)
    const h = resolveHolders(indexClaims({ [peerKey(K, P1)]: claim(P1, 1, 999), [peerKey(K, P2)]: claim(P2, 2, 5), [peerKey(K, P3)]: claim(P3, 3, 1), [K]: claim(P1, 1) }))
    expect(h[K]).toMatchObject({ peerId: P3, epoch: 3, docKey: peerKey(K, P3) })
  })

  it('equal epochs go to the higher HRW score, then the smaller peer id; the answer ignores order', () => {
    const [hi, lo] = hrwScore(P1, K) > hrwScore(P2, K) ? [P1, P2] : [P2, P1]
    const h = resolveHolders(indexClaims({ [peerKey(K, lo)]: claim(lo, 4), [peerKey(K, hi)]: claim(hi, 4) }))
    expect(h[K]?.peerId).toBe(hi)
    fc.assert(fc.property(fc.shuffledSubarray([[P1, 2], [P2, 5], [P3, 5], [P1, 5]] as Array<[string, number]>, { minLength: 1 }), (entries) => {
      const recs = Object.fromEntries(entries.map(([p, e], i) => [i === 3 ? K : peerKey(K, p), claim(p, e)]))
      const reversed = Object.fromEntries(Object.entries(recs).reverse())
      expect(resolveHolders(indexClaims(reversed))).toEqual(resolveHolders(indexClaims(recs)))
    }))
  })

  it('a peer withdraws only its claims that lost, and all its claims of removed flows', () => {
    const idx = indexClaims({
      [peerKey(K, P1)]: claim(P1, 1), [peerKey(K, P2)]: claim(P2, 2), // P1 lost pipe/producer
      [peerKey('pipe/consumer', P1)]: claim(P1, 3), // P1 still the winner (holder dead or flow stopped): kept
      [peerKey('gone/x', P1)]: claim(P1, 1), // flow removed
    })
    const holders = resolveHolders(idx)
    const out = claimsToWithdraw(idx, holders, P1, new Set(), f => f === 'pipe')
    expect(out.sort()).toEqual([peerKey(K, P1), peerKey('gone/x', P1)].sort())
    // nothing of a node P1 holds now, and nothing of other peers
    expect(claimsToWithdraw(idx, holders, P1, new Set([K]), () => true)).toEqual([])
    expect(claimsToWithdraw(idx, holders, P3, new Set(), () => false)).toEqual([])
  })
})
