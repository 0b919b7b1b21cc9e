/**
 * Frames sent in one turn of the event loop leave in one system call.
 *
 * Loopback TCP costs ~20–90 µs per write on these VMs (the receiver's network stack runs in the
 * sender's system call), and a `ws` WebSocket writes every frame on its own. `corkForTurn` corks the
 * socket at the first send of a turn and uncorks it in process.nextTick, which runs after the promise
 * jobs queued from a microtask (Node drains V8's microtask queue before the tick queue): a loop of
 * `await send()` calls, or the frames a burst of input triggers, reach the kernel in one write, while
 * a single send is still written before the event loop polls again (no latency added).
 */
export interface CorkableSocket { cork(): void, uncork(): void, destroyed?: boolean }

const corked = new WeakSet<CorkableSocket>()

/** Corks `sock` until the end of the current turn; further calls in the same turn do nothing. */
export function corkForTurn (sock: CorkableSocket | null | undefined): void {
  if (sock === null || sock === undefined || corked.has(sock)) return
  corked.add(sock)
  sock.cork()
  process.nextTick(() => {
    corked.delete(sock)
    if (sock.destroyed !== true) sock.uncork()
  })
}

/** The TCP socket under a `ws` WebSocket (its `_socket`; null before it opens and after it closes). */
export function socketOfWs (ws: object): CorkableSocket | null | undefined {
  return (ws as { _socket?: CorkableSocket | null })._socket
}
