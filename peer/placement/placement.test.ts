import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { computePlacement, resolveConflict, isStale, hrwScore, formatPlan, placementFlowsFrom, DEFAULT_STICKINESS, type PlacementFlow, type PlacementInput, type PlacementMember, type Holder, type NodePlacement } from './index.ts'
import { parseDescriptor } from '../dataflow/index.ts'

const peer = (i: number): string => `12D3KooWpeer${String(i).padStart(4, '0')}`
function member (i: number, extra: Partial<PlacementMember> = {}): PlacementMember {
  return { peerId: peer(i), name: `robot-${i}`, caps: [], labels: {}, ...extra }
}
function items (n: number, flow = 'f'): PlacementFlow {
  return { name: flow, state: 'running', nodes: Array.from({ length: n }, (_, i) => ({ id: `n${i}` })) }
}
const byKey = (ps: NodePlacement[]): Map<string, NodePlacement> => new Map(ps.map(p => [p.key, p]))
const holders = (ps: NodePlacement[]): Map<string, Holder> => new Map(ps.filter(p => p.peerId !== null).map(p => [p.key, { peerId: p.peerId as string, epoch: p.epoch }]))

describe('HRW election', () => {
  it('moves only the departed peer\'s items (10 peers, 1000 items) and balances them', () => {
    const members = Array.from({ length: 10 }, (_, i) => member(i))
    const all = members.map(m => m.peerId)
    const before = computePlacement({ flows: [items(1000)], members, live: all, rosterSize: 10, stickiness: 0 })
    const counts = new Map<string, number>()
    for (const p of before.placements) counts.set(p.peerId as string, (counts.get(p.peerId as string) ?? 0) + 1)
    // Expected 100 each; a fair hash stays well within ±40 % for 1000 items.
    for (const c of counts.values()) expect(c).toBeGreaterThan(60)
    for (const c of counts.values()) expect(c).toBeLessThan(140)
    const gone = peer(3)
    const after = computePlacement({ flows: [items(1000)], members, live: all.filter(p => p !== gone), rosterSize: 10, previous: holders(before.placements), stickiness: 0 })
    const a = byKey(after.placements)
    let moved = 0
    for (const p of before.placements) {
      const q = a.get(p.key) as NodePlacement
      if (p.peerId === gone) {
        expect(q.peerId).not.toBe(gone)
        expect(q.epoch).toBe(p.epoch + 1)
        expect(q.reason).toMatch(/moved from robot-3 \(not live\)/)
        moved++
      } else {
        expect(q.peerId).toBe(p.peerId)
        expect(q.epoch).toBe(p.epoch)
      }
    }
    expect(moved).toBe(counts.get(gone))
  })

  it('stickiness keeps the holder while it stays live; without it a joiner takes about 1/(n+1)', () => {
    const members = Array.from({ length: 10 }, (_, i) => member(i))
    const first = computePlacement({ flows: [items(1000)], members: members.slice(0, 9), live: members.slice(0, 9).map(m => m.peerId), rosterSize: 9 })
    const prev = holders(first.placements)
    const live = members.map(m => m.peerId)
    const forever = computePlacement({ flows: [items(1000)], members, live, rosterSize: 10, previous: prev, stickiness: Infinity })
    expect(forever.placements.every(p => p.sticky && p.peerId === prev.get(p.key)?.peerId)).toBe(true)
    expect(forever.placements[0]?.reason).toMatch(/^kept by current holder/)
    const pure = computePlacement({ flows: [items(1000)], members, live, rosterSize: 10, previous: prev, stickiness: 0 })
    const movedPure = pure.placements.filter(p => p.peerId !== prev.get(p.key)?.peerId)
    expect(movedPure.every(p => p.peerId === peer(9))).toBe(true)
    expect(movedPure.length).toBeGreaterThan(50)
    expect(movedPure.length).toBeLessThan(150)
    const dflt = computePlacement({ flows: [items(1000)], members, live, rosterSize: 10, previous: prev })
    const movedDefault = dflt.placements.filter(p => p.peerId !== prev.get(p.key)?.peerId)
    expect(DEFAULT_STICKINESS).toBeGreaterThan(0)
    expect(movedDefault.length).toBeLessThan(movedPure.length)
    expect(dflt.placements.find(p => p.sticky && p.reason.includes('stickiness'))).toBeDefined()
  })

  it('a settling member takes no node from a live holder, but takes free nodes, and settled challengers still compete', () => {
    const members = Array.from({ length: 10 }, (_, i) => member(i))
    const all = members.map(m => m.peerId)
    const back = peer(9)
    // while peer 9 was away, the others hold everything
    const away = computePlacement({ flows: [items(1000)], members, live: all.filter(p => p !== back), rosterSize: 10 })
    const prev = holders(away.placements)
    const normal = computePlacement({ flows: [items(1000)], members, live: all, rosterSize: 10, previous: prev })
    const wouldTake = normal.placements.filter(p => p.peerId === back)
    expect(wouldTake.length).toBeGreaterThan(10) // stickiness 1 alone hands it some back
    const settling = computePlacement({ flows: [items(1000)], members, live: all, rosterSize: 10, previous: prev, settling: [back] }, { explain: true })
    const s = byKey(settling.placements)
    for (const p of settling.placements) {
      expect(p.peerId).toBe(prev.get(p.key)?.peerId)
      expect(p.epoch).toBe(prev.get(p.key)?.epoch)
    }
    const passed = s.get((wouldTake[0] as NodePlacement).key) as NodePlacement
    expect(passed.reason).toMatch(/^kept by current holder robot-\d: score .* \+ stickiness .*; robot-9 scores higher \(.*\) but came back only recently \(settling\)$/)
    // a settling member may take nodes nobody live holds: new nodes, and those of a dead holder
    const gone = peer(4)
    const failover = computePlacement({ flows: [items(1000), items(200, 'g')], members, live: all.filter(p => p !== gone), rosterSize: 10, previous: prev, settling: [back] })
    const fresh = failover.placements.filter(p => p.flow === 'g')
    expect(fresh.filter(p => p.peerId === back).length).toBeGreaterThan(5)
    const orphaned = failover.placements.filter(p => p.flow === 'f' && prev.get(p.key)?.peerId === gone)
    expect(orphaned.some(p => p.peerId === back)).toBe(true)
    expect(failover.placements.filter(p => p.flow === 'f' && p.peerId === back).every(p => prev.get(p.key)?.peerId === gone)).toBe(true)
    // a settled challenger that outscores the holder beyond the stickiness still takes the node,
    // also where a settling member would have scored higher still
    const joiner = peer(8)
    const without8 = computePlacement({ flows: [items(1000)], members, live: all.filter(p => p !== back && p !== joiner), rosterSize: 10 })
    const prev2 = holders(without8.placements)
    const both = computePlacement({ flows: [items(1000)], members, live: all, rosterSize: 10, previous: prev2, settling: [back] })
    const to8 = both.placements.filter(p => p.peerId === joiner)
    expect(to8.length).toBeGreaterThan(10)
    expect(both.placements.some(p => p.peerId === back)).toBe(false)
    const ref = byKey(computePlacement({ flows: [items(1000)], members: members.filter(m => m.peerId !== back), live: all.filter(p => p !== back), rosterSize: 9, previous: prev2 }).placements)
    for (const p of both.placements) expect(p.peerId).toBe(ref.get(p.key)?.peerId)
  })

  it('weights: a member of weight 3 wins about three times as often', () => {
    const members = [member(0, { weight: 3 }), member(1), member(2)]
    const r = computePlacement({ flows: [items(3000)], members, live: members.map(m => m.peerId), rosterSize: 3 })
    const heavy = r.placements.filter(p => p.peerId === peer(0)).length
    expect(heavy / 3000).toBeGreaterThan(0.52)
    expect(heavy / 3000).toBeLessThan(0.68)
  })
})

