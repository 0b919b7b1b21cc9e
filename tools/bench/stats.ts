/** Percentiles and rates for benchmark samples. */
export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i] as number
}

export interface LatencySummary { n: number, p50: number, p99: number, max: number, mean: number }

export function summarize (samplesMs: number[]): LatencySummary {
  const s = [...samplesMs].sort((a, b) => a - b)
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN, mean: s.reduce((a, b) => a + b, 0) / (s.length || 1) }
}

export const hr = (): number => Number(process.hrtime.bigint()) / 1e6
