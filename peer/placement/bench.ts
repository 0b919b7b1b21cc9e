/**
 * Micro benchmark of `computePlacement` (not a unit test: timings depend on the machine).
 * Run: node_modules/.bin/tsx peer/placement/bench.ts
 */
import { pathToFileURL } from 'node:url'
import { computePlacement } from './placement.ts'
import type { PlacementFlow, PlacementMember } from './interfaces.ts'

export interface BenchFigures {
  members: number
  nodes: number
  /** Wall-clock milliseconds per call, after warm-up (inflated when other processes compete for the CPU). */
  medianMs: number
  /** CPU milliseconds (user + system) per call, median: the figure that does not depend on machine load. */
  medianCpuMs: number
  minMs: number
  maxMs: number
  /** First call (cold: sha256 of every peer id, JIT warm-up). */
  coldMs: number
  /** Same, with 20 % of nodes needing resources (capacity greedy path). */
  resourcesMedianMs: number
  /** With `explain: true` for 10 nodes of the flow. */
  explainMsFor10Nodes: number
}

function members (n: number): PlacementMember[] {
  const out: PlacementMember[] = []
  for (let i = 0; i < n; i++) {
    out.push({
      peerId: `12D3KooW${i.toString(36).padStart(8, '0')}benchpeer`,
      name: `robot-${i}`,
      caps: i % 10 === 0 ? ['gpu', 'camera'] : ['camera'],
      labels: { zone: `z${i % 4}` },
      resources: { cpu: 4, memory_mb: 4096 },
    })
  }
  return out
}

function flows (nodes: number, withResources: boolean): PlacementFlow[] {
  const out: PlacementFlow[] = []
  const perFlow = 20
  for (let f = 0; f * perFlow < nodes; f++) {
    const list = []
    for (let j = 0; j < perFlow && f * perFlow + j < nodes; j++) {
      const k = f * perFlow + j
      list.push({
        id: `node${j}`,
        deploy: {
          caps: k % 7 === 0 ? ['gpu'] : [],
          labels: k % 5 === 0 ? { zone: 'z1' } : {},
          ...(withResources && k % 5 === 1 ? { resources: { cpu: 1, memory_mb: 512 } } : {}),
        },
      })
    }
    out.push({ name: `flow${f}`, state: 'running', nodes: list })
  }
  return out
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

export function runPlacementBench (opts: { members?: number, nodes?: number, runs?: number } = {}): BenchFigures {
  const nm = opts.members ?? 10_000
  const nn = opts.nodes ?? 1_000
  const runs = opts.runs ?? 9
  const ms = members(nm)
  const live = ms.filter((_, i) => i % 50 !== 0).map(m => m.peerId)
  const plain = flows(nn, false)
  const res = flows(nn, true)
  const input = { flows: plain, members: ms, live, rosterSize: nm }
  let t = performance.now()
  const first = computePlacement(input)
  const coldMs = performance.now() - t
  const previous = new Map(first.placements.filter(p => p.peerId !== null).map(p => [p.key, { peerId: p.peerId as string, epoch: p.epoch }]))
  const times: number[] = []
  const cpu: number[] = []
  for (let r = 0; r < runs; r++) {
    t = performance.now()
    const c0 = process.cpuUsage()
    computePlacement({ ...input, previous })
    const c = process.cpuUsage(c0)
    times.push(performance.now() - t)
    cpu.push((c.user + c.system) / 1000)
  }
  const rtimes: number[] = []
  for (let r = 0; r < runs; r++) {
    t = performance.now()
    computePlacement({ ...input, flows: res, previous })
    rtimes.push(performance.now() - t)
  }
  t = performance.now()
  computePlacement({ ...input, flows: [{ name: 'one', state: 'running', nodes: (plain[0] as PlacementFlow).nodes.slice(0, 10) }] }, { explain: true })
  const explainMsFor10Nodes = performance.now() - t
  return { members: nm, nodes: nn, medianMs: median(times), medianCpuMs: median(cpu), minMs: Math.min(...times), maxMs: Math.max(...times), coldMs, resourcesMedianMs: median(rtimes), explainMsFor10Nodes }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const f = runPlacementBench()
  const r = (x: number): string => x.toFixed(1)
  process.stdout.write(`computePlacement ${f.members} members x ${f.nodes} nodes: median ${r(f.medianMs)} ms wall, ${r(f.medianCpuMs)} ms CPU (min ${r(f.minMs)}, max ${r(f.maxMs)}, cold ${r(f.coldMs)}); ` +
    `20% with resources: median ${r(f.resourcesMedianMs)} ms; explain 10 nodes: ${r(f.explainMsFor10Nodes)} ms\n`)
}