describe('eligibility and explanation', () => {
  const yaml = `
nodes:
  - { id: detector, path: det.ts, deploy: { caps: [gpu] } }
  - { id: arm, path: arm.ts, deploy: { machine: robot-2 } }
  - { id: zone, path: z.ts, deploy: { labels: { zone: a } } }
  - { id: big, path: b.ts, deploy: { resources: { cpu: 8 } } }
  - { id: nowhere, path: n.ts, deploy: { caps: [lidar] } }
`
  const df = parseDescriptor(yaml, { checkFiles: false })
  const members = [
    member(0, { caps: ['gpu'], labels: { zone: 'b' }, resources: { cpu: 4 } }),
    member(1, { labels: { zone: 'a' }, resources: { cpu: 16 } }),
    member(2, { caps: ['gpu'] }),
    member(3, { caps: ['gpu', 'lidar'], labels: { zone: 'a' }, resources: { cpu: 32 } }),
  ]
  const live = [peer(0), peer(1), peer(2)]

  it('places each node only on members that satisfy caps, pins, labels and resources, and says why', () => {
    const r = computePlacement({ flows: [{ name: 'demo', state: 'running', nodes: df.nodes }], members, live, rosterSize: 4 }, { explain: true })
    const p = byKey(r.placements)
    expect([...p.keys()]).toEqual(['demo/arm', 'demo/big', 'demo/detector', 'demo/nowhere', 'demo/zone'])
    expect([peer(0), peer(2)]).toContain(p.get('demo/detector')?.peerId)
    expect(p.get('demo/arm')?.peerId).toBe(peer(2))
    expect(p.get('demo/zone')?.peerId).toBe(peer(1))
    expect(p.get('demo/big')?.peerId).toBe(peer(1))
    const nowhere = p.get('demo/nowhere') as NodePlacement
    expect(nowhere.peerId).toBeNull()
    expect(nowhere.epoch).toBe(0)
    expect(nowhere.reason).toBe('no eligible live peer (3 missing cap lidar, 1 not live)')

    const cand = (key: string, id: number): unknown => p.get(key)?.candidates?.find(c => c.peerId === peer(id))
    expect(cand('demo/detector', 1)).toMatchObject({ eligible: false, reason: 'missing cap gpu', score: null })
    expect(cand('demo/detector', 3)).toMatchObject({ eligible: false, live: false, reason: 'not live' })
    expect(cand('demo/arm', 0)).toMatchObject({ reason: 'pinned to machine robot-2' })
    expect(cand('demo/zone', 0)).toMatchObject({ reason: 'label zone=b, needs zone=a' })
    expect(cand('demo/zone', 2)).toMatchObject({ reason: 'label zone=a not present' })
    expect(cand('demo/big', 0)).toMatchObject({ reason: 'cpu 4 < 8 needed' })
    expect(cand('demo/big', 2)).toMatchObject({ reason: 'declares no cpu' })
    const det = p.get('demo/detector') as NodePlacement
    expect(det.candidates?.[0]).toMatchObject({ chosen: true, eligible: true, peerId: det.peerId, bonus: 0 })
    expect(det.candidates?.[0]?.score).toBeCloseTo(hrwScore(det.peerId as string, 'demo/detector'), 12)
    expect(det.score).toBeCloseTo(hrwScore(det.peerId as string, 'demo/detector'), 12)
    expect(det.reason).toMatch(/^highest score .* among 2 eligible$/)
    // Without explain there are no candidate lists (they cost an allocation per member).
    expect(computePlacement({ flows: [{ name: 'demo', state: 'running', nodes: df.nodes }], members, live, rosterSize: 4 }).placements[0]?.candidates).toBeUndefined()
  })

  it('explains the stickiness bonus of the current holder', () => {
    const flows = [{ name: 'demo', state: 'running' as const, nodes: df.nodes }]
    const r1 = computePlacement({ flows, members, live, rosterSize: 4 })
    const det = byKey(r1.placements).get('demo/detector') as NodePlacement
    const other = det.peerId === peer(0) ? peer(2) : peer(0)
    // Make the loser the holder: with Infinity stickiness it keeps the node and the bonus shows.
    const r2 = computePlacement({ flows, members, live, rosterSize: 4, previous: { 'demo/detector': { peerId: other, epoch: 7 } }, stickiness: Infinity }, { explain: true })
    const d2 = byKey(r2.placements).get('demo/detector') as NodePlacement
    expect(d2).toMatchObject({ peerId: other, epoch: 7, sticky: true })
    expect(d2.reason).toMatch(/kept by current holder robot-\d: score .* \+ stickiness Infinity ≥ best other/)
    expect(d2.candidates?.[0]).toMatchObject({ peerId: other, chosen: true, reason: 'eligible (current holder)', bonus: Infinity })
    const text = formatPlan(r2, { maxCandidates: 2 })
    expect(text).toContain('visible 3 of 4 roster members (majority)')
    expect(text).toContain(`demo/detector → ${other} (epoch 7): kept by current holder`)
    expect(text).toMatch(/\* robot-\d \(12D3KooWpeer000\d\) score .* \+ stickiness Infinity = Infinity/)
    expect(text).toContain('demo/nowhere → unplaced: no eligible live peer')
    expect(text).toContain('… 2 more')
  })

  it('reads flows from document records, dropping unreadable specs with a reason', () => {
    const spec = JSON.parse(JSON.stringify(df))
    const bad: string[] = []
    const flows = placementFlowsFrom([
      { name: 'demo', state: 'running', spec },
      { name: 'broken', state: 'running', spec: { nodes: [{ id: 'x/y' }] } },
      { name: 'odd', state: 'paused', spec },
    ], (name, reason) => bad.push(`${name}: ${reason}`))
    expect(flows.map(f => f.name)).toEqual(['demo'])
    expect(bad).toEqual(['broken: node id invalid', 'odd: unknown state "paused"'])
    const r = computePlacement({ flows, members, live, rosterSize: 4 })
    expect(byKey(r.placements).get('demo/arm')?.peerId).toBe(peer(2))
  })

  it('stopped flows place nothing and keep their epochs', () => {
    const r = computePlacement({ flows: [{ ...items(3), state: 'stopped' }], members, live, rosterSize: 4, previous: { 'f/n1': { peerId: peer(0), epoch: 4 } } })
    expect(r.placements.map(p => [p.key, p.peerId, p.epoch, p.reason])).toEqual([['f/n0', null, 0, 'flow stopped'], ['f/n1', null, 4, 'flow stopped'], ['f/n2', null, 0, 'flow stopped']])
  })
})

