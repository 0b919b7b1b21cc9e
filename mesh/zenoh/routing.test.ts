/**
 * Routing between routers over in-memory FramedChannel pairs (the mesh transport is faked; the
 * routers, their endpoints and the zenoh-ts clients are real).
 */
import { describe, expect, test } from 'vitest'
import { ConsolidationMode, Query, Reply, ReplyError, Sample, SampleKind, WhatAmI, type MatchingStatus, type TransportEvent, type LinkEvent } from '@eclipse-zenoh/zenoh-ts'
import { Inbox, channelPair, openSession, startRouter, until, within, type TestRouter } from './test-helpers.ts'

function link (x: TestRouter, y: TestRouter): () => void {
  const { a, b, cut } = channelPair(x.peerId, y.peerId)
  x.attachNeighbour(a)
  y.attachNeighbour(b)
  return cut
}

async function replies (rx: AsyncIterable<Reply> | undefined): Promise<string[]> {
  const out: string[] = []
  if (rx === undefined) return out
  await within(5000, 'get to finalize', (async () => {
    for await (const r of rx) { const v = r.result(); out.push(v instanceof ReplyError ? `err:${v.payload().toString()}` : v.payload().toString()) }
  })())
  return out.sort()
}

async function routed (...rs: TestRouter[]): Promise<void> {
  await within(5000, 'routes', Promise.all(rs.flatMap(r => rs.filter(o => o !== r).map(o => r.whenRouteTo(o.peerId)))))
}

