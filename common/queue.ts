/**
 * A bounded FIFO with a named overflow policy. Every queue in swarmflow is one of these.
 * - 'drop-oldest': a push into a full queue evicts the head and counts a drop.
 * - 'drop-newest': a push into a full queue is refused and counted.
 * - 'backpressure': push never drops; callers must await `whenWritable()` before pushing more.
 */
export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'backpressure'

export class BoundedQueue<T> {
  readonly capacity: number
  readonly policy: OverflowPolicy
  dropped = 0
  private items: T[] = []
  private head = 0
  private waiters: Array<() => void> = []
  private writableWaiters: Array<() => void> = []
  private closed = false

  constructor (capacity: number, policy: OverflowPolicy) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`)
    this.capacity = capacity
    this.policy = policy
  }

  get size (): number { return this.items.length - this.head }
  get isClosed (): boolean { return this.closed }

  /** Returns false when the item was dropped (drop-newest on a full queue, or queue closed). */
  push (item: T): boolean {
    if (this.closed) return false
    if (this.size >= this.capacity) {
      if (this.policy === 'drop-newest') { this.dropped++; return false }
      if (this.policy === 'drop-oldest') { this.shift(); this.dropped++ }
      // backpressure: accept; producers are expected to honour whenWritable()
    }
    this.items.push(item)
    const w = this.waiters.shift()
    if (w) w()
    return true
  }

  shift (): T | undefined {
    if (this.size === 0) return undefined
    const item = this.items[this.head] as T
    this.items[this.head] = undefined as T
    this.head++
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    if (this.size < this.capacity) {
      const ws = this.writableWaiters
      this.writableWaiters = []
      for (const w of ws) w()
    }
    return item
  }

  /** Resolves when the queue has room (immediately if it has). */
  whenWritable (): Promise<void> {
    if (this.size < this.capacity || this.closed) return Promise.resolve()
    return new Promise(resolve => this.writableWaiters.push(resolve))
  }

  /** Waits for the next item; resolves undefined once the queue is closed and empty. */
  async next (signal?: AbortSignal): Promise<T | undefined> {
    while (true) {
      if (this.size > 0) return this.shift()
      if (this.closed) return undefined
      if (signal?.aborted) return undefined
      await new Promise<void>(resolve => {
        const onAbort = (): void => resolve()
        signal?.addEventListener('abort', onAbort, { once: true })
        this.waiters.push(() => { signal?.removeEventListener('abort', onAbort); resolve() })
      })
    }
  }

  close (): void {
    this.closed = true
    for (const w of this.waiters.splice(0)) w()
    for (const w of this.writableWaiters.splice(0)) w()
  }

  async * [Symbol.asyncIterator] (): AsyncGenerator<T> {
    while (true) {
      const item = await this.next()
      if (item === undefined && this.closed && this.size === 0) return
      if (item !== undefined) yield item
    }
  }
}
