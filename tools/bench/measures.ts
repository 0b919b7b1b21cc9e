import type { BenchContext } from './context.ts'
import type { Row } from './rows.ts'
import { meshMeasure, e2eMeasure } from './m-paths.ts'

export type { BenchContext } from './context.ts'
export type { Row } from './rows.ts'

export interface Measure { id: string, title: string, run: (ctx: BenchContext) => Promise<Row[]> }

export const MEASURES: Measure[] = [
  { id: 'mesh', title: 'mesh link (peer ↔ peer) vs raw TCP and bare libp2p', run: meshMeasure },
  { id: 'e2e', title: 'end to end (node → peer → peer → node) vs mosquitto', run: e2eMeasure },
]