describe('routing between three routers', () => {
  test('line A–B–C: put on A reaches B and C; C reaches A through B; get from C collects A and B; no duplicates', async () => {
    await using A = await startRouter('A')
    await using B = await startRouter('B')
    await using C = await startRouter('C')
    link(A, B)
    link(B, C)
    await routed(A, B, C)
    expect(A.status().routes.find(r => r.peer === 'C')).toMatchObject({ via: 'B', hops: 2 })

    await using sa = await openSession(A)
    await using sb = await openSession(B)
    await using sc = await openSession(C)
    const atB = new Inbox<Sample>()
    const atC = new Inbox<Sample>()
    const atA = new Inbox<Sample>()
    await sb.declareSubscriber('demo/**', { handler: atB.push })
    await sc.declareSubscriber('demo/**', { handler: atC.push })
    await sa.declareSubscriber('back/*', { handler: atA.push })
    await until(() => (A.status().routes.find(r => r.peer === 'C')?.declarations ?? 0) >= 1, 2000, 'C subscriber known at A')
    await until(() => (C.status().routes.find(r => r.peer === 'A')?.declarations ?? 0) >= 1, 2000, 'A subscriber known at C')

    for (let i = 0; i < 20; i++) await sa.put(`demo/${i}`, `v${i}`, { attachment: 'a' })
    expect((await atB.take(20)).map(s => s.payload().toString())).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`))
    const c = await atC.take(20)
    expect(c.map(s => s.keyexpr().toString())).toEqual(Array.from({ length: 20 }, (_, i) => `demo/${i}`))
    expect(c[0]?.attachment()?.toString()).toBe('a')
    await sc.put('back/x', 'from-c')
    expect((await atA.next()).payload().toString()).toBe('from-c')

    await sa.declareQueryable('svc/**', { handler: async (q: Query) => { await q.reply('svc/a', 'A'); await q.finalize() } })
    await sb.declareQueryable('svc/**', { handler: async (q: Query) => { await q.reply('svc/b', 'B'); await q.finalize() } })
    await until(() => (C.status().routes.find(r => r.peer === 'A')?.declarations ?? 0) >= 2, 2000, 'A queryable known at C')
    expect(await replies(await sc.get('svc/**', { consolidation: ConsolidationMode.NONE }))).toEqual(['A', 'B'])

    // a queryable that never finalizes: the get ends by its timeout, replies that arrived are kept
    await sa.declareQueryable('hang', { handler: async (q: Query) => { await q.reply('hang', 'h') } })
    await until(() => (C.status().routes.find(r => r.peer === 'A')?.declarations ?? 0) >= 3, 2000, 'hang queryable known at C')
    const { Duration } = await import('typed-duration')
    expect(await replies(await sc.get('hang', { timeout: Duration.milliseconds.of(300) }))).toEqual(['h'])

    // nothing arrived twice
    expect(atB.size + atC.size + atA.size).toBe(0)
  })

  test('triangle: each put delivered exactly once; the longer path takes over when a link drops', async () => {
    await using A = await startRouter('A')
    await using B = await startRouter('B')
    await using C = await startRouter('C')
    const cutAB = link(A, B)
    link(B, C)
    link(A, C)
    await routed(A, B, C)
    await using sa = await openSession(A)
    await using sb = await openSession(B)
    const atB = new Inbox<Sample>()
    await sb.declareSubscriber('tri/*', { handler: atB.push })
    await until(() => (A.status().routes.find(r => r.peer === 'B')?.declarations ?? 0) >= 1, 2000, 'sub known')
    for (let i = 0; i < 10; i++) await sa.put(`tri/${i}`, `${i}`)
    expect((await atB.take(10)).length).toBe(10)
    cutAB()
    await until(() => A.status().routes.find(r => r.peer === 'B')?.via === 'C', 2000, 'A reroutes to B via C')
    await until(() => (A.status().routes.find(r => r.peer === 'B')?.declarations ?? 0) >= 1, 2000, 'sub known via C')
    await sa.put('tri/after', 'after')
    expect((await atB.next()).payload().toString()).toBe('after')
    // the fixed path rejects nothing twice
    await sa.put('tri/end', 'end')
    expect((await atB.next()).payload().toString()).toBe('end')
    expect(atB.size).toBe(0)
  })

  test('a dead peer: its liveliness tokens and declarations vanish everywhere, pending gets finalize', async () => {
    await using A = await startRouter('A')
    await using B = await startRouter('B')
    const C = await startRouter('C')
    link(A, B)
    link(B, C)
    await routed(A, B, C)
    await using sa = await openSession(A)
    const sc = await openSession(C)
    await sc.liveliness().declareToken('swarm/alive/C')
    await sc.declareQueryable('never', { handler: () => { /* never replies: the get must end when C dies */ } })
    const events = new Inbox<Sample>()
    await sa.liveliness().declareSubscriber('swarm/alive/*', { handler: events.push, history: true })
    const up = await events.next(2000, 'token of C')
    expect([up.keyexpr().toString(), up.kind()]).toEqual(['swarm/alive/C', SampleKind.PUT])
    await until(() => (A.status().routes.find(r => r.peer === 'C')?.declarations ?? 0) >= 2, 2000, 'queryable known')
    const pub = await sa.declarePublisher('to/c')
    const matching = new Inbox<MatchingStatus>()
    await sc.declareSubscriber('to/c', { handler: () => {} })
    await pub.matchingListener({ handler: matching.push })
    expect((await matching.next(2000, 'matching')).matching()).toBe(true)
    const pending = replies(await sa.get('never'))

    // C is declared dead: its neighbour B detaches it (the integrator's job on liveness 'dead')
    const t0 = Date.now()
    B.detachNeighbour('C')
    const down = await events.next(2000, 'DELETE of C token')
    expect([down.keyexpr().toString(), down.kind()]).toEqual(['swarm/alive/C', SampleKind.DELETE])
    expect(Date.now() - t0).toBeLessThan(500)
    expect(await pending).toEqual([])
    expect((await matching.next(2000, 'not matching')).matching()).toBe(false)
    expect(A.status().routes.map(r => r.peer)).toEqual(['B'])
    expect((await sa.liveliness().get('swarm/alive/*').then(replies))).toEqual([])
    await sc.close().catch(() => {})
    await C.stop()
  })

  test('a replaced channel from the same neighbour keeps routes without flapping liveliness', async () => {
    await using A = await startRouter('A')
    await using B = await startRouter('B')
    link(A, B)
    await routed(A, B)
    await using sb = await openSession(B)
    await sb.liveliness().declareToken('rep/B')
    await using sa = await openSession(A)
    const events = new Inbox<Sample>()
    await sa.liveliness().declareSubscriber('rep/*', { handler: events.push, history: true })
    expect((await events.next()).kind()).toBe(SampleKind.PUT)
    link(A, B) // second channel: both sides replace the first one
    const sub = new Inbox<Sample>()
    await sa.declareSubscriber('rep/data', { handler: sub.push })
    await until(() => (B.status().routes.find(r => r.peer === 'A')?.declarations ?? 0) >= 1, 2000, 'sub known at B')
    await sb.put('rep/data', 'still routed')
    expect((await sub.next()).payload().toString()).toBe('still routed')
    expect(events.size).toBe(0)
  })

  test('session info, transports, links and their event listeners reflect mesh neighbours', async () => {
    await using A = await startRouter('A')
    await using B = await startRouter('B')
    await using sa = await openSession(A)
    const info0 = await sa.info()
    expect(await info0.transports()).toEqual([])
    const tEvents = new Inbox<TransportEvent>()
    const lEvents = new Inbox<LinkEvent>()
    const tl = await info0.transportEventsListener({ handler: tEvents.push, history: true })
    await info0.linkEventsListener({ handler: lEvents.push, history: false })
    const cut = link(A, B)
    await routed(A, B)
    const up = await tEvents.next(2000, 'transport PUT')
    expect([up.kind(), up.transport().whatami()]).toEqual([SampleKind.PUT, WhatAmI.ROUTER])
    expect((await lEvents.next(2000, 'link PUT')).link().dst()).toBe('libp2p/B')
    const info = await sa.info()
    expect(info.routersZid().map(z => z.toString())).toEqual([B.zenohId])
    expect((await info.transports()).map(t => t.zid().toString())).toEqual([B.zenohId])
    expect((await info.links()).map(l => [l.src(), l.dst()])).toEqual([['libp2p/A', 'libp2p/B']])
    cut()
    expect((await tEvents.next(2000, 'transport DELETE')).kind()).toBe(SampleKind.DELETE)
    await tl.undeclare()
    await expect(tl.undeclare()).rejects.toThrow(/does not exist/)
  })
})
