import type { Logger } from '../../common/log.ts'
import type { Hello, PeerIdString } from '../../mesh/index.ts'
import type { SwarmDocument, RedemptionRecord } from '../../crdt-state/index.ts'
import type { Trust } from './trust.ts'

/**
 * What admitting a member writes to the swarm document: its member record and its invite's
 * redemption, by whoever admits it first.
 *
 * The writes wait until this peer's initial document sync is over (SwarmDocument.whenSynced):
 * before that the document may lack every record, and a joining peer would write one of each for
 * every member that dials it (measured with ten members: nine records and nine redemptions, each
 * sent on at once, and each made the member seeding the joiner send it the whole document again).
 *
 * The redemption check cannot wait: an invite admits one key, and a peer still in its first sync
 * must refuse a second key on an invite it has just accepted. So the redemptions this peer accepted
 * but has not written yet are held here and checked with the document's.
 */
export interface Admissions {
  /** Throws InviteAlreadyUsedError (from Trust.checkRedemption) when another key holds this invite. */
  admit(peer: PeerIdString, hello: Hello, member: ReturnType<Trust['verifyMember']>): void
  /** Redemptions accepted here and not yet in the document. */
  pendingRedemptions(): number
  /** Keys admitted here before the first sync whose invite turned out to be another key's. */
  readonly counters: { inviteConflicts: number }
  /** Stops writing: admissions still waiting for the first sync are dropped. */
  close(): void
}

export function createAdmissions (deps: {
  doc: SwarmDocument
  checkRedemption: Trust['checkRedemption']
  logger: Logger
  /**
   * A key admitted before the first sync on an invite the synced document says another key
   * redeemed first: it is not written as a member, and the caller cuts it off (its next
   * handshake is refused from the document).
   */
  onInviteConflict?: (peer: PeerIdString) => void
}): Admissions {
  const { doc, logger: log } = deps
  const pending = new Map<string, RedemptionRecord>()
  /** One write per peer waits for the first sync: the latest hello counts. */
  const waiting = new Map<PeerIdString, { hello: Hello, member: ReturnType<Trust['verifyMember']> }>()
  const counters = { inviteConflicts: 0 }
  let closed = false
  const redemptionOf = (inviteId: string): RedemptionRecord | undefined => doc.getRedemptions().find(r => r.inviteId === inviteId)

  const write = (peer: PeerIdString): void => {
    const w = waiting.get(peer)
    waiting.delete(peer)
    if (closed || w === undefined) return
    const { hello, member } = w
    const inviteId = member.inviteId
    if (inviteId !== undefined) {
      // admit() let this key in only if the invite was free or already its own, here or in the document
      pending.delete(inviteId)
      // Whoever reached the document first (here or on another peer) is the redemption on record.
      const onRecord = redemptionOf(inviteId)
      if (onRecord === undefined) {
        doc.recordRedemption(inviteId, member.publicKeyHex)
      } else if (onRecord.memberPublicKey !== member.publicKeyHex) {
        counters.inviteConflicts++
        log.warn({ peer, inviteId, redeemedBy: onRecord.memberPublicKey.slice(0, 16) }, 'admitted before the first sync on an invite another key redeemed first; cutting it off')
        deps.onInviteConflict?.(peer)
        return
      }
    }
    if (!doc.getMember(peer)) {
      doc.upsertMember({
        peerId: peer, publicKey: member.publicKeyHex, certificate: hello.cert, name: member.name ?? hello.name,
        caps: hello.caps, labels: hello.labels, resources: {}, addresses: hello.addrs,
        softwareVersion: hello.version, joinedAt: Date.now(), updatedAt: Date.now(),
      })
    }
  }

  return {
    admit (peer, hello, member) {
      const inviteId = member.inviteId
      if (inviteId !== undefined) {
        const prior = redemptionOf(inviteId) ?? pending.get(inviteId)
        deps.checkRedemption(hello.cert, prior)
        if (prior === undefined) pending.set(inviteId, { inviteId, memberPublicKey: member.publicKeyHex, at: Date.now() })
      }
      const already = waiting.has(peer)
      waiting.set(peer, { hello, member })
      if (already) return
      void doc.whenSynced()
        .then(() => { write(peer) })
        .catch((err: unknown) => log.warn({ err, peer }, 'could not record an admitted member in the document'))
    },
    pendingRedemptions: () => pending.size,
    counters,
    close () { closed = true },
  }
}
