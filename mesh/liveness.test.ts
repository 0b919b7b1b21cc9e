/**
 * What each member reports of its own uptime travels with the heartbeats, also across a relay, and
 * a member whose timer stood still for longer than the dead time reports itself as up again.
 * Three real liveness instances on in-memory channels (line a – b – c), real timers, short periods.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { pack } from 'msgpackr'
import { silentLogger } from '../common/log.ts'
import { memoryChannelPair, until } from '../crdt-state/testing.ts'
import { createLiveness, HEARTBEAT_PROTOCOL, type Liveness } from './liveness.ts'

const stops: Array<() => void> = []
afterEach(() => { for (const s of stops.splice(0)) s() })

function node (id: string, clock: { offset: number }): Liveness {
  const l = createLiveness({ intervalMs: 20, suspectAfterMs: 60, deadAfterMs: 120 }, { logger: silentLogger(), selfId: id, now: () => Date.now() + clock.offset })
  l.setRoster(['a', 'b', 'c', 'd'])
  l.start()
  stops.push(() => l.stop())
  return l
}

function link (x: Liveness, xId: string, y: Liveness, yId: string): void {
  const [toY, toX] = memoryChannelPair(xId, yId, HEARTBEAT_PROTOCOL)
  x.attach(toY)
  y.attach(toX)
}

describe('liveness: uptime reports', () => {
  it('relays each member\'s uptime; a stall longer than the dead time restarts it; a member that died and came back starts from zero; a peer that reports none counts from when it was seen', async () => {
    const clocks = { a: { offset: 0 }, b: { offset: 0 }, c: { offset: 0 } }
    const a = node('a', clocks.a)
    const b = node('b', clocks.b)
    const c = node('c', clocks.c)
    link(a, 'a', b, 'b')
    link(b, 'b', c, 'c')
    await until('a hears of c through b', () => a.state('c') === 'alive' && a.upFor('c') !== undefined)
    await new Promise(resolve => setTimeout(resolve, 400))
    const ownC = c.upFor('c') as number
    expect(ownC).toBeGreaterThanOrEqual(400)
    expect(Math.abs((a.upFor('c') as number) - ownC)).toBeLessThan(100)
    expect(Math.abs((b.upFor('a') as number) - (a.upFor('a') as number))).toBeLessThan(100)

    // c's timer stands still for longer than the dead time (its clock jumps past its last beat)
    clocks.c.offset += 1000
    await until('c counts itself up again', () => (c.upFor('c') as number) < 200)
    await until('a learns it through b', () => (a.upFor('c') ?? Infinity) < 300, 3000)
    expect(b.upFor('c') as number).toBeLessThan(300)
    // the others did not stall
    expect(a.upFor('b') as number).toBeGreaterThanOrEqual(400)

    // a member that dies is up for nothing; when it comes back its old uptime does not count,
    // not even in the moment before its first report
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(a.upFor('c') as number).toBeGreaterThanOrEqual(300)
    b.connectionLost('c')
    c.connectionLost('b')
    await until('a learns c is gone', () => a.state('c') === 'dead')
    expect(a.upFor('c')).toBeUndefined()
    const seen: string[] = []
    stops.push(a.onUptime(p => { seen.push(p) }))
    link(a, 'a', c, 'c')
    expect(a.state('c')).toBe('alive')
    expect(a.upFor('c') as number).toBeLessThan(50)
    await until('c reports its uptime to a', () => seen.filter(p => p === 'c').length >= 2)
    expect(Math.abs((a.upFor('c') as number) - (c.upFor('c') as number))).toBeLessThan(100)

    // a peer that sends heartbeats without uptimes (an older version) counts as up since we saw it
    const [toD, fromA] = memoryChannelPair('a', 'd', HEARTBEAT_PROTOCOL)
    const attachedAt = Date.now()
    a.attach(toD)
    const timer = setInterval(() => { void fromA.send(pack({ s: 1, h: [], g: [] })) }, 20)
    stops.push(() => clearInterval(timer))
    await until('a hears d', () => a.state('d') === 'alive')
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(a.upFor('d') as number).toBeLessThanOrEqual(Date.now() - attachedAt)
    expect(a.upFor('d') as number).toBeGreaterThanOrEqual(80)
    expect(a.counters.badFrames).toBe(0)
  })

  it('runs on a monotonic clock: a wall-clock step (NTP, GPS) kills nobody and is no stall of our own', async () => {
    // Date.now is replaced before the instances exist, so a clock read through it, however it was
    // captured, sees the step
    const realNow = Date.now.bind(Date)
    const wall = { offset: 0 }
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + wall.offset)
    stops.push(() => clock.mockRestore())
    const deaths: string[] = []
    const make = (id: string): Liveness => {
      const l = createLiveness({ intervalMs: 20, suspectAfterMs: 60, deadAfterMs: 120 }, { logger: silentLogger(), selfId: id })
      l.setRoster(['a', 'b'])
      l.start()
      stops.push(() => l.stop())
      stops.push(l.onChange((peer, state) => { if (state !== 'alive') deaths.push(`${id} saw ${peer} ${state}`) }))
      return l
    }
    const a = make('a')
    const b = make('b')
    link(a, 'a', b, 'b')
    await until('a sees b', () => a.state('b') === 'alive')
    await new Promise(resolve => setTimeout(resolve, 200))
    wall.offset = 10_000
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(deaths).toEqual([])
    expect(a.upFor('a') as number).toBeGreaterThanOrEqual(450)
    expect(a.upFor('b') as number).toBeGreaterThanOrEqual(400)
    // what leaves as wall time follows the (stepped) wall clock
    expect(a.list()[0]?.lastSeen as number).toBeGreaterThan(realNow() + 9_000)
  })
})
