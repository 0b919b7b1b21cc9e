/**
 * Test helpers for the data plane: real routers on 127.0.0.1 port 0, real zenoh-ts sessions,
 * event queues with deadlines (no sleeps). Used by the *.test.ts files of this folder and by
 * test/ suites; not part of the public door.
 */
import { Config, Session } from '@eclipse-zenoh/zenoh-ts'
import { silentLogger } from '../../common/log.ts'
import { createZenohRouter } from './router.ts'
import type { ZenohRouter, ZenohRouterConfig } from './interfaces.ts'
import type { FramedChannel } from '../interfaces.ts'

/** Rejects after `ms` with a message naming what was awaited. */
export async function within<T> (ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms) }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** A queue fed by callbacks; `next()` waits for the next item with a deadline. */
export class Inbox<T> {
  private items: T[] = []
  private waiters: Array<(v: T) => void> = []
  readonly push = (v: T): void => {
    const w = this.waiters.shift()
    if (w !== undefined) w(v)
    else this.items.push(v)
  }

  get size (): number { return this.items.length }
  async next (ms = 5000, what = 'an item'): Promise<T> {
    const v = this.items.shift()
    if (v !== undefined) return v
    return await within(ms, what, new Promise<T>(resolve => this.waiters.push(resolve)))
  }

  /** Waits for `n` items. */
  async take (n: number, ms = 5000, what = `${n} items`): Promise<T[]> {
    const out: T[] = []
    const deadline = Date.now() + ms
    while (out.length < n) out.push(await this.next(Math.max(1, deadline - Date.now()), what))
    return out
  }
}

/** Polls a condition with a deadline (for state only visible by inspection, e.g. counters). */
export async function until (cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise(resolve => setImmediate(resolve))
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

export interface TestRouter extends ZenohRouter, AsyncDisposable {}

export async function startRouter (peerId: string, config: ZenohRouterConfig = {}): Promise<TestRouter> {
  const r = createZenohRouter({ listen: 0, ...config }, { logger: silentLogger(), peerId })
  await r.start()
  return Object.assign(r, { [Symbol.asyncDispose]: () => r.stop() })
}

export interface TestSession extends AsyncDisposable { s: Session }

/** Opens a zenoh-ts session; disposal closes it and waits until the router saw it go. */
export async function openSession (router: ZenohRouter): Promise<Session & AsyncDisposable> {
  const url = router.url
  if (url === undefined) throw new Error('router not started')
  // open() waits for the router's ping reply: the session exists on the router once it resolves
  const s = await Session.open(new Config(url))
  const close = s.close.bind(s)
  return Object.assign(s, {
    [Symbol.asyncDispose]: async () => {
      if (s.isClosed()) return
      const n = router.counters.sessionsClosed
      await close()
      await until(() => router.counters.sessionsClosed > n || router.url === undefined, 2000, 'session closed on the router')
    },
  })
}

/**
 * In-memory FramedChannel pair (pure routing tests). `a` is held by the peer `aPeer`, it sees
 * `bPeer` as remote, and vice versa. `cut()` closes both ends like a dropped link.
 */
export function channelPair (aPeer: string, bPeer: string, protocol = '/swarmflow/zenoh/1.0.0'): { a: FramedChannel, b: FramedChannel, cut: () => void } {
  const mk = (remote: string): FramedChannel & { deliver: (f: Uint8Array) => void, end: () => void } => {
    const frames: Uint8Array[] = []
    let wake: (() => void) | undefined
    let closed = false
    let resolveClosed!: () => void
    const closedP = new Promise<void>(resolve => { resolveClosed = resolve })
    const ch = {
      remotePeer: remote,
      protocol,
      closed: closedP,
      peer: undefined as unknown as { deliver: (f: Uint8Array) => void },
      async send (f: Uint8Array) {
        if (closed) throw new Error('closed')
        const copy = f.slice()
        queueMicrotask(() => ch.peer.deliver(copy))
      },
      deliver (f: Uint8Array) { if (closed) return; frames.push(f); const w = wake; wake = undefined; w?.() },
      end () { if (closed) return; closed = true; const w = wake; wake = undefined; w?.(); resolveClosed() },
      async close () { ch.end(); (ch.peer as unknown as { end: () => void }).end() },
      abort () { ch.end(); (ch.peer as unknown as { end: () => void }).end() },
      [Symbol.asyncIterator] () {
        return {
          next: async (): Promise<IteratorResult<Uint8Array>> => {
            while (true) {
              const f = frames.shift()
              if (f !== undefined) return { done: false, value: f }
              if (closed) return { done: true, value: undefined }
              await new Promise<void>(resolve => { wake = resolve })
            }
          },
        }
      },
    }
    return ch
  }
  const a = mk(bPeer)
  const b = mk(aPeer)
  ;(a as unknown as { peer: unknown }).peer = b
  ;(b as unknown as { peer: unknown }).peer = a
  return { a, b, cut: () => { a.abort(); b.abort() } }
}
