/**
 * The remote-api endpoint against the unmodified zenoh-ts client: every operation of the
 * protocol on one router.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  ConsolidationMode, Encoding, Locality, Priority, QueryTarget, Reply, ReplyError, ReplyKeyExpr, Sample, SampleKind, Query, ZBytes,
  type MatchingStatus,
} from '@eclipse-zenoh/zenoh-ts'
import { Duration } from 'typed-duration'
import { WebSocket } from 'ws'
import { ARROW_STREAM_ENCODING } from './keys.ts'
import { Inbox, openSession, startRouter, until, within, type TestRouter } from './test-helpers.ts'

let router: TestRouter

beforeAll(async () => { router = await startRouter('peer-endpoint-test') })
afterAll(async () => { await router.stop() })

async function collectReplies (rx: AsyncIterable<Reply> | undefined): Promise<Array<Sample | ReplyError>> {
  const out: Array<Sample | ReplyError> = []
  if (rx === undefined) return out
  await within(5000, 'get to finalize', (async () => { for await (const r of rx) out.push(r.result()) })())
  return out
}

function text (s: Sample | ReplyError): string {
  return s.payload().toString()
}

describe('zenoh-ts client on one router', () => {
  test('session open (ping), session info, timestamps', async () => {
    await using s = await openSession(router)
    const info = await s.info()
    expect(info.zid().toString()).toBe(router.zenohId)
    expect(info.peersZid()).toEqual([])
    const t1 = await s.newTimestamp()
    const t2 = await s.newTimestamp()
    expect(t2.getNtp64()).toBeGreaterThan(t1.getNtp64())
    expect(Math.abs(t1.getMsSinceUnixEpoch() - Date.now())).toBeLessThan(5000)
    expect(t1.getId().toString()).toBe(router.zenohId)
  })

  test('put and delete reach subscribers; encoding, attachment, timestamp, priority pass through', async () => {
    await using s = await openSession(router)
    await using p = await openSession(router)
    const inbox = new Inbox<Sample>()
    const sub = await s.declareSubscriber('t/put/**', { handler: inbox.push })
    const ts = await p.newTimestamp()
    await p.put('t/put/a', new Uint8Array([1, 2, 3]), { encoding: ARROW_STREAM_ENCODING, attachment: 'meta', timestamp: ts, priority: Priority.DATA_HIGH })
    await p.put('t/other', 'not for us')
    await p.delete('t/put/a', { attachment: 'bye' })
    const [a, d] = await inbox.take(2)
    expect(a?.keyexpr().toString()).toBe('t/put/a')
    expect([...a!.payload().toBytes()]).toEqual([1, 2, 3])
    expect(a?.encoding().toString()).toBe(ARROW_STREAM_ENCODING)
    expect(a?.attachment()?.toString()).toBe('meta')
    expect(a?.timestamp()?.getNtp64()).toBe(ts.getNtp64())
    expect(a?.priority()).toBe(Priority.DATA_HIGH)
    expect(a?.kind()).toBe(SampleKind.PUT)
    expect(d?.kind()).toBe(SampleKind.DELETE)
    expect(d?.attachment()?.toString()).toBe('bye')
    // the router stamps samples without a timestamp, as a zenohd router does
    expect(d?.timestamp()).toBeDefined()
    expect(Math.abs((d?.timestamp()?.asDate().getTime() ?? 0) - Date.now())).toBeLessThan(5000)
    await sub.undeclare()
    await expect(sub.undeclare()).rejects.toThrow(/does not exist/)
  })

  test('declared publisher: put/delete, encoding override, matching status and listener', async () => {
    await using s = await openSession(router)
    const pub = await s.declarePublisher('t/pub/x', { encoding: Encoding.TEXT_PLAIN })
    expect((await pub.matchingStatus()).matching()).toBe(false)
    const matches = new Inbox<MatchingStatus>()
    const ml = await pub.matchingListener({ handler: matches.push })
    await using other = await openSession(router)
    const inbox = new Inbox<Sample>()
    const sub = await other.declareSubscriber('t/pub/*', { handler: inbox.push })
    expect((await matches.next(2000, 'matching true')).matching()).toBe(true)
    expect((await pub.matchingStatus()).matching()).toBe(true)
    await pub.put('one')
    await pub.put('two', { encoding: Encoding.APPLICATION_JSON })
    await pub.delete()
    const got = await inbox.take(3)
    expect(got.map(x => x.kind())).toEqual([SampleKind.PUT, SampleKind.PUT, SampleKind.DELETE])
    expect(got[0]?.encoding().toString()).toBe('text/plain')
    expect(got[1]?.encoding().toString()).toBe('application/json')
    await sub.undeclare()
    expect((await matches.next(2000, 'matching false')).matching()).toBe(false)
    await ml.undeclare()
    await pub.undeclare()
    await expect(pub.put('late')).resolves.toBeUndefined() // no seq: the router logs it, nothing to answer
    await expect(pub.undeclare()).rejects.toThrow(/does not exist/)
  })

  test('locality: session-local and remote-only subscribers and publications', async () => {
    await using s = await openSession(router)
    await using o = await openSession(router)
    const localOnly = new Inbox<Sample>()
    const remoteOnly = new Inbox<Sample>()
    const any = new Inbox<Sample>()
    await s.declareSubscriber('t/loc', { handler: localOnly.push, allowedOrigin: Locality.SESSION_LOCAL })
    await s.declareSubscriber('t/loc', { handler: remoteOnly.push, allowedOrigin: Locality.REMOTE })
    await o.declareSubscriber('t/loc', { handler: any.push })
    await s.put('t/loc', 'from-s')
    await o.put('t/loc', 'from-o')
    await s.put('t/loc', 'only-local', { allowedDestination: Locality.SESSION_LOCAL })
    await s.put('t/loc', 'only-remote', { allowedDestination: Locality.REMOTE })
    await s.put('t/loc', 'end')
    const all = await any.take(4)
    // order holds per publishing session, not across sessions
    expect(all.map(text).filter(t => t !== 'from-o')).toEqual(['from-s', 'only-remote', 'end'])
    expect(all.map(text)).toContain('from-o')
    expect((await localOnly.take(3)).map(text)).toEqual(['from-s', 'only-local', 'end'])
    expect((await remoteOnly.take(1)).map(text)).toEqual(['from-o'])
  })

  test('get and queryable: reply, reply-delete, reply-error, attachment, parameters, finalization', async () => {
    await using s = await openSession(router)
    await using c = await openSession(router)
    const seen = new Inbox<string>()
    const q = await s.declareQueryable('t/q/**', {
      handler: async (query: Query) => {
        seen.push(`${query.keyExpr().toString()}?${query.parameters().toString()}|${query.payload()?.toString() ?? ''}|${query.attachment()?.toString() ?? ''}`)
        await query.reply('t/q/a', 'A', { encoding: Encoding.TEXT_PLAIN, attachment: 'att' })
        await query.replyDel('t/q/b')
        await query.replyErr('broken')
        await query.finalize()
      },
    })
    const replies = await collectReplies(await c.get('t/q/**?x=1', { payload: 'body', attachment: 'qa', consolidation: ConsolidationMode.NONE }))
    expect(await seen.next()).toBe('t/q/**?x=1|body|qa')
    const samples = replies.filter((r): r is Sample => r instanceof Sample)
    const errors = replies.filter((r): r is ReplyError => r instanceof ReplyError)
    expect(samples.map(r => `${r.keyexpr().toString()}:${r.kind()}`).sort()).toEqual(['t/q/a:0', 't/q/b:1'])
    expect(samples.find(r => r.kind() === SampleKind.PUT)?.attachment()?.toString()).toBe('att')
    expect(errors.map(text)).toEqual(['broken'])
    await q.undeclare()
    // nothing matches any more: the get finalizes at once
    const t0 = Date.now()
    expect(await collectReplies(await c.get('t/q/a'))).toEqual([])
    expect(Date.now() - t0).toBeLessThan(1000)
  })

  test('get timeout when a queryable never finalizes; reply key-expr policy; consolidation latest', async () => {
    await using s = await openSession(router)
    await using c = await openSession(router)
    await s.declareQueryable('t/slow', { handler: async (query: Query) => { await query.reply('t/slow', 'partial'); await query.reply('t/elsewhere', 'x') } })
    const t0 = Date.now()
    const replies = await collectReplies(await c.get('t/slow', { timeout: Duration.milliseconds.of(300) }))
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
    expect(replies.map(text)).toEqual(['partial']) // t/elsewhere rejected: does not match the query
    const any = await collectReplies(await c.get('t/slow', { timeout: Duration.milliseconds.of(300), acceptReplies: ReplyKeyExpr.ANY, consolidation: ConsolidationMode.NONE }))
    expect(any.map(text).sort()).toEqual(['partial', 'x'])

    await s.declareQueryable('t/many', { handler: async (query: Query) => { for (const v of ['1', '2', '3']) await query.reply('t/many', v); await query.finalize() } })
    const latest = await collectReplies(await c.get('t/many', { consolidation: ConsolidationMode.LATEST }))
    expect(latest.map(text)).toEqual(['3'])
    const none = await collectReplies(await c.get('t/many', { consolidation: ConsolidationMode.NONE }))
    expect(none.map(text)).toEqual(['1', '2', '3'])
  })

  test('query targets: best-matching prefers a complete queryable, all-complete only complete ones', async () => {
    await using s = await openSession(router)
    await using c = await openSession(router)
    await s.declareQueryable('t/tgt/**', { complete: true, handler: async (q: Query) => { await q.reply('t/tgt/k', 'complete'); await q.finalize() } })
    await s.declareQueryable('t/tgt/k', { complete: false, handler: async (q: Query) => { await q.reply('t/tgt/k', 'partial'); await q.finalize() } })
    const best = await collectReplies(await c.get('t/tgt/k', { target: QueryTarget.BEST_MATCHING, consolidation: ConsolidationMode.NONE }))
    expect(best.map(text)).toEqual(['complete'])
    const all = await collectReplies(await c.get('t/tgt/k', { target: QueryTarget.ALL, consolidation: ConsolidationMode.NONE }))
    expect(all.map(text).sort()).toEqual(['complete', 'partial'])
    const allComplete = await collectReplies(await c.get('t/tgt/k', { target: QueryTarget.ALL_COMPLETE, consolidation: ConsolidationMode.NONE }))
    expect(allComplete.map(text)).toEqual(['complete'])
  })

  test('querier: get, matching status, undeclare', async () => {
    await using s = await openSession(router)
    await using c = await openSession(router)
    const querier = await c.declareQuerier('t/qr/v', { consolidation: ConsolidationMode.NONE, timeout: Duration.milliseconds.of(2000) })
    expect((await querier.matchingStatus()).matching()).toBe(false)
    const q = await s.declareQueryable('t/qr/*', { handler: async (query: Query) => { await query.reply('t/qr/v', `p=${query.parameters().get('p') ?? ''}`); await query.finalize() } })
    expect((await querier.matchingStatus()).matching()).toBe(true)
    const replies = await collectReplies(await querier.get({ parameters: 'p=7' }))
    expect(replies.map(text)).toEqual(['p=7'])
    await q.undeclare()
    await querier.undeclare()
    await expect(querier.undeclare()).rejects.toThrow(/does not exist/)
  })

  test('liveliness: tokens, subscriber with history, get, undeclare and session close send DELETE', async () => {
    await using a = await openSession(router)
    const t1 = await a.liveliness().declareToken('t/alive/one')
    const events = new Inbox<Sample>()
    await using w = await openSession(router)
    await w.liveliness().declareSubscriber('t/alive/*', { handler: events.push, history: true })
    const first = await events.next(2000, 'history')
    expect(`${first.keyexpr().toString()}:${first.kind()}`).toBe('t/alive/one:0')
    const b = await openSession(router)
    await b.liveliness().declareToken('t/alive/two')
    const second = await events.next(2000, 'token two')
    expect(`${second.keyexpr().toString()}:${second.kind()}`).toBe('t/alive/two:0')
    const alive = await collectReplies(await w.liveliness().get('t/alive/**'))
    expect(alive.map(r => (r as Sample).keyexpr().toString()).sort()).toEqual(['t/alive/one', 't/alive/two'])
    await t1.undeclare()
    const gone = await events.next(2000, 'undeclare')
    expect(`${gone.keyexpr().toString()}:${gone.kind()}`).toBe('t/alive/one:1')
    await b[Symbol.asyncDispose]()
    const gone2 = await events.next(2000, 'session close')
    expect(`${gone2.keyexpr().toString()}:${gone2.kind()}`).toBe('t/alive/two:1')
  })
})

describe('protocol errors and bad input', () => {
  async function raw (): Promise<{ ws: WebSocket, replies: Inbox<Buffer>, [Symbol.asyncDispose]: () => Promise<void> }> {
    const ws = new WebSocket(router.url as string)
    const replies = new Inbox<Buffer>()
    ws.on('message', (d: Buffer) => replies.push(d))
    await within(2000, 'raw websocket open', new Promise(resolve => ws.once('open', resolve)))
    return {
      ws,
      replies,
      [Symbol.asyncDispose]: async () => {
        if (ws.readyState === ws.CLOSED) return
        await new Promise(resolve => { ws.once('close', resolve); ws.close() })
      },
    }
  }
  const req = (id: number, seq: number, body: number[]): Buffer => {
    const b = Buffer.alloc(5 + body.length)
    b[0] = id | 0x80
    b.writeUInt32LE(seq, 1)
    Buffer.from(body).copy(b, 5)
    return b
  }
  const u32 = (v: number): number[] => [v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >>> 24) & 255]
  const str = (s: string): number[] => [s.length, ...Buffer.from(s)]

  test('ping reply layout', async () => {
    await using c = await raw()
    c.ws.send(Buffer.from([0x99, 7, 0, 0, 0]))
    const r = await c.replies.next()
    expect(r[0]).toBe(0x80) // ResponsePing with seq
    expect(r.readUInt32LE(1)).toBe(7)
    expect(r.subarray(6).toString()).toMatch(/^[0-9a-f-]{36}$/)
  })

  test('duplicate declaration and unknown ids answer ResponseError; malformed and text frames are counted', async () => {
    await using c = await raw()
    const decl = (seq: number): Buffer => req(2, seq, [...u32(42), ...str('t/dup'), 2])
    c.ws.send(decl(1))
    const ok = await c.replies.next()
    expect([ok[0], ok.readUInt32LE(1), ok[5]]).toEqual([0x81, 1, 2]) // ResponseOk(DeclareSubscriber)
    c.ws.send(decl(2))
    const dup = await c.replies.next()
    expect(dup[0]).toBe(0x82)
    expect(dup.subarray(6).toString()).toMatch(/already exists/)
    c.ws.send(req(1, 3, u32(999)))
    const unknown = await c.replies.next()
    expect(unknown[0]).toBe(0x82)
    expect(unknown.subarray(6).toString()).toMatch(/Publisher with id 999 does not exist/)
    c.ws.send(req(2, 4, [...u32(43), ...str('a/**/**'), 2]))
    expect((await c.replies.next()).subarray(6).toString()).toMatch(/Invalid key expression/)
    const before = { ...router.counters }
    c.ws.send(Buffer.from([0x82, 5, 0, 0, 0, 1])) // truncated body with seq: error response
    expect((await c.replies.next())[0]).toBe(0x82)
    c.ws.send(Buffer.from([0x7f]))
    c.ws.send('hello')
    c.ws.send(Buffer.alloc(0))
    c.ws.send(Buffer.from([0x99, 8, 0, 0, 0]))
    expect((await c.replies.next())[0]).toBe(0x80) // still serving
    expect(router.counters.malformedFrames - before.malformedFrames).toBe(3)
    expect(router.counters.textFrames - before.textFrames).toBe(1)
  })

  test('oversized frame closes only that session', async () => {
    await using small = await startRouter('peer-small', { maxFrameBytes: 2048 })
    const ws = new WebSocket(small.url as string)
    await within(2000, 'open', new Promise(resolve => ws.once('open', resolve)))
    const closed = new Promise<number>(resolve => ws.once('close', code => resolve(code)))
    ws.send(Buffer.alloc(4096, 0x0e))
    expect(await within(2000, 'close', closed)).toBe(1009)
    await until(() => small.counters.oversizedFrames === 1, 2000, 'oversized counted')
    await using s = await openSession(small)
    expect((await s.info()).zid().toString()).toBe(small.zenohId)
  })
})

test('ZBytes import sanity (client library loaded on Node 24)', () => {
  expect(new ZBytes('x').toString()).toBe('x')
})
