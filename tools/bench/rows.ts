import type { LatencySummary } from './stats.ts'

export interface Row {
  measure: string
  value: number
  unit: string
  p99?: number
  baseline?: string
  baselineValue?: number
  /** value / baselineValue (latencies: lower is better; rates: higher is better — read with the target). */
  ratio?: number
  target?: string
  met?: boolean
  /** Extra facts (sample counts, trials, what was out of reach). */
  note?: string
}

export interface Bound { op: '<=' | '>=', ratio: number }

const fmtTarget = (b: Bound, baseline: string): string => `${b.op === '<=' ? '≤' : '≥'} ${b.ratio}× ${baseline}`

/** A latency figure (p50 as the value) compared with a baseline's p50. */
export function latencyRow (measure: string, s: LatencySummary, base?: { name: string, s: LatencySummary, bound?: Bound }, note?: string): Row {
  const r: Row = { measure, value: s.p50, p99: s.p99, unit: 'ms', note: note ?? `n=${s.n}` }
  if (base !== undefined) {
    r.baseline = `${base.name} p50`
    r.baselineValue = base.s.p50
    r.ratio = s.p50 / base.s.p50
    if (base.bound !== undefined) {
      r.target = fmtTarget(base.bound, base.name)
      r.met = base.bound.op === '<=' ? r.ratio <= base.bound.ratio : r.ratio >= base.bound.ratio
    }
  }
  return r
}

/** A rate compared with a baseline's rate. */
export function rateRow (measure: string, value: number, unit: string, base?: { name: string, value: number, bound?: Bound }, note?: string): Row {
  const r: Row = { measure, value, unit }
  if (note !== undefined) r.note = note
  if (base !== undefined) {
    r.baseline = base.name
    r.baselineValue = base.value
    r.ratio = value / base.value
    if (base.bound !== undefined) {
      r.target = fmtTarget(base.bound, base.name)
      r.met = base.bound.op === '<=' ? r.ratio <= base.bound.ratio : r.ratio >= base.bound.ratio
    }
  }
  return r
}

/** An absolute figure with an absolute target (failover, CRDT, join, placement). */
export function absoluteRow (measure: string, value: number, unit: string, target: { op: '<' | '<=' | '>=' | '==', limit: number, text?: string }, extra: Partial<Row> = {}): Row {
  const met = target.op === '<' ? value < target.limit : target.op === '<=' ? value <= target.limit : target.op === '>=' ? value >= target.limit : value === target.limit
  return { measure, value, unit, target: target.text ?? `${target.op === '<=' ? '≤' : target.op === '>=' ? '≥' : target.op} ${target.limit} ${unit}`, met, ...extra }
}