describe('strict singletons and capacity', () => {
  it('runs a strict singleton only where a majority of the roster is visible', () => {
    const members = Array.from({ length: 5 }, (_, i) => member(i))
    const flows: PlacementFlow[] = [{ name: 'f', state: 'running', nodes: [{ id: 'leader', deploy: { strict: true } }, { id: 'free' }] }]
    const minority = computePlacement({ flows, members, live: [peer(0), peer(1)], rosterSize: 5 })
    const m = byKey(minority.placements)
    expect(minority.majority).toBe(false)
    expect(m.get('f/leader')?.peerId).toBeNull()
    expect(m.get('f/leader')?.reason).toBe('strict singleton: 2 of 5 roster members visible, a majority needs 3')
    expect(m.get('f/free')?.peerId).not.toBeNull()
    const majority = computePlacement({ flows, members, live: [peer(2), peer(3), peer(4)], rosterSize: 5 })
    expect(majority.majority).toBe(true)
    expect(byKey(majority.placements).get('f/leader')?.peerId).not.toBeNull()
    // Live peers that are not members do not count towards the majority.
    expect(computePlacement({ flows, members, live: [peer(0), peer(1), 'stranger'], rosterSize: 5 }).majority).toBe(false)
  })

  it('never oversubscribes declared cpu and memory, and keeps holders first', () => {
    const members = [member(0, { resources: { cpu: 4, memory_mb: 1000 } }), member(1, { resources: { cpu: 2, memory_mb: 4000 } }), member(2, { resources: { cpu: 1 } })]
    const nodes = Array.from({ length: 10 }, (_, i) => ({ id: `w${i}`, deploy: { resources: { cpu: 1, memory_mb: 500 } } }))
    const live = members.map(m => m.peerId)
    const r = computePlacement({ flows: [{ name: 'f', state: 'running', nodes }], members, live, rosterSize: 3 })
    const used = new Map<string, { cpu: number, mem: number }>()
    for (const p of r.placements) {
      if (p.peerId === null) continue
      const u = used.get(p.peerId) ?? { cpu: 0, mem: 0 }
      used.set(p.peerId, { cpu: u.cpu + 1, mem: u.mem + 500 })
    }
    expect(used.get(peer(0))).toEqual({ cpu: 2, mem: 1000 })
    expect(used.get(peer(1))).toEqual({ cpu: 2, mem: 1000 })
    expect(used.has(peer(2))).toBe(false) // declares no memory_mb
    const unplaced = r.placements.filter(p => p.peerId === null)
    expect(unplaced).toHaveLength(6)
    expect(unplaced[0]?.reason).toBe('all 2 eligible peers lack remaining capacity for cpu 1, memory_mb 500')
    // Holders keep their nodes even when keys sorting earlier would otherwise grab the capacity.
    const prev = holders(r.placements)
    const again = computePlacement({ flows: [{ name: 'f', state: 'running', nodes }], members, live, rosterSize: 3, previous: prev })
    for (const [k, h] of prev) expect(byKey(again.placements).get(k)?.peerId).toBe(h.peerId)
  })
})

