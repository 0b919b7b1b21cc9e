import { createHash } from 'node:crypto'
import * as A from '@automerge/automerge'
import { interpretAsDocumentId, type BinaryDocumentId, type DocumentId } from '@automerge/automerge-repo'

/**
 * Fixed actor of the genesis change ("SWRMFLOW-GENESIS" in ASCII). Every peer must produce the same
 * genesis bytes: two peers that each create the top-level maps with their own actors would lose one
 * side's maps on merge, and two different genesis changes from this one actor would fail to merge
 * with "duplicate seq". Changes by this actor other than the genesis itself are rejected.
 */
export const GENESIS_ACTOR = '5357524d464c4f572d47454e45534953'

const GENESIS_MESSAGE = 'swarmflow genesis v1'

/** Top-level maps created by genesis. Records inside them are single immutable strings (JSON). */
export const SECTIONS = ['members', 'revocations', 'redeemed', 'actors', 'dataflows', 'claims', 'instances', 'files'] as const

/**
 * The genesis change for a swarm: depends only on the swarm id (not on the name, which peers could
 * disagree about and which would then break merging), fixed actor, time 0, fixed message.
 */
export function genesisChange (swarmId: string): Uint8Array {
  let doc = A.init<Record<string, unknown>>({ actor: GENESIS_ACTOR })
  doc = A.change(doc, { time: 0, message: GENESIS_MESSAGE }, d => {
    d.swarm = { id: new A.ImmutableString(swarmId) }
    for (const s of SECTIONS) d[s] = {}
  })
  const change = A.getLastLocalChange(doc)
  // getLastLocalChange is only undefined for a document without local changes; we just made one.
  if (change === undefined) throw new TypeError('automerge produced no genesis change')
  return change
}

export function genesisHash (swarmId: string): string {
  return A.decodeChange(genesisChange(swarmId)).hash
}

/**
 * The automerge-repo document id of a swarm: 16 bytes of sha256 over a domain-separated swarm id,
 * in the bs58check form automerge-repo expects. Every peer derives the same id without talking.
 */
export function swarmDocumentId (swarmId: string): DocumentId {
  const digest = createHash('sha256').update('swarmflow/doc/v1\0').update(swarmId).digest()
  return interpretAsDocumentId(new Uint8Array(digest.subarray(0, 16)) as BinaryDocumentId)
}

/**
 * Object ids of the top-level sections. They are created by the genesis change, so they are the same
 * in every swarm ("<counter>@<genesis actor>"); authorship checks read certificates and revocations
 * straight from incoming ops with them.
 */
export function sectionObjectIds (): Record<'actors' | 'revocations', string> {
  const doc = A.applyChanges(A.init<Record<string, unknown>>(), [genesisChange('any')])[0]
  const id = (k: 'actors' | 'revocations'): string => {
    const v = A.getObjectId(doc[k] as object)
    if (v === null) throw new TypeError(`genesis lacks the ${k} section`)
    return v
  }
  const out = { actors: id('actors'), revocations: id('revocations') }
  A.free(doc)
  return out
}
