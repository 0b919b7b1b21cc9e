import { BoundedQueue } from '../../common/queue.ts'
import type { NodeEvent, NodeInputConfig } from './interfaces.ts'

export type PushResult = 'queued' | 'dropped-oldest' | 'held' | 'dropped-newest'

interface Item { input: string, event: NodeEvent, data: boolean }

/**
 * The node's pending events, in arrival order across inputs, with each input's own bound:
 * - drop_oldest: a full input loses its oldest queued message to the new one (counted);
 * - backpressure: a full input's queue is never touched; new messages wait in a pull buffer of the
 *   same size (a BoundedQueue, drop-newest) and enter the queue as the node consumes. Zenoh
 *   pub/sub has no end-to-end flow control, so "backpressure" stops at this process: producers are
 *   not slowed, and what overflows the pull buffer is dropped and counted here (the router's own
 *   per-session queue, also drop-newest, bounds what waits before us).
 * INPUT_CLOSED events are not subject to the bounds: at most one per input per timeout period.
 * The array holds at most sum(queueSize) data items plus those control events.
 */
export class InputEvents {
  private items: Item[] = []
  private readonly counts = new Map<string, number>()
  private readonly held = new Map<string, BoundedQueue<NodeEvent>>()
  private readonly cfg = new Map<string, NodeInputConfig>()

  constructor (inputs: readonly NodeInputConfig[]) {
    for (const i of inputs) {
      this.cfg.set(i.id, i)
      this.counts.set(i.id, 0)
      if (i.queuePolicy === 'backpressure') this.held.set(i.id, new BoundedQueue<NodeEvent>(Math.max(1, i.queueSize), 'drop-newest'))
    }
  }

  get size (): number { return this.items.length }

  /** Whether a new data event for `input` would wait or be dropped (timers skip ticks then). */
  isFull (input: string): boolean {
    const c = this.cfg.get(input)
    return c !== undefined && (this.counts.get(input) ?? 0) >= Math.max(1, c.queueSize)
  }

  pushData (input: string, event: NodeEvent): PushResult {
    const c = this.cfg.get(input)
    if (c === undefined) return 'dropped-newest'
    const count = this.counts.get(input) ?? 0
    if (count < Math.max(1, c.queueSize)) {
      this.items.push({ input, event, data: true })
      this.counts.set(input, count + 1)
      return 'queued'
    }
    if (c.queuePolicy === 'drop_oldest') {
      const idx = this.items.findIndex(it => it.data && it.input === input)
      if (idx >= 0) this.items.splice(idx, 1)
      this.items.push({ input, event, data: true })
      return 'dropped-oldest'
    }
    return (this.held.get(input) as BoundedQueue<NodeEvent>).push(event) ? 'held' : 'dropped-newest'
  }

  pushControl (input: string, event: NodeEvent): void {
    this.items.push({ input, event, data: false })
  }

  shift (): NodeEvent | undefined {
    const it = this.items.shift()
    if (it === undefined) return undefined
    if (it.data) {
      this.counts.set(it.input, (this.counts.get(it.input) ?? 1) - 1)
      const next = this.held.get(it.input)?.shift()
      if (next !== undefined) {
        this.items.push({ input: it.input, event: next, data: true })
        this.counts.set(it.input, (this.counts.get(it.input) ?? 0) + 1)
      }
    }
    return it.event
  }

  clear (): void {
    this.items = []
    for (const k of this.counts.keys()) this.counts.set(k, 0)
    for (const q of this.held.values()) while (q.shift() !== undefined) { /* drain */ }
  }
}