describe('determinism (fast-check)', () => {
  const caps = ['gpu', 'camera', 'lidar']
  const arbMember = fc.record({
    caps: fc.subarray(caps),
    zone: fc.constantFrom('a', 'b', undefined),
    cpu: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    weight: fc.option(fc.constantFrom(1, 2, 0.5), { nil: undefined }),
  })
  const arbNode = fc.record({
    caps: fc.subarray(caps, { maxLength: 1 }),
    zone: fc.constantFrom('a', undefined),
    cpu: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    strict: fc.boolean(),
    pin: fc.option(fc.integer({ min: 0, max: 11 }), { nil: undefined }),
  })
  const arbWorld = fc.record({
    members: fc.array(arbMember, { minLength: 1, maxLength: 12 }),
    flows: fc.array(fc.record({ state: fc.constantFrom('running' as const, 'stopped' as const), nodes: fc.array(arbNode, { maxLength: 8 }) }), { maxLength: 4 }),
    liveMask: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
    prevMask: fc.array(fc.integer({ min: -1, max: 11 }), { minLength: 32, maxLength: 32 }),
    stickiness: fc.constantFrom(0, 1, Infinity),
    seed: fc.integer(),
  })

  type World = typeof arbWorld extends fc.Arbitrary<infer T> ? T : never
  function build (w: World): PlacementInput {
    const members: PlacementMember[] = w.members.map((m, i) => ({
      peerId: peer(i), name: `robot-${i}`, caps: m.caps, labels: m.zone !== undefined ? { zone: m.zone } as Record<string, string> : {},
      ...(m.cpu !== undefined ? { resources: { cpu: m.cpu } } : {}), ...(m.weight !== undefined ? { weight: m.weight } : {}),
    }))
    const flows: PlacementFlow[] = w.flows.map((f, fi) => ({
      name: `flow${fi}`, state: f.state,
      nodes: f.nodes.map((n, ni) => ({
        id: `n${ni}`,
        deploy: { caps: n.caps, labels: n.zone !== undefined ? { zone: n.zone } as Record<string, string> : {}, ...(n.cpu ? { resources: { cpu: n.cpu } } : {}), strict: n.strict, ...(n.pin !== undefined ? { machine: `robot-${n.pin}` } : {}) },
      })),
    }))
    const previous: Record<string, Holder> = {}
    let k = 0
    for (const f of flows) for (const n of f.nodes) { const p = w.prevMask[k++ % 32] as number; if (p >= 0) previous[`${f.name}/${n.id}`] = { peerId: peer(p), epoch: 1 + (p % 3) } }
    return { flows, members, live: members.filter((_, i) => w.liveMask[i]).map(m => m.peerId), rosterSize: members.length, previous, stickiness: w.stickiness }
  }

  function shuffle<T> (xs: readonly T[], seed: number): T[] {
    const out = [...xs]
    let s = seed >>> 0
    for (let i = out.length - 1; i > 0; i--) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0
      const j = s % (i + 1)
      ;[out[i], out[j]] = [out[j] as T, out[i] as T]
    }
    return out
  }

  it('same inputs in any order give the same placement; invariants hold', () => {
    fc.assert(fc.property(arbWorld, (w) => {
      const input = build(w)
      const a = computePlacement(input)
      const permuted: PlacementInput = {
        ...input,
        members: shuffle(input.members, w.seed).map(m => ({ ...m, caps: shuffle(m.caps, w.seed + 1) })),
        flows: shuffle(input.flows, w.seed + 2).map(f => ({ ...f, nodes: shuffle(f.nodes, w.seed + 3) })),
        live: new Set(shuffle([...input.live], w.seed + 4)),
        previous: new Map(shuffle(Object.entries(input.previous as Record<string, Holder>), w.seed + 5)),
      }
      const b = computePlacement(permuted)
      expect(b).toEqual(a)
      const liveSet = new Set(input.live)
      const cpuLeft = new Map(input.members.map(m => [m.peerId, m.resources?.cpu ?? 0]))
      for (const p of a.placements) {
        const prev = (input.previous as Record<string, Holder>)[p.key]
        if (p.peerId === null) { expect(p.epoch).toBe(prev?.epoch ?? 0); continue }
        expect(liveSet.has(p.peerId)).toBe(true)
        expect(p.epoch).toBe(prev === undefined ? 1 : prev.peerId === p.peerId ? prev.epoch : prev.epoch + 1)
        const flow = input.flows.find(f => p.key.startsWith(`${f.name}/`)) as PlacementFlow
        const spec = flow.nodes.find(n => n.id === p.node)
        const m = input.members.find(x => x.peerId === p.peerId) as PlacementMember
        for (const c of spec?.deploy?.caps ?? []) expect(m.caps).toContain(c)
        if (spec?.deploy?.machine) expect(m.name).toBe(spec.deploy.machine)
        if (spec?.deploy?.strict) expect(a.majority).toBe(true)
        const need = spec?.deploy?.resources?.cpu ?? 0
        if (need > 0) cpuLeft.set(p.peerId, (cpuLeft.get(p.peerId) ?? 0) - need)
      }
      for (const left of cpuLeft.values()) expect(left).toBeGreaterThanOrEqual(0)
    }), { numRuns: 300 })
  })

  it('garbage in the roster or flows is skipped, never thrown', () => {
    const input = {
      flows: [null, { name: 'f', state: 'running', nodes: [{ id: 'a' }, { nope: 1 }, 7] }, { name: 3 }],
      members: [null, { peerId: peer(0), name: 'x', caps: 'gpu', labels: [], resources: { cpu: 'many' } }, { peerId: 5 }],
      live: [peer(0), 42],
      rosterSize: NaN,
      previous: { 'f/a': { peerId: 9, epoch: 'x' } },
    } as unknown as PlacementInput
    const r = computePlacement(input)
    expect(r.placements).toHaveLength(1)
    expect(r.placements[0]).toMatchObject({ key: 'f/a', peerId: peer(0), epoch: 1 })
    // null member, peerId 5; null flow, name 3; node {nope}, node 7; the malformed holder.
    expect(r.ignored).toBe(7)
    expect(computePlacement({ flows: [items(2)], members: [member(0)], live: [peer(0)], rosterSize: 1 }).ignored).toBe(0)
  })
})

