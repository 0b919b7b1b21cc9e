import type { CandidateExplanation, PlacementResult } from './interfaces.ts'

const num = (x: number | null): string => (x === null ? '-' : Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3)) : String(x))

function candidateLine (c: CandidateExplanation): string {
  const mark = c.chosen ? '*' : ' '
  const score = c.eligible ? `score ${num(c.score)}${c.bonus !== 0 ? ` + stickiness ${num(c.bonus)} = ${num(c.total)}` : ''}` : c.reason
  return `    ${mark} ${c.name} (${c.peerId})${c.eligible ? '' : ' ✗'} ${score}`
}

/**
 * Renders a placement as text for `peer plan`: one line per node (where, epoch, why) and, when the
 * result was computed with `explain: true`, up to `maxCandidates` candidates per node, best first.
 */
export function formatPlan (result: PlacementResult, options: { maxCandidates?: number } = {}): string {
  const max = options.maxCandidates ?? 10
  const lines: string[] = [`visible ${result.visible} of ${result.rosterSize} roster members (${result.majority ? 'majority' : 'no majority: strict nodes will not run'})`]
  for (const p of result.placements) {
    lines.push(`${p.key} → ${p.peerId ?? 'unplaced'}${p.peerId !== null ? ` (epoch ${p.epoch})` : ''}: ${p.reason}`)
    if (p.candidates !== undefined) {
      for (const c of p.candidates.slice(0, max)) lines.push(candidateLine(c))
      if (p.candidates.length > max) lines.push(`      … ${p.candidates.length - max} more`)
    }
  }
  return lines.join('\n')
}
