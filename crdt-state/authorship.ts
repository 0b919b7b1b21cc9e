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
import { GENESIS_ACTOR, sectionObjectIds } from './genesis.ts'
import { checkRevocation, decodeRecord, storedString } from './schema.ts'
import type { RevocationRecord, SwarmDocumentAuthz, SwarmDocumentCounters } from './interfaces.ts'

export type RejectReason = keyof SwarmDocumentCounters['rejectedChanges']

/** `waiting`: changes let through unjudged because neither their dependencies nor their actor's certificate have arrived. */
export type Rejection = { ok: false, reason: RejectReason, actor?: string, detail: string }
/** `heads`: the heads the sender advertised in the message. */
export type Verdict = { ok: true, newChanges: number, waiting?: number, heads: string[] } | Rejection

interface ChangeMeta { actor: string, seq: number, hash: string }

const MAX_WAITING_ACTORS = 256
const MAX_WAITING_PER_ACTOR = 1024

// Automerge chunk header: 4 magic bytes, 4 checksum bytes, then the chunk type.
const CHUNK_TYPE_OFFSET = 8
const CHUNK_DOCUMENT = 0
const CHUNK_CHANGE = 1
const CHUNK_COMPRESSED_CHANGE = 2
const CHUNK_MAGIC = [0x85, 0x6f, 0x4a, 0x83]

/**
 * One entry of a sync message's `changes` may hold several chunks back to back (Automerge sends
 * concatenated change chunks; seen here: a 291-byte and a 1428-byte change in one entry, which
 * `decodeChange` refuses with "leftover data after parsing"). Splits on the chunk framing:
 * magic (4) + checksum (4) + type (1) + ULEB128 length + body. Bytes that do not frame cleanly are
 * returned whole, for the caller's decoder to refuse.
 */
export function splitChunks (bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  let off = 0
  while (off < bytes.length) {
    if (bytes.length - off < 10 || CHUNK_MAGIC.some((m, i) => bytes[off + i] !== m)) return off === 0 ? [bytes] : [...out, bytes.subarray(off)]
    let len = 0
    let shift = 0
    let p = off + 9
    for (;;) {
      if (p >= bytes.length || shift > 28) return [...out, bytes.subarray(off)]
      const b = bytes[p++] as number
      len += (b & 0x7f) * 2 ** shift
      shift += 7
      if ((b & 0x80) === 0) break
    }
    const end = p + len
    if (end > bytes.length) return [...out, bytes.subarray(off)]
    out.push(bytes.subarray(off, end))
    off = end
  }
  return out
}

/**
 * Whether the document's history holds each hash: the answer of `A.hasHeads(doc, [hash])` (a change
 * queued for missing dependencies is not held), for a whole batch. hasHeads rebuilds every change it
 * is asked about (~110 µs each on a 1 MB document); one getMissingDeps call answers every hash it
 * lists as missing (~5 µs each), and only the others (held, or queued) are looked up one by one.
 */
