/**
 * One binary WebSocket message written from its pieces, straight to the TCP socket under a `ws`
 * WebSocket, so a large payload goes out without being joined into one array first.
 *
 * Written beside `ws`'s own sends on the same socket. That keeps their order only while no
 * extension is negotiated (no per-message deflate): `ws` then writes every frame synchronously and
 * queues nothing, so every earlier send is already in the socket. RFC 6455 §5.2: a server's frames
 * are unmasked; a client's must be masked, and `masked` writes the all-zero key, which leaves the
 * bytes as they are (the node SDK's loopback sockets mask every frame that way, peer/node-sdk/socket.ts).
 */
import type { Uint8ArrayList } from 'uint8arraylist'
import type { CorkableSocket } from './cork.ts'

const OPEN = 1

interface WsLike { readyState: number, extensions: string }
type WritableSocket = CorkableSocket & { write(b: Uint8Array, cb?: () => void): boolean }

/**
 * Writes `parts` as one binary message on `sock` (the socket of `ws`); `done` runs once the last
 * byte left. Returns false, writing nothing, when the order with `ws`'s sends cannot be kept (an
 * extension is negotiated), `ws` is not open, or there is no socket (an in-process client): the
 * caller then sends the joined bytes through `ws`.
 */
export function writeWsMessage (ws: WsLike, sock: CorkableSocket | null | undefined, parts: Uint8ArrayList, masked: boolean, done?: () => void): boolean {
  if (sock === null || sock === undefined || !('write' in sock) || ws.readyState !== OPEN || ws.extensions !== '') return false
  const out = sock as WritableSocket
  out.write(frameHeader(parts.byteLength, masked))
  const bufs = [...parts]
  for (let i = 0; i < bufs.length - 1; i++) out.write(bufs[i] as Uint8Array)
  out.write(bufs[bufs.length - 1] ?? new Uint8Array(0), done)
  return true
}

/** FIN + binary opcode, the payload length in its 7-, 16- or 64-bit form, and a zero mask key when `masked`. */
function frameHeader (n: number, masked: boolean): Uint8Array {
  const m = masked ? 0x80 : 0
  const len = n < 126 ? [m | n] : n < 0x10000 ? [m | 126, n >>> 8, n & 0xff] : [m | 127, 0, 0, 0, 0, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
  return Uint8Array.from(masked ? [0x82, ...len, 0, 0, 0, 0] : [0x82, ...len])
}
