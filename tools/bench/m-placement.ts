/** Placement recomputation, in-process: 10 000 members × 1 000 nodes (peer/placement/bench.ts). */
import { runPlacementBench } from '../../peer/placement/bench.ts'
import { absoluteRow, type Row } from './rows.ts'
import type { BenchContext } from './context.ts'

export async function placementMeasure (ctx: BenchContext): Promise<Row[]> {
  const f = runPlacementBench({ runs: ctx.quick ? 5 : 15 })
  return [absoluteRow(`placement recomputation, ${f.members} members × ${f.nodes} nodes (in-process)`, f.medianMs, 'ms', { op: '<=', limit: 100 }, {
    note: `median wall of ${ctx.quick ? 5 : 15} calls (CPU ${f.medianCpuMs.toFixed(1)} ms, max wall ${f.maxMs.toFixed(1)} ms, cold ${f.coldMs.toFixed(1)} ms)`,
  })]
}