export function heldBy (doc: A.Doc<unknown>, hashes: string[]): (hash: string) => boolean {
  const answers = new Map<string, boolean>()
  let missing: Set<string> | undefined
  let backend: { getChangeMetaByHash?: (h: string) => unknown } | undefined
  try {
    missing = new Set(A.getMissingDeps(doc, [...new Set(hashes)]))
    backend = A.getBackend(doc) as unknown as typeof backend
  } catch {
    missing = undefined
  }
  return (hash) => {
    const known = answers.get(hash)
    if (known !== undefined) return known
    let answer: boolean
    if (missing?.has(hash) === true) answer = false
    else if (missing !== undefined && typeof backend?.getChangeMetaByHash === 'function') answer = backend.getChangeMetaByHash(hash) !== null
    else answer = A.hasHeads(doc, [hash])
    answers.set(hash, answer)
    return answer
  }
}

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
  const sectionIds = sectionObjectIds()
  // Certificates are immutable facts: once an actor's certificate verified, remember its member key.
  const actorMember = new Map<string, string>()
  // Changes let through unjudged (deps and certificate missing), to judge once the certificate arrives.
  const waitingByActor = new Map<string, ChangeMeta[]>()

  const safe = <T>(what: string, fn: () => T, fallback: T): T => {
    try { return fn() } catch (err) {
      logger.warn({ err, what }, 'authz callback threw; treating as a rejection')
      return fallback
    }
  }

  const readRevocation = (doc: A.Doc<unknown>, pub: string): RevocationRecord | undefined => {
    const section = (doc as Record<string, unknown>).revocations
    if (typeof section !== 'object' || section === null) return undefined
    return revocationFromValue((section as Record<string, unknown>)[pub], pub)
  }

  /** A stored revocation value, if it is well formed, about `pub`, and (when authz can tell) signed by the swarm root. */
  const revocationFromValue = (value: unknown, pub: string): RevocationRecord | undefined => {
    const rec = decodeRecord<RevocationRecord>(value, checkRevocation)
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

  /** What a message brings besides its changes: certificates and revocations it writes. */
  interface Evidence {
    certs: Map<string, string[]>
    revocations: Map<string, string[]>
    wholes: A.Doc<unknown>[]
  }


  const actorFromEvidence = (actor: string, ev: Evidence): string | undefined => {
    for (const cert of ev.certs.get(actor) ?? []) {
      const v = safe('verifyActorCert', () => authz.verifyActorCert(cert, actor), { ok: false as const, reason: 'threw' })
      if (v.ok) { actorMember.set(actor, v.memberPublicKeyHex); return v.memberPublicKeyHex }
    }
    for (const whole of ev.wholes) {
      const pub = resolveActor(whole, actor)
      if (pub !== undefined) return pub
    }
    return undefined
  }

  /** What one member key's changes are judged by; the same for every change of one message. */
  interface KeyStanding { rev: RevocationRecord | undefined, revoked: boolean, member: boolean }

  /**
   * `standings` lives for one message: a whole-document message holds hundreds of changes by a few
   * keys, and `isCurrentMember` verifies a certificate chain on every call (measured on a joining
   * peer: 83 of the 340 ms spent checking a 100 KB document).
   */
  const standingOf = (pub: string, current: A.Doc<unknown>, ev: Evidence, standings: Map<string, KeyStanding>): KeyStanding => {
    const known = standings.get(pub)
    if (known !== undefined) return known
    // Prefer the revocation already merged: a message must not be able to raise its own cutoff.
    let rev = readRevocation(current, pub)
    for (const value of rev === undefined ? (ev.revocations.get(pub) ?? []) : []) rev ??= revocationFromValue(value, pub)
    for (const whole of rev === undefined ? ev.wholes : []) rev ??= readRevocation(whole, pub)
    const revoked = rev !== undefined || safe('isRevoked', () => authz.isRevoked(pub), true)
    const member = !revoked && safe('isCurrentMember', () => authz.isCurrentMember(pub), false)
    const standing = { rev, revoked, member }
    standings.set(pub, standing)
    return standing
  }

  const judge = (c: ChangeMeta, current: A.Doc<unknown>, ev: Evidence, standings: Map<string, KeyStanding>): Rejection | null => {
    if (c.actor === GENESIS_ACTOR) {
      return c.hash === genesisHash ? null : { ok: false, reason: 'forged-genesis', actor: c.actor, detail: `change ${c.hash} claims the genesis actor` }
    }
    const pub = resolveActor(current, c.actor) ?? actorFromEvidence(c.actor, ev)
    if (pub === undefined) return { ok: false, reason: 'unknown-actor', actor: c.actor, detail: `no valid actor certificate for ${c.actor}` }
    const { rev, revoked, member } = standingOf(pub, current, ev, standings)
    if (revoked) {
      const cutoff = rev?.actorSeqCutoff?.[c.actor] ?? 0
      if (c.seq > cutoff) return { ok: false, reason: 'revoked', actor: c.actor, detail: `member ${pub} is revoked; change seq ${c.seq} > cutoff ${cutoff}` }
      return null
    }
    if (!member) {
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
      if (decoded.changes.length === 0) return { ok: true, newChanges: 0, heads: decoded.heads }
      const current = deps.currentDoc()
      const ev: Evidence = { certs: new Map(), revocations: new Map(), wholes: [] }
      const standings = new Map<string, KeyStanding>()
      const add = (m: Map<string, string[]>, k: string, v: string): void => { m.set(k, [...(m.get(k) ?? []), v]) }
      try {
        // Every new change is judged, including those whose dependencies have not arrived yet (Automerge
        // queues them and applies them later without asking us). So nothing is merged into a trial
        // copy: certificates and revocations a message introduces are read from its changes' ops,
        // which is sound because both are signed and verified on their own.
        const incoming: Array<ChangeMeta & { deps: string[] }> = []
        for (const chunk of decoded.changes.flatMap(splitChunks)) {
          const type = chunk[CHUNK_TYPE_OFFSET]
          try {
            if (type === CHUNK_CHANGE || type === CHUNK_COMPRESSED_CHANGE) {
              const d = A.decodeChange(chunk)
              incoming.push({ actor: d.actor, seq: d.seq, hash: d.hash, deps: d.deps })
              for (const op of d.ops) {
                if (op.action !== 'set' || typeof op.key !== 'string' || typeof op.value !== 'string') continue
                if (op.obj === sectionIds.actors) add(ev.certs, op.key, op.value)
                else if (op.obj === sectionIds.revocations) add(ev.revocations, op.key, op.value)
              }
            } else if (type === CHUNK_DOCUMENT) {
              // Automerge sends a whole document when the peer misses much of the history; it is self-contained.
              const whole = A.load<unknown>(chunk)
              ev.wholes.push(whole)
              for (const m of A.getChangesMetaSince(whole, [])) incoming.push({ actor: m.actor, seq: m.seq, hash: m.hash, deps: [] })
            } else {
              return { ok: false, reason: 'malformed', detail: `unknown chunk type ${String(type)}` }
            }
          } catch (err) {
            return { ok: false, reason: 'malformed', detail: `undecodable change: ${(err as Error).message}` }
          }
        }
        const held = heldBy(current, incoming.flatMap(c => [c.hash, ...c.deps]))
        const fresh = incoming.filter(c => !held(c.hash))

        // Which changes can apply now (every dependency merged already or applicable in this message)?
        const applicable = new Set<string>()
        const inDoc = (h: string): boolean => applicable.has(h) || held(h)
        for (let progress = true; progress;) {
          progress = false
          for (const c of fresh) {
            if (!applicable.has(c.hash) && c.deps.every(inDoc)) { applicable.add(c.hash); progress = true }
          }
        }
        const nowWaiting: ChangeMeta[] = []
        const resolvable = (actor: string): boolean => resolveActor(current, actor) !== undefined || actorFromEvidence(actor, ev) !== undefined
        for (const c of fresh) {
          if (!applicable.has(c.hash) && !resolvable(c.actor)) {
            // Its dependencies are missing (e.g. a Bloom-filter false positive made the sender skip
            // them) and so is its actor's certificate. Automerge will queue it and ask for the
            // dependencies, which include the actor's first change — the one carrying the
            // certificate. Refusing here instead would stall this pair forever.
            nowWaiting.push(c)
            continue
          }
          const v = judge(c, current, ev, standings)
          if (v !== null) return v
        }
        // Changes let through earlier are judged as soon as their actor's certificate shows up. A
        // failure refuses THIS message, which carries that actor's first change: without it the
        // queued changes can never apply.
        const settled: string[] = []
        for (const [actor, list] of waitingByActor) {
          if (!resolvable(actor)) continue
          for (const c of list) {
            const v = judge(c, current, ev, standings)
            if (v !== null) return { ...v, detail: `${v.detail} (a change queued earlier)` }
          }
          settled.push(actor)
        }
        for (const actor of settled) waitingByActor.delete(actor)
        for (const c of nowWaiting) {
          const list = waitingByActor.get(c.actor) ?? []
          if (list.length < MAX_WAITING_PER_ACTOR) list.push(c)
          else logger.warn({ actor: c.actor }, 'too many queued changes of one uncertified actor; later ones will not be re-judged')
          waitingByActor.set(c.actor, list)
        }
        while (waitingByActor.size > MAX_WAITING_ACTORS) {
          const oldest = waitingByActor.keys().next().value
          if (oldest === undefined) break
          waitingByActor.delete(oldest)
          logger.warn({ actor: oldest }, 'forgot queued changes of an uncertified actor (table full)')
        }
        if (nowWaiting.length > 0) logger.debug({ waiting: nowWaiting.length }, 'changes of not yet certified actors wait for their dependencies')
        return { ok: true, newChanges: fresh.length - nowWaiting.length, waiting: nowWaiting.length, heads: decoded.heads }
      } finally {
        // wasm memory is not garbage-collected promptly; a whole-document chunk is as large as the document.
        for (const whole of ev.wholes) A.free(whole)
      }
    },
  }
}
