import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile, rename, stat, copyFile, chmod } from 'node:fs/promises'
import { join, dirname, resolve, sep } from 'node:path'
import { pack, unpack } from 'msgpackr'
import type { Logger } from '../../common/log.ts'
import { SwarmflowError } from '../../common/errors.ts'
import type { FramedChannel, PeerIdString } from '../../mesh/index.ts'

export const FILES_PROTOCOL = '/swarmflow/files/1.0.0'
/** Largest single file shipped with a dataflow. Node code, not datasets. */
export const MAX_FILE_BYTES = 64 * 1024 * 1024

export class FileIntegrityError extends SwarmflowError {}
export class FileUnavailableError extends SwarmflowError {}
export class FileTooLargeError extends SwarmflowError {}

export function sha256 (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

const isSha = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s)

/**
 * Content-addressed store of the files dataflows ship (`<dataDir>/files/<sha256>`), and the mesh
 * protocol that fetches a missing file from a member that has it. Every file is checked against
 * its hash on the way in, whoever sent it.
 */
export interface FileStore {
  put(bytes: Uint8Array): Promise<string>
  has(hash: string): Promise<boolean>
  get(hash: string): Promise<Uint8Array>
  /**
   * Fetches a missing file from the first of `peers` that has it. Each peer gets `timeoutMs`
   * (default 10 s) to answer, so a frozen member cannot hold the fetch up.
   */
  fetch(hash: string, peers: PeerIdString[], open: (peer: PeerIdString) => Promise<FramedChannel>, options?: { timeoutMs?: number }): Promise<void>
  /** Serves one inbound request channel. */
  serve(ch: FramedChannel): void
  /** Copies files into `dir` at their relative paths (refusing paths that escape it). */
  materialize(dir: string, files: Record<string, string>): Promise<void>
  readonly counters: { served: number, fetched: number, integrityFailures: number, badRequests: number }
}

export function createFileStore (config: { dataDir: string }, deps: { logger: Logger }): FileStore {
  const root = join(config.dataDir, 'files')
  const log = deps.logger
  const counters = { served: 0, fetched: 0, integrityFailures: 0, badRequests: 0 }
  const pathOf = (hash: string): string => join(root, hash)

  const store: FileStore = {
    counters,
    async put (bytes) {
      if (bytes.byteLength > MAX_FILE_BYTES) throw new FileTooLargeError(`file of ${bytes.byteLength} bytes is over the ${MAX_FILE_BYTES}-byte limit for shipped node files; install large assets on the devices instead`)
      const hash = sha256(bytes)
      if (await store.has(hash)) return hash
      await mkdir(root, { recursive: true, mode: 0o700 })
      const tmp = `${pathOf(hash)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
      await writeFile(tmp, bytes)
      await rename(tmp, pathOf(hash))
      return hash
    },
    async has (hash) {
      if (!isSha(hash)) return false
      try { await stat(pathOf(hash)); return true } catch { return false }
    },
    async get (hash) {
      if (!isSha(hash)) throw new FileUnavailableError(`'${hash}' is not a sha256 hex digest`)
      const bytes = new Uint8Array(await readFile(pathOf(hash)))
      if (sha256(bytes) !== hash) {
        counters.integrityFailures++
        throw new FileIntegrityError(`stored file ${hash} is corrupt; delete ${pathOf(hash)} and it will be fetched again`)
      }
      return bytes
    },
    async fetch (hash, peers, open, options) {
      if (await store.has(hash)) return
      const timeoutMs = options?.timeoutMs ?? 10_000
      const errors: string[] = []
      for (const peer of peers) {
        let ch: FramedChannel | undefined
        let timer: NodeJS.Timeout | undefined
        let expired = false
        const timedOut = new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => { expired = true; ch?.abort(); reject(new FileUnavailableError(`no answer within ${timeoutMs} ms`)) }, timeoutMs)
        })
        timedOut.catch(() => {})
        // A channel that opens after the deadline is closed at once.
        const opening = open(peer).then(c => { if (expired) c.abort(); return c })
        opening.catch(() => {})
        try {
          ch = await Promise.race([opening, timedOut])
          await Promise.race([ch.send(pack({ get: hash })), timedOut])
          const r = await Promise.race([ch[Symbol.asyncIterator]().next(), timedOut])
          if (r.done) throw new FileUnavailableError('channel closed')
          const reply = unpack(r.value) as { ok?: unknown, bytes?: unknown, error?: unknown }
          if (reply.ok !== true || !(reply.bytes instanceof Uint8Array)) throw new FileUnavailableError(typeof reply.error === 'string' ? reply.error : 'not available')
          if (sha256(reply.bytes) !== hash) {
            counters.integrityFailures++
            log.warn({ peer, hash }, 'file from peer failed its integrity check; dropped')
            throw new FileIntegrityError(`peer ${peer} sent bytes that do not match ${hash}`)
          }
          await store.put(reply.bytes)
          counters.fetched++
          return
        } catch (err) {
          errors.push(`${peer}: ${(err as Error).message}`)
        } finally {
          clearTimeout(timer)
          await ch?.close().catch(() => {})
        }
      }
      throw new FileUnavailableError(`file ${hash} could not be fetched from any live member (${errors.join('; ') || 'no member to ask'}); it will be retried when members change`)
    },
    serve (ch) {
      void (async () => {
        try {
          const r = await ch[Symbol.asyncIterator]().next()
          if (r.done) return
          let req: { get?: unknown }
          try { req = unpack(r.value) as { get?: unknown } } catch { req = {} }
          if (!isSha(req.get)) {
            counters.badRequests++
            log.warn({ peer: ch.remotePeer }, 'dropped malformed file request')
            await ch.send(pack({ ok: false, error: 'malformed request' }))
            return
          }
          try {
            const bytes = await store.get(req.get)
            await ch.send(pack({ ok: true, bytes }))
            counters.served++
          } catch {
            await ch.send(pack({ ok: false, error: 'not here' }))
          }
        } catch (err) {
          log.debug({ err: (err as Error).message }, 'file request failed')
        } finally {
          await ch.close().catch(() => {})
        }
      })()
    },
    async materialize (dir, files) {
      const base = resolve(dir)
      for (const [rel, hash] of Object.entries(files)) {
        const target = resolve(base, rel)
        if (!target.startsWith(base + sep)) throw new FileIntegrityError(`file path '${rel}' escapes the flow directory; refusing it`)
        await mkdir(dirname(target), { recursive: true })
        await store.get(hash) // integrity check before use
        await copyFile(pathOf(hash), target)
        await chmod(target, 0o755)
      }
    },
  }
  return store
}
