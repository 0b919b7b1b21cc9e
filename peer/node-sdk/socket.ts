/**
 * The WebSocket a node's zenoh-ts session runs on.
 *
 * zenoh-ts opens `new WebSocket(url)` on the global constructor (undici's in Node), which masks
 * every client frame with a random key in JavaScript, and the router's `ws` server unmasks it
 * byte by byte again (no native bufferutil here): for 30 fps VGA frames that was ~25 % of the
 * router's CPU and ~20 % of each sender's. RFC 6455 masks client frames to protect shared proxies
 * and caches from cross-protocol attacks by hostile browser scripts; a node talking to its own peer
 * over loopback has no intermediary, so for loopback endpoints we use the `ws` client with an
 * all-zero mask, which both ends skip (ws sender and receiver test for it). Anything else keeps
 * the platform WebSocket and random masks.
 */
import { Config, Session, ZBytes } from '@eclipse-zenoh/zenoh-ts'
import { WebSocket as WsWebSocket } from 'ws'
import { Uint8ArrayList } from 'uint8arraylist'
import { corkForTurn, socketOfWs } from '../../common/cork.ts'
import { writeWsMessage } from '../../common/ws-message.ts'

const zeroMask = (mask: Uint8Array): Uint8Array => mask.fill(0)

class LoopbackWebSocket extends WsWebSocket {
  constructor (url: string | URL, protocols?: string | string[]) {
    super(url, protocols, { generateMask: zeroMask, perMessageDeflate: false })
    // an EventEmitter 'error' without a listener is thrown; zenoh-ts's connect retry leaves sockets
    // without handlers (the platform WebSocket, an EventTarget, ignores such errors): do the same
    this.on('error', () => {})
    // Frames sent in one turn of the event loop leave in one system call (common/cork.ts). An own
    // property rather than an override: `send` is overloaded in the ws typings.
    // A Uint8ArrayList (a message in pieces, zero-copy.ts) is written as one WebSocket message.
    const send = this.send.bind(this) as (...args: unknown[]) => void
    this.send = ((...args: unknown[]) => {
      const sock = socketOfWs(this)
      corkForTurn(sock)
      const m = args[0]
      if (!(m instanceof Uint8ArrayList)) send(...args)
      else if (!writeWsMessage(this, sock, m, true)) send(m.subarray(), ...args.slice(1))
    }) as WsWebSocket['send']
  }
}

/** Whether `ws` is a loopback socket of ours, which writes a message given in pieces (a Uint8ArrayList). */
export function writesPieces (ws: unknown): boolean { return ws instanceof LoopbackWebSocket }

export function isLoopbackUrl (url: string): boolean {
  try {
    const host = new URL(url).hostname
    return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host)
  } catch {
    return false
  }
}

/**
 * Opens a zenoh-ts session on `url`. zenoh-ts reads the global `WebSocket` when it connects, so the
 * loopback constructor is installed for the duration of the open only (node processes open their
 * session once, at init).
 */
export async function openZenohSession (url: string): Promise<Session> {
  if (!isLoopbackUrl(url)) return await Session.open(new Config(url))
  const g = globalThis as { WebSocket?: unknown }
  const platform = g.WebSocket
  g.WebSocket = LoopbackWebSocket
  try {
    return await Session.open(new Config(url))
  } finally {
    g.WebSocket = platform
  }
}

/**
 * `bytes` as a ZBytes without a copy. zenoh-ts's ZBytes constructor copies any array it is given
 * (`Uint8Array.from`) but shares the buffer of another ZBytes: a 30 fps VGA sender copied each
 * 0.9 MB frame once more for nothing. socket.test.ts checks the sharing, so a zenoh-ts release that
 * changes ZBytes internals fails there rather than silently copying (or breaking) here.
 */
export function zbytesView (bytes: Uint8Array): ZBytes {
  const z = Object.create(ZBytes.prototype) as ZBytes
  ;(z as unknown as { buffer_: Uint8Array }).buffer_ = bytes
  return z
}
