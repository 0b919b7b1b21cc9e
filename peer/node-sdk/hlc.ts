import type { HlcTimestamp } from './interfaces.ts'

/**
 * Hybrid logical clock (Kulkarni et al.): wall time when clocks agree, a counter when they do not,
 * so a consumer's reading is never below what it received. A remote reading more than `maxDriftMs`
 * ahead of our wall clock is not adopted (one bad clock must not drag the swarm into the future).
 */
export class HybridLogicalClock {
  private wall = 0
  private logical = 0
  private readonly maxDriftMs: number
  private readonly clock: () => number

  constructor (options: { maxDriftMs?: number, clock?: () => number } = {}) {
    this.maxDriftMs = options.maxDriftMs ?? 60_000
    this.clock = options.clock ?? Date.now
  }

  /** A reading for a local event (a send, a timer tick). */
  now (): HlcTimestamp {
    const pt = this.clock()
    if (pt > this.wall) { this.wall = pt; this.logical = 0 } else this.logical++
    return { wallMs: this.wall, logical: this.logical }
  }

  /** Merges a received reading; returns false (and ignores it) when it is too far ahead. */
  update (remote: HlcTimestamp): boolean {
    const pt = this.clock()
    if (remote.wallMs > pt + this.maxDriftMs) return false
    const l = Math.max(this.wall, remote.wallMs, pt)
    if (l === this.wall && l === remote.wallMs) this.logical = Math.max(this.logical, remote.logical) + 1
    else if (l === this.wall) this.logical++
    else if (l === remote.wallMs) this.logical = remote.logical + 1
    else this.logical = 0
    this.wall = l
    return true
  }
}

export function compareHlc (a: HlcTimestamp, b: HlcTimestamp): number {
  return a.wallMs !== b.wallMs ? a.wallMs - b.wallMs : a.logical - b.logical
}