describe('partition heal and fencing', () => {
  it('resolveConflict: highest epoch, then score, then smaller peer id; order-independent', () => {
    const a = { peerId: 'A', epoch: 3, score: 1 }
    const b = { peerId: 'B', epoch: 4, score: 0.1 }
    const c = { peerId: 'C', epoch: 4, score: 0.5 }
    const d = { peerId: 'D', epoch: 4, score: 0.5 }
    expect(resolveConflict(a, b)).toBe(b)
    expect(resolveConflict(b, a)).toBe(b)
    expect(resolveConflict(b, c)).toBe(c)
    expect(resolveConflict(c, b)).toBe(c)
    expect(resolveConflict(d, c)).toBe(c)
    expect(resolveConflict(c, d)).toBe(c)
  })

  it('both sides of a partition elect, and after heal everyone agrees on one holder with a higher epoch', () => {
    const members = Array.from({ length: 6 }, (_, i) => member(i))
    const flows = [items(200)]
    const all = members.map(m => m.peerId)
    const base = computePlacement({ flows, members, live: all, rosterSize: 6 })
    const prev = holders(base.placements)
    const sideA = all.slice(0, 3)
    const sideB = all.slice(3)
    const ra = byKey(computePlacement({ flows, members, live: sideA, rosterSize: 6, previous: prev }).placements)
    const rb = byKey(computePlacement({ flows, members, live: sideB, rosterSize: 6, previous: prev }).placements)
    // Merge the two sides' claims as the document would, resolving each conflict with the heal rule.
    const merged = new Map<string, Holder>()
    for (const [key, pa] of ra) {
      const pb = rb.get(key) as NodePlacement
      const ca = { peerId: pa.peerId as string, epoch: pa.epoch, score: hrwScore(pa.peerId as string, key) }
      const cb = { peerId: pb.peerId as string, epoch: pb.epoch, score: hrwScore(pb.peerId as string, key) }
      const w = resolveConflict(ca, cb)
      merged.set(key, { peerId: w.peerId, epoch: w.epoch })
      // The loser is fenced: its data is stale against the winner's claim.
      const loser = w === ca ? cb : ca
      if (loser.peerId !== w.peerId) expect(isStale(loser, w)).toBe(true)
    }
    const healedA = computePlacement({ flows, members: [...members].reverse(), live: [...all].reverse(), rosterSize: 6, previous: merged })
    const healedB = computePlacement({ flows, members, live: all, rosterSize: 6, previous: new Map([...merged].reverse()) })
    expect(healedA).toEqual(healedB)
    for (const p of healedA.placements) expect(p.epoch).toBeGreaterThanOrEqual((prev.get(p.key) as Holder).epoch)
  })

  it('isStale fences older epochs and same-epoch impostors, not newer producers', () => {
    expect(isStale({ peerId: 'A', epoch: 2 }, { peerId: 'B', epoch: 3 })).toBe(true)
    expect(isStale({ peerId: 'B', epoch: 3 }, { peerId: 'B', epoch: 3 })).toBe(false)
    expect(isStale({ peerId: 'A', epoch: 3 }, { peerId: 'B', epoch: 3 })).toBe(true)
    expect(isStale({ peerId: 'A', epoch: 4 }, { peerId: 'B', epoch: 3 })).toBe(false)
  })
})
