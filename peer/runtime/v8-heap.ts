/**
 * V8 heap settings for the long-running peer process.
 *
 * A peer relaying camera frames allocates several megabytes of short-lived buffers per frame (socket
 * reads, decryption, mesh frame reassembly, the sample frame for the node's WebSocket). Their memory
 * lives outside the JavaScript heap, and by default V8 starts a full mark-compact whenever ~64 MB of
 * such external memory has accumulated since the last one — with two 30 fps VGA streams, 40–60 full
 * collections per peer in 10 s, a third of the peer's CPU (measured with a `gc` PerformanceObserver
 * and CPU profiles; bench/README.md). With external memory counted in V8's global heap limit instead,
 * collections follow the heap's own growth heuristics: 20–25 full collections in the same run and
 * 35–40 % less peer CPU, at the cost of up to ~100 MB more buffers waiting between collections.
 *
 * The flag exists in the V8 of the Node 24 this package installs; were it gone, V8 prints
 * "unrecognized flag" once and runs with its defaults.
 */
import { setFlagsFromString } from 'node:v8'

export function tuneHeapForRelaying (): void {
  setFlagsFromString('--external-memory-accounted-in-global-limit')
}
