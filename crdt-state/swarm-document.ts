import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import * as A from '@automerge/automerge'
import { Repo, type DocHandle, type DocHandleChangePayload, type DocumentId, type PeerId } from '@automerge/automerge-repo'
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs'
import type { FramedChannel, PeerIdString } from '../mesh/interfaces.ts'
import { createChangeVerifier, type ChangeVerifier } from './authorship.ts'
import { ActorCertificateError, DocumentStorageError, InvalidRecordError, SwarmDocumentNotStartedError } from './errors.ts'
import { genesisChange, genesisHash, SECTIONS, swarmDocumentId } from './genesis.ts'
import type {
  ClaimRecord, DataflowRecord, DocChangeEvent, DocSection, FileRef, InstanceRecord, MemberRecord, RedemptionRecord,
  RevocationRecord, SwarmDocument, SwarmDocumentConfig, SwarmDocumentCounters, SwarmDocumentDeps, SwarmInfo,
} from './interfaces.ts'
import { ChannelNetworkAdapter, newCounters } from './network-adapter.ts'
import { GatedStorage } from './storage.ts'
import {
  checkClaim, checkDataflow, checkFileRef, checkInstance, checkMember, checkRedemption, checkRevocation, decodeRecord,
  encodeRecord, storedString, type Check,
} from './schema.ts'

type Section = (typeof SECTIONS)[number]
type RawDoc = Record<string, unknown>

const ALL_SECTIONS = new Set<string>(['swarm', ...SECTIONS])

interface Session {
  repo: Repo
  adapter: ChannelNetworkAdapter
  storage: GatedStorage
  handle: DocHandle<RawDoc>
  verifier: ChangeVerifier
  actorId: string
  actorCert?: string
}

/**
 * The swarm document: automerge-repo with on-disk storage in `<dataDir>/doc/` and the mesh channel
 * adapter. It always starts from local state (disk, else the deterministic genesis), never from
 * the network, so a peer with no reachable peers still has its document (automerge-repo#155).
 */
