/**
 * Authorship checks on incoming sync data, run BEFORE automerge-repo merges it.
 *
 * Every change names its Automerge actor. An actor is accepted when the document (or the message
 * itself — a new member's first change carries its own certificate) holds an actor certificate
 * for it, signed by a current member key that is not revoked. Changes a revoked member made before
 * its revocation (seq ≤ the revocation's cutoff for that actor) stay acceptable so that new peers
 * can still load the history. The genesis actor may only ever have authored the genesis change.
 * A message with any unacceptable new change is refused as a whole.
 */
import * as A from '@automerge/automerge'
import type { Logger } from '../common/log.ts'
import { GENESIS_ACTOR } from './genesis.ts'
import { checkRevocation, decodeRecord, storedString } from './schema.ts'
import type { RevocationRecord, SwarmDocumentAuthz, SwarmDocumentCounters } from './interfaces.ts'

export type RejectReason = keyof SwarmDocumentCounters['rejectedChanges']

/**
 * `data`, when present, replaces the message's sync data: the changes that could not be checked yet
 * (`deferred`, missing dependencies) were stripped from it.
 */
export type Verdict =
  | { ok: true, newChanges: number, deferred?: number, data?: Uint8Array | undefined }
  | { ok: false, reason: RejectReason, actor?: string, detail: string }

interface ChangeMeta { actor: string, seq: number, hash: string }

// Automerge chunk header: 4 magic bytes, 4 checksum bytes, then the chunk type.
const CHUNK_TYPE_OFFSET = 8
const CHUNK_DOCUMENT = 0
const CHUNK_CHANGE = 1
const CHUNK_COMPRESSED_CHANGE = 2

export interface ChangeVerifier {
  check(syncData: Uint8Array): Verdict
  /** Member key behind an actor whose certificate in `doc` verifies (cached once verified). */
  memberOf(doc: A.Doc<unknown>, actorId: string): string | undefined
  /** Records that fail `authz.verifyRevocation` are ignored everywhere. */
  readRevocation(doc: A.Doc<unknown>, publicKeyHex: string): RevocationRecord | undefined
}

