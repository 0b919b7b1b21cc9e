/**
 * Placement claims as the flow manager keeps them in the swarm document: one per (node, peer),
 * under `flow/node/<peerId>`, written only by that peer. An Automerge map keeps one value per key,
 * chosen by operation order; with a key per peer, the claims both sides of a partition wrote stay
 * readable after the heal, and every peer applies the same heal rule to them (`resolveConflict`:
 * highest epoch, then HRW score, then smaller peer id). Pure functions, no I/O.
 */
import type { ClaimRecord } from '../../crdt-state/index.ts'
import { hrwScore, resolveConflict } from '../placement/index.ts'

/** A node's key: `flow/node` (flow names and node ids never contain '/'). */
export const nodeKey = (flow: string, node: string): string => `${flow}/${node}`

/** Where a peer writes its claim and its instance record for a node. */
export const peerKey = (key: string, peer: string): string => `${key}/${peer}`

/** The node key a claim is about: `flow/node/<peerId>` (its own peer), or `flow/node` as written by earlier versions. */
export function nodeKeyOfClaim (docKey: string, claim: { peerId: string }): string | undefined {
  const parts = docKey.split('/')
  if (parts.length === 2) return docKey
  if (parts.length === 3 && parts[2] === claim.peerId) return `${parts[0]}/${parts[1]}`
  return undefined
}

export interface Contender { docKey: string, claim: ClaimRecord }
export interface Holding { peerId: string, epoch: number, docKey: string }

export interface ClaimIndex {
  /** Node key → every claim on it. */
  byNode: Map<string, Contender[]>
  /** Document keys that are neither `flow/node` nor `flow/node/<the claim's own peer>`. */
  ignored: string[]
}

/** Groups the document's claims by node. */
export function indexClaims (claims: Readonly<Record<string, ClaimRecord>>): ClaimIndex {
  const byNode = new Map<string, Contender[]>()
  const ignored: string[] = []
  for (const [docKey, claim] of Object.entries(claims)) {
    const key = nodeKeyOfClaim(docKey, claim)
    if (key === undefined) { ignored.push(docKey); continue }
    const list = byNode.get(key)
    if (list) list.push({ docKey, claim })
    else byNode.set(key, [{ docKey, claim }])
  }
  return { byNode, ignored }
}

/** The holder of every claimed node by the heal rule; the same on every peer whatever the order of the claims. */
export function resolveHolders (index: ClaimIndex): Record<string, Holding> {
  const out: Record<string, Holding> = {}
  for (const [key, cs] of index.byNode) {
    let best: { peerId: string, epoch: number, score: number, docKey: string } | undefined
    for (const { docKey, claim } of cs) {
      const c = { peerId: claim.peerId, epoch: claim.epoch, score: hrwScore(claim.peerId, key), docKey }
      best = best === undefined ? c : resolveConflict(best, c)
    }
    if (best) out[key] = { peerId: best.peerId, epoch: best.epoch, docKey: best.docKey }
  }
  return out
}

/**
 * The document keys of `self`'s claims to withdraw: on nodes it does not hold now, those another
 * claim beats, and those of flows that are gone. Never the winning claim of a node that still
 * exists: removing it would lose the epoch history new holders count from.
 */
export function claimsToWithdraw (index: ClaimIndex, holders: Readonly<Record<string, Holding>>, self: string, held: ReadonlySet<string>, flowExists: (flow: string) => boolean): string[] {
  const out: string[] = []
  for (const [key, cs] of index.byNode) {
    if (held.has(key)) continue
    const win = holders[key]
    const gone = !flowExists(key.split('/')[0] as string)
    for (const { docKey, claim } of cs) {
      if (claim.peerId !== self) continue
      if (gone || (win !== undefined && win.docKey !== docKey)) out.push(docKey)
    }
  }
  return out
}
