import type { Chunk, StorageAdapterInterface, StorageKey } from '@automerge/automerge-repo'
import type { Logger } from '../common/log.ts'

/**
 * Wraps the repo's storage so `stop()` means stopped: automerge-repo's throttled saves (document and
 * per-peer sync state) can fire after `repo.shutdown()`; once closed, writes are skipped (the
 * document itself was flushed by shutdown) and close() waits for the writes already under way.
 * Without this a restart on the same data dir races with the previous session's late writes.
 */
export class GatedStorage implements StorageAdapterInterface {
  private readonly inner: StorageAdapterInterface
  private readonly log: Logger
  private readonly inflight = new Set<Promise<unknown>>()
  private closed = false
  skippedWrites = 0

  constructor (inner: StorageAdapterInterface, log: Logger) {
    this.inner = inner
    this.log = log
  }

  private track<T> (p: Promise<T>): Promise<T> {
    this.inflight.add(p)
    const done = (): void => { this.inflight.delete(p) }
    p.then(done, done)
    return p
  }

  private write (what: string, key: StorageKey, op: () => Promise<void>): Promise<void> {
    if (this.closed) {
      this.skippedWrites++
      this.log.debug({ what, key: key.join('/') }, 'storage write after stop skipped')
      return Promise.resolve()
    }
    return this.track(op())
  }

  load (key: StorageKey): Promise<Uint8Array | undefined> { return this.track(this.inner.load(key)) }
  loadRange (keyPrefix: StorageKey): Promise<Chunk[]> { return this.track(this.inner.loadRange(keyPrefix)) }
  save (key: StorageKey, data: Uint8Array): Promise<void> { return this.write('save', key, () => this.inner.save(key, data)) }
  remove (key: StorageKey): Promise<void> { return this.write('remove', key, () => this.inner.remove(key)) }
  removeRange (keyPrefix: StorageKey): Promise<void> { return this.write('removeRange', keyPrefix, () => this.inner.removeRange(keyPrefix)) }

  async close (): Promise<void> {
    this.closed = true
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight])
  }
}
