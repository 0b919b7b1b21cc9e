import type { BenchContext } from './context.ts'
import type { Row } from './rows.ts'
import { meshMeasure, e2eMeasure } from './m-paths.ts'
import { vgaMeasure } from './m-vga.ts'
import { failoverKillMeasure, failoverStopMeasure } from './m-failover.ts'
import { crdtMeasure, joinMeasure } from './m-crdt.ts'
import { partitionMeasure } from './m-partition.ts'
import { placementMeasure } from './m-placement.ts'

export type { BenchContext } from './context.ts'
export type { Row } from './rows.ts'

export interface Measure { id: string, title: string, run: (ctx: BenchContext) => Promise<Row[]> }

/** In run order: the shared swarm grows (CRDT N = 10) and its document grows (join) late. */
export const MEASURES: Measure[] = [
  { id: 'mesh', title: 'mesh link (peer ↔ peer) vs raw TCP and bare libp2p', run: meshMeasure },
  { id: 'e2e', title: 'end to end (node → peer → peer → node) vs mosquitto', run: e2eMeasure },
  { id: 'vga', title: '4 concurrent 30 fps VGA streams', run: vgaMeasure },
  { id: 'failover-kill', title: 'failover after kill -9', run: failoverKillMeasure },
  { id: 'failover-stop', title: 'failover after SIGSTOP', run: failoverStopMeasure },
  { id: 'crdt', title: 'one CRDT change reaching every peer', run: crdtMeasure },
  { id: 'join', title: 'new peer join with a 100 KB / 1 MB document', run: joinMeasure },
  { id: 'partition', title: 'partition heal', run: partitionMeasure },
  { id: 'placement', title: 'placement recomputation', run: placementMeasure },
]
