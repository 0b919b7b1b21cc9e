/**
 * Echo servers for the baselines, each run as its own process: `tcp` (raw socket), `libp2p`
 * (a bare stock Noise + yamux stream) and `libp2p-tuned` (the same with mesh/transport.ts). Prints one JSON line {ready, port|addr} on stdout when listening.
 * Frames are u32 big-endian length + bytes in both cases so the client code is shared.
 */
import { createServer } from 'node:net'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { coalesceWrites, lazyWindowUpdates, noiseCrypto } from '../../mesh/transport.ts'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tuneHeapForRelaying } from '../../peer/runtime/v8-heap.ts'

export const BARE_ECHO_PROTOCOL = '/swarmflow-bench/echo/1.0.0'

async function main (): Promise<void> {
  const kind = process.argv[2]
  // every process of the link measures runs with the peer's V8 heap setting (bench/README.md, Paths)
  tuneHeapForRelaying()
  if (kind === 'tcp') {
    const server = createServer(sock => {
      sock.setNoDelay(true)
      sock.pipe(sock)
    })
    server.listen(0, '127.0.0.1', () => {
      const a = server.address()
      console.log(JSON.stringify({ ready: true, port: typeof a === 'object' && a ? a.port : 0 }))
    })
  } else if (kind === 'libp2p' || kind === 'libp2p-tuned') {
    const node = await createLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      // 'libp2p-tuned': the same link settings as createMeshHost (mesh/transport.ts)
      connectionEncrypters: [kind === 'libp2p-tuned' ? coalesceWrites(noise({ crypto: noiseCrypto })) : noise()],
      streamMuxers: [kind === 'libp2p-tuned' ? lazyWindowUpdates(yamux()) : yamux()],
      connectionMonitor: { enabled: false },
    })
    await node.handle(BARE_ECHO_PROTOCOL, (stream) => {
      // echo raw bytes: the client frames them
      stream.addEventListener('message', (evt) => {
        const ok = stream.send(evt.data)
        if (!ok) { stream.pause(); stream.addEventListener('drain', () => stream.resume(), { once: true }) }
      })
    }, { maxInboundStreams: 16 })
    console.log(JSON.stringify({ ready: true, addr: node.getMultiaddrs()[0]?.toString() }))
  } else {
    console.error(`usage: echo-servers.ts tcp|libp2p|libp2p-tuned`)
    process.exit(2)
  }
  process.on('SIGTERM', () => process.exit(0))
}

if (import.meta.url === `file://${process.argv[1]}`) void main()