export function createChangeVerifier (deps: {
  authz: SwarmDocumentAuthz
  logger: Logger
  genesisHash: string
  /** The document as merged so far. */
  currentDoc: () => A.Doc<unknown>
}): ChangeVerifier {
  const { authz, logger, genesisHash } = deps
  // Certificates are immutable facts: once an actor's certificate verified, remember its member key.
  const actorMember = new Map<string, string>()

  const safe = <T>(what: string, fn: () => T, fallback: T): T => {
    try { return fn() } catch (err) {
      logger.warn({ err, what }, 'authz callback threw; treating as a rejection')
      return fallback
    }
  }

  const readRevocation = (doc: A.Doc<unknown>, pub: string): RevocationRecord | undefined => {
    const section = (doc as Record<string, unknown>).revocations
    if (typeof section !== 'object' || section === null) return undefined
    const rec = decodeRecord<RevocationRecord>((section as Record<string, unknown>)[pub], checkRevocation)
    if (rec === undefined || rec.publicKey !== pub) return undefined
    if (authz.verifyRevocation !== undefined) {
      const v = safe('verifyRevocation', () => authz.verifyRevocation?.(rec.revocation), { ok: false as const, reason: 'threw' })
      if (v === undefined || !v.ok || v.memberPublicKeyHex !== pub) return undefined
    }
    return rec
  }

  /** Verified member key of an actor, looking at every concurrent value of actors[actor] in `doc`. */
  const resolveActor = (doc: A.Doc<unknown>, actor: string): string | undefined => {
    const known = actorMember.get(actor)
    if (known !== undefined) return known
    const actors = (doc as Record<string, unknown>).actors
    if (typeof actors !== 'object' || actors === null) return undefined
    const candidates: unknown[] = [(actors as Record<string, unknown>)[actor]]
    // A member can overwrite another actor's entry; every concurrent value is a candidate.
    const conflicts = safe('getConflicts', () => A.getConflicts(actors as A.Doc<unknown>, actor), undefined)
    if (conflicts !== undefined) candidates.push(...Object.values(conflicts))
    for (const c of candidates) {
      const cert = storedString(c)
      if (cert === undefined) continue
      const v = safe('verifyActorCert', () => authz.verifyActorCert(cert, actor), { ok: false as const, reason: 'threw' })
      if (v.ok) {
        actorMember.set(actor, v.memberPublicKeyHex)
        return v.memberPublicKeyHex
      }
      logger.debug({ actor, reason: v.reason }, 'actor certificate did not verify')
    }
    return undefined
  }

  const judge = (c: ChangeMeta, view: A.Doc<unknown>, current: A.Doc<unknown>): Verdict | null => {
    if (c.actor === GENESIS_ACTOR) {
      return c.hash === genesisHash ? null : { ok: false, reason: 'forged-genesis', actor: c.actor, detail: `change ${c.hash} claims the genesis actor` }
    }
    const pub = resolveActor(view, c.actor)
    if (pub === undefined) return { ok: false, reason: 'unknown-actor', actor: c.actor, detail: `no valid actor certificate for ${c.actor}` }
    // Prefer the revocation already merged: a message must not be able to raise its own cutoff.
    const rev = readRevocation(current, pub) ?? readRevocation(view, pub)
    if (rev !== undefined || safe('isRevoked', () => authz.isRevoked(pub), true)) {
      const cutoff = rev?.actorSeqCutoff?.[c.actor] ?? 0
      if (c.seq > cutoff) return { ok: false, reason: 'revoked', actor: c.actor, detail: `member ${pub} is revoked; change seq ${c.seq} > cutoff ${cutoff}` }
      return null
    }
    if (!safe('isCurrentMember', () => authz.isCurrentMember(pub), false)) {
      return { ok: false, reason: 'not-member', actor: c.actor, detail: `member key ${pub} is not a current member` }
    }
    return null
  }

  return {
    memberOf: resolveActor,
    readRevocation,
    check (syncData) {
      let decoded: A.DecodedSyncMessage
      try { decoded = A.decodeSyncMessage(syncData) } catch (err) {
        return { ok: false, reason: 'malformed', detail: `undecodable sync message: ${(err as Error).message}` }
      }
      if (decoded.changes.length === 0) return { ok: true, newChanges: 0 }
      const current = deps.currentDoc()
      const docChunks: A.Doc<unknown>[] = []
      try {
        const fresh: ChangeMeta[] = []
        const pending: Array<ChangeMeta & { chunk: Uint8Array, deps: string[] }> = []
        const keptDocChunks: Uint8Array[] = []
        for (const chunk of decoded.changes) {
          const type = chunk[CHUNK_TYPE_OFFSET]
          try {
            if (type === CHUNK_CHANGE || type === CHUNK_COMPRESSED_CHANGE) {
              const d = A.decodeChange(chunk)
              if (!A.hasHeads(current, [d.hash])) pending.push({ actor: d.actor, seq: d.seq, hash: d.hash, chunk, deps: d.deps })
            } else if (type === CHUNK_DOCUMENT) {
              // Automerge sends a whole document when the peer misses much of the history; it is self-contained.
              const whole = A.load<unknown>(chunk)
              docChunks.push(whole)
              keptDocChunks.push(chunk)
              for (const m of A.getChangesMetaSince(whole, [])) {
                if (!A.hasHeads(current, [m.hash])) fresh.push({ actor: m.actor, seq: m.seq, hash: m.hash })
              }
            } else {
              return { ok: false, reason: 'malformed', detail: `unknown chunk type ${String(type)}` }
            }
          } catch (err) {
            return { ok: false, reason: 'malformed', detail: `undecodable change: ${(err as Error).message}` }
          }
        }

        // Only changes whose dependencies are present can be checked now. Automerge would queue the
        // others and apply them later, unchecked, when their dependencies arrive — so they are
        // stripped from the message; the sync protocol asks for them again (as after a Bloom-filter
        // false positive) and they are checked then.
        const known = new Set<string>(fresh.map(c => c.hash))
        const applicable: typeof pending = []
        let progress = true
        while (progress) {
          progress = false
          for (let i = 0; i < pending.length; i++) {
            const c = pending[i]
            if (c === undefined || known.has(c.hash)) continue
            if (c.deps.every(dep => known.has(dep) || A.hasHeads(current, [dep]))) {
              known.add(c.hash)
              applicable.push(c)
              progress = true
            }
          }
        }
        const deferred = pending.length - applicable.length
        fresh.push(...applicable)
        let data: Uint8Array | undefined
        if (deferred > 0) {
          data = A.encodeSyncMessage({ ...decoded, changes: [...keptDocChunks, ...applicable.map(c => c.chunk)] })
        }
        if (fresh.length === 0) return { ok: true, newChanges: 0, deferred, data }

        let failure: Verdict | null = null
        for (const c of fresh) {
          failure = judge(c, current, current)
          if (failure !== null) break
        }
        if (failure === null) return { ok: true, newChanges: fresh.length, deferred, data }

        // Some actor is not known yet: look again at the document as it would be after this message,
        // which may carry the actor's certificate (a new member's first change) — merged into a copy only.
        let trial: A.Doc<unknown>
        try {
          trial = A.clone(current)
        } catch (err) {
          return { ok: false, reason: 'malformed', detail: `cannot copy the document: ${(err as Error).message}` }
        }
        try {
          if (applicable.length > 0) [trial] = A.applyChanges(trial, applicable.map(c => c.chunk))
          for (const whole of docChunks) trial = A.merge(trial, whole)
          for (const c of fresh) {
            const v = judge(c, trial, current)
            if (v !== null) return v
          }
          return { ok: true, newChanges: fresh.length, deferred, data }
        } catch (err) {
          return { ok: false, reason: 'malformed', detail: `changes do not apply: ${(err as Error).message}` }
        } finally {
          // wasm memory is not garbage-collected promptly; the trial copy is as large as the document.
          A.free(trial)
        }
      } finally {
        for (const whole of docChunks) A.free(whole)
      }
    },
  }
}