export function createSwarmDocument (config: SwarmDocumentConfig, deps: SwarmDocumentDeps): SwarmDocument {
  // The caller hands over a child logger already named { component: 'crdt-state' }.
  const log = deps.logger
  const documentId = swarmDocumentId(config.swarmId)
  const genesis = genesisChange(config.swarmId)
  const gHash = genesisHash(config.swarmId)
  const dir = join(config.dataDir, 'doc')
  const maxFrameBytes = config.maxFrameBytes ?? 8 * 1024 * 1024
  const listeners = new Set<(e: DocChangeEvent) => void>()

  let session: Session | undefined
  let starting: Promise<void> | undefined
  let stopping: Promise<void> | undefined
  // Counters survive restarts of the document so metrics stay monotonic.
  const totals = newCounters()
  let ready = Promise.withResolvers<void>()

  const requireSession = (operation: string): Session => {
    if (session === undefined) throw new SwarmDocumentNotStartedError(operation)
    return session
  }

  const emitChange = (payload: DocHandleChangePayload<RawDoc>): void => {
    const sections = new Set<DocSection>()
    for (const p of payload.patches) {
      const top = p.path[0]
      if (typeof top === 'string' && ALL_SECTIONS.has(top)) sections.add(top as DocSection)
    }
    if (sections.size === 0) return
    const event: DocChangeEvent = { sections, heads: A.getHeads(payload.doc) }
    for (const cb of listeners) {
      try { cb(event) } catch (err) { log.error({ err }, 'document change listener threw') }
    }
  }

  const onDocChanged = (): void => { session?.adapter.documentChanged() }

  const doStart = async (): Promise<void> => {
    try {
      await mkdir(dir, { recursive: true })
    } catch (err) {
      throw new DocumentStorageError(dir, { cause: err })
    }
    let handleRef: DocHandle<RawDoc> | undefined
    const verifierRef: { v?: ChangeVerifier } = {}
    const adapter = new ChannelNetworkAdapter(
      {
        peerId: deps.peerId, documentId, maxFrameBytes, sendQueueFrames: config.sendQueueFrames ?? 1024, rejectCooldownMs: config.rejectCooldownMs ?? 5000,
        initialSyncTimeoutMs: config.initialSyncTimeoutMs ?? 2000,
      },
      {
        logger: log,
        hasHeads: heads => handleRef !== undefined && A.hasHeads(handleRef.doc(), heads),
        authorize: (data) => {
          // No handle yet means no peer could have been attached; refuse rather than guess.
          if (handleRef === undefined || verifierRef.v === undefined) return { ok: false, reason: 'unknown-actor', detail: 'document not loaded yet' }
          return verifierRef.v.check(data)
        },
      },
    )
    const gated = new GatedStorage(new NodeFSStorageAdapter(dir), log)
    const repo = new Repo({
      storage: gated,
      network: [adapter],
      peerId: deps.peerId as PeerId,
      sharePolicy: async () => true,
      enableRemoteHeadsGossiping: false,
      saveDebounceRate: config.saveDebounceMs ?? 100,
    })
    try {
      const storage = repo.storageSubsystem
      if (storage === undefined) throw new DocumentStorageError(dir)
      const stored = await storage.loadDoc<RawDoc>(documentId)
      if (stored === null) {
        // First start: the document begins as the shared genesis, written to disk before anything else.
        const [fresh] = A.applyChanges(A.init<RawDoc>(), [genesis])
        await storage.saveDoc(documentId, fresh)
        log.info({ documentId }, 'created the swarm document from genesis')
      } else if (!A.hasHeads(stored, [gHash])) {
        log.warn({ documentId }, 'stored document lacks the genesis change; it will be merged in')
      }
      const handle = await repo.find<RawDoc>(documentId as DocumentId)
      if (!A.hasHeads(handle.doc(), [gHash])) handle.update(d => A.applyChanges(d, [genesis])[0])
      handleRef = handle
      verifierRef.v = createChangeVerifier({ authz: deps.authz, logger: log, genesisHash: gHash, currentDoc: () => handle.doc() })
      handle.on('change', emitChange)
      handle.on('change', onDocChanged)
      session = { repo, adapter, storage: gated, handle, verifier: verifierRef.v, actorId: A.getActorId(handle.doc()) }
      log.info({ documentId, actorId: session.actorId, heads: A.getHeads(handle.doc()).length }, 'swarm document ready')
      ready.resolve()
    } catch (err) {
      await repo.shutdown().catch(() => {})
      await gated.close()
      if (err instanceof DocumentStorageError) throw err
      throw new DocumentStorageError(dir, { cause: err })
    }
  }

  const section = (doc: RawDoc, name: Section): Record<string, unknown> => {
    const s = doc[name]
    return typeof s === 'object' && s !== null && !Array.isArray(s) ? s as Record<string, unknown> : {}
  }

  const read = (): RawDoc => requireSession('reading').handle.doc()

  const list = <T>(name: Section, check: Check): Array<[string, T]> => {
    const out: Array<[string, T]> = []
    for (const [k, v] of Object.entries(section(read(), name))) {
      const rec = decodeRecord<T>(v, check)
      if (rec !== undefined) out.push([k, rec])
    }
    return out
  }

  const get = <T>(name: Section, key: string, check: Check): T | undefined => {
    const s = section(read(), name)
    return Object.hasOwn(s, key) ? decodeRecord<T>(s[key], check) : undefined
  }

  /** Every local write goes through here: it carries this session's actor certificate on the first one. */
  const mutate = (operation: string, fn: (d: RawDoc) => void): void => {
    const s = requireSession(operation)
    if (s.actorCert === undefined) {
      let cert: unknown
      try { cert = deps.authz.certifyActor(s.actorId) } catch (err) { throw new ActorCertificateError(s.actorId, { cause: err }) }
      if (typeof cert !== 'string' || cert.length === 0) throw new ActorCertificateError(s.actorId)
      s.actorCert = cert
    }
    const cert = s.actorCert
    s.handle.change(d => {
      for (const name of SECTIONS) {
        if (typeof d[name] !== 'object' || d[name] === null) d[name] = {}
      }
      const actors = d.actors as Record<string, unknown>
      if (storedString(actors[s.actorId]) !== cert) actors[s.actorId] = new A.ImmutableString(cert)
      const swarm = d.swarm as Record<string, unknown> | undefined
      if (typeof swarm === 'object' && swarm !== null && storedString(swarm.name) === undefined) swarm.name = new A.ImmutableString(config.swarmName)
      fn(d)
    })
  }

  const put = (name: Section, key: string, record: unknown, check: Check): void => {
    if (typeof key !== 'string' || key.length === 0) throw new InvalidRecordError(name, String(key), 'key must be a non-empty string')
    const encoded = encodeRecord(record, check)
    if (typeof encoded === 'string') throw new InvalidRecordError(name, key, encoded)
    mutate(`writing ${name}`, d => { (d[name] as Record<string, unknown>)[key] = encoded })
  }

  const remove = (name: Section, key: string): void => {
    const s = section(read(), name)
    if (!Object.hasOwn(s, key)) return
    mutate(`removing from ${name}`, d => { delete (d[name] as Record<string, unknown>)[key] })
  }

  /** Highest seq per actor of a member key, from this peer's view of the history. */
  const actorSeqs = (s: Session, pub: string): Record<string, number> => {
    const doc = s.handle.doc()
    const mine = new Set(Object.keys(section(doc, 'actors')).filter(a => s.verifier.memberOf(doc, a) === pub))
    const out: Record<string, number> = {}
    if (mine.size === 0) return out
    for (const m of A.getChangesMetaSince(doc, [])) {
      if (mine.has(m.actor)) out[m.actor] = Math.max(out[m.actor] ?? 0, m.seq)
    }
    return out
  }

  const doc: SwarmDocument = {
    documentId,
    get actorId () { return session?.actorId },

    async start () {
      if (session !== undefined) return
      if (stopping !== undefined) await stopping
      starting ??= doStart().finally(() => { starting = undefined })
      return starting
    },

    async stop () {
      if (starting !== undefined) await starting.catch(() => {})
      const s = session
      if (s === undefined) return
      stopping ??= (async () => {
        session = undefined
        s.handle.off('change', emitChange)
        s.handle.off('change', onDocChanged)
        addCounters(totals, s.adapter.counters)
        try { await s.repo.shutdown() } catch (err) { log.warn({ err }, 'flushing the document at stop failed') }
        await s.storage.close()
        ready = Promise.withResolvers<void>()
        log.info({ documentId }, 'swarm document stopped')
      })().finally(() => { stopping = undefined })
      return stopping
    },

    whenReady (options) {
      const signal = options?.signal
      if (signal === undefined) return ready.promise
      if (signal.aborted) return Promise.reject(signal.reason)
      return new Promise((resolve, reject) => {
        const onAbort = (): void => reject(signal.reason)
        signal.addEventListener('abort', onAbort, { once: true })
        ready.promise.then(() => { signal.removeEventListener('abort', onAbort); resolve() }, reject)
      })
    },

    async whenSynced () {
      let s = session
      while (s === undefined) {
        // Stopping: `session` is already gone but `ready` stays resolved until the shutdown ends;
        // waiting on `ready` would spin. A document that stops has ended this start's sync.
        if (stopping !== undefined) { await stopping.catch(() => {}); return }
        await ready.promise
        s = session
      }
      await s.adapter.whenSeeded()
    },

    onChange (cb) {
      listeners.add(cb)
      return () => { listeners.delete(cb) }
    },

    attachPeer (channel: FramedChannel) {
      const s = session
      if (s === undefined) {
        log.warn({ peer: channel.remotePeer }, 'document channel offered while stopped; closing it')
        channel.abort()
        return
      }
      s.adapter.attach(channel)
    },

    detachPeer (peerId: PeerIdString) { session?.adapter.detach(peerId) },

    connectedPeers () { return session?.adapter.connectedPeers() ?? [] },

    counters (): SwarmDocumentCounters {
      const out = newCounters()
      addCounters(out, totals)
      if (session !== undefined) addCounters(out, session.adapter.counters)
      return out
    },

    getSwarm (): SwarmInfo {
      const swarm = read().swarm
      const s = typeof swarm === 'object' && swarm !== null ? swarm as Record<string, unknown> : {}
      return { id: storedString(s.id) ?? config.swarmId, name: storedString(s.name) ?? config.swarmName }
    },

    listMembers: () => list<MemberRecord>('members', checkMember).filter(([k, r]) => k === r.peerId).map(([, r]) => r),
    getMember (peerId) {
      const r = get<MemberRecord>('members', peerId, checkMember)
      return r?.peerId === peerId ? r : undefined
    },
    upsertMember (record) { put('members', record.peerId, record, checkMember) },

    addRevocation (record) {
      const s = requireSession('adding a revocation')
      const full: RevocationRecord = record.actorSeqCutoff === undefined ? { ...record, actorSeqCutoff: actorSeqs(s, record.publicKey) } : record
      put('revocations', record.publicKey, full, checkRevocation)
    },
    listRevocations () {
      const s = requireSession('listing revocations')
      const d = s.handle.doc()
      return Object.keys(section(d, 'revocations')).map(pub => s.verifier.readRevocation(d, pub)).filter((r): r is RevocationRecord => r !== undefined)
    },
    isRevoked (pub) {
      const s = requireSession('checking a revocation')
      return s.verifier.readRevocation(s.handle.doc(), pub) !== undefined
    },

    recordRedemption (inviteId, memberPublicKey) {
      const rec: RedemptionRecord = { inviteId, memberPublicKey, at: Date.now() }
      put('redeemed', inviteId, rec, checkRedemption)
    },
    getRedemptions: () => list<RedemptionRecord>('redeemed', checkRedemption).filter(([k, r]) => k === r.inviteId).map(([, r]) => r),

    putDataflow (name, record) {
      if (record.name !== name) throw new InvalidRecordError('dataflows', name, `record.name ${JSON.stringify(record.name)} differs from the key`)
      put('dataflows', name, record, checkDataflow)
    },
    getDataflow (name) {
      const r = get<DataflowRecord>('dataflows', name, checkDataflow)
      return r?.name === name ? r : undefined
    },
    listDataflows: () => list<DataflowRecord>('dataflows', checkDataflow).filter(([k, r]) => k === r.name).map(([, r]) => r),
    removeDataflow (name) { remove('dataflows', name) },

    putClaim (key, claim) { put('claims', key, claim, checkClaim) },
    getClaim: key => get<ClaimRecord>('claims', key, checkClaim),
    listClaims: () => Object.fromEntries(list<ClaimRecord>('claims', checkClaim)),
    removeClaim (key) { remove('claims', key) },

    putInstance (key, record) { put('instances', key, record, checkInstance) },
    getInstance: key => get<InstanceRecord>('instances', key, checkInstance),
    listInstances: () => Object.fromEntries(list<InstanceRecord>('instances', checkInstance)),
    removeInstance (key) { remove('instances', key) },

    putFile (ref) { put('files', ref.sha256, ref, checkFileRef) },
    getFile (sha) {
      const r = get<FileRef>('files', sha, checkFileRef)
      return r?.sha256 === sha ? r : undefined
    },
    listFiles: () => list<FileRef>('files', checkFileRef).filter(([k, r]) => k === r.sha256).map(([, r]) => r),

    heads: () => A.getHeads(read()),
    savedSize: () => A.save(read()).byteLength,
  }
  return doc
}

function addCounters (into: SwarmDocumentCounters, from: SwarmDocumentCounters): void {
  into.framesIn += from.framesIn
  into.framesOut += from.framesOut
  into.bytesIn += from.bytesIn
  into.bytesOut += from.bytesOut
  into.channelsReplaced += from.channelsReplaced
  into.channelsRefused += from.channelsRefused
  for (const k of Object.keys(from.dropped) as Array<keyof SwarmDocumentCounters['dropped']>) into.dropped[k] += from.dropped[k]
  for (const k of Object.keys(from.sendDropped) as Array<keyof SwarmDocumentCounters['sendDropped']>) into.sendDropped[k] += from.sendDropped[k]
  for (const k of Object.keys(from.rejectedChanges) as Array<keyof SwarmDocumentCounters['rejectedChanges']>) into.rejectedChanges[k] += from.rejectedChanges[k]
}
