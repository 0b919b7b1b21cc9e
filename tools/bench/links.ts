/**
 * Client ends of the links the benchmark compares. Each link carries frames (u32 BE length + bytes)
 * to an echo server in another process and reports echoed frames.
 */
import { connect } from 'node:net'
import { Uint8ArrayList } from 'uint8arraylist'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { coalesceWrites, lazyWindowUpdates, noiseCrypto } from '../../mesh/transport.ts'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { BARE_ECHO_PROTOCOL } from './echo-servers.ts'

export interface FrameLink {
  name: string
  /** Sends one frame; resolves when the transport accepted it (backpressure respected). */
  send(frame: Uint8Array): Promise<void> | void
  onFrame(cb: (frame: Uint8Array) => void): void
  close(): Promise<void>
}

class Deframer {
  private buf = new Uint8ArrayList()
  constructor (private readonly cb: (f: Uint8Array) => void) {}
  push (data: Uint8Array | Uint8ArrayList): void {
    this.buf.append(data)
    while (this.buf.byteLength >= 4) {
      const len = this.buf.getUint32(0)
      if (this.buf.byteLength < 4 + len) return
      this.cb(this.buf.subarray(4, 4 + len))
      this.buf.consume(4 + len)
    }
  }
}

const header = (n: number): Uint8Array => { const h = new Uint8Array(4); new DataView(h.buffer).setUint32(0, n); return h }

export async function tcpLink (port: number): Promise<FrameLink> {
  const sock = connect({ port, host: '127.0.0.1', noDelay: true })
  await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
  let cb: (f: Uint8Array) => void = () => {}
  const d = new Deframer(f => cb(f))
  sock.on('data', (b: Buffer) => d.push(b))
  return {
    name: 'raw TCP',
    async send (frame) {
      sock.cork()
      sock.write(header(frame.byteLength))
      const ok = sock.write(frame)
      sock.uncork()
      if (!ok) await new Promise(resolve => sock.once('drain', resolve))
    },
    onFrame (f) { cb = f },
    async close () { sock.destroy() },
  }
}

export async function bareLibp2pLink (addr: string, name = 'libp2p Noise+yamux', tuned = false): Promise<FrameLink & { node: Libp2p }> {
  const node = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    transports: [tcp()],
    connectionEncrypters: [tuned ? coalesceWrites(noise({ crypto: noiseCrypto })) : noise()],
    streamMuxers: [tuned ? lazyWindowUpdates(yamux()) : yamux()],
    connectionMonitor: { enabled: false },
  })
  const stream = await node.dialProtocol(multiaddr(addr), BARE_ECHO_PROTOCOL)
  let cb: (f: Uint8Array) => void = () => {}
  const d = new Deframer(f => cb(f))
  stream.addEventListener('message', (evt) => d.push(evt.data))
  return {
    name,
    node,
    async send (frame) {
      const ok = stream.send(new Uint8ArrayList(header(frame.byteLength), frame))
      if (!ok) await new Promise(resolve => stream.addEventListener('drain', resolve, { once: true }))
    },
    onFrame (f) { cb = f },
    async close () { await node.stop() },
  }
}
