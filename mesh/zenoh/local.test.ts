/**
 * In-process clients (`router.connectLocal`): the remote-api session code without a WebSocket,
 * talking to real zenoh-ts clients on the same router.
 */
import { describe, expect, test } from 'vitest'
import type { Sample } from '@eclipse-zenoh/zenoh-ts'
import { Inbox, openSession, startRouter, until } from './test-helpers.ts'
import { In, Out, Reader, Writer } from './wire.ts'

describe('connectLocal', () => {
  test('a local client subscribes and puts beside a zenoh-ts session; stop ends it', async () => {
    await using router = await startRouter('A')
    const got = new Inbox<{ key: string, payload: string }>()
    const acks = new Inbox<number>()
    let closed = false
    const local = router.connectLocal({
      receive (frame, done) {
        const r = new Reader(frame)
        const id = r.u8()
        if ((id & 0x7f) === Out.ResponseOk) acks.push(r.u32())
        if (id === Out.InSample) { r.u32(); const key = r.str(); got.push({ key, payload: new TextDecoder().decode(r.bytes()) }) }
        done()
      },
      closed () { closed = true },
    })
    const w = new Writer()
    local.send(w.header(In.DeclareSubscriber, 7).u32(1).str('demo/**').u8(2).take())
    expect(await acks.next()).toBe(7)

    await using s = await openSession(router)
    const atSession = new Inbox<Sample>()
    await s.declareSubscriber('back/*', { handler: atSession.push })
    await s.put('demo/x', 'from-ws')
    expect(await got.next()).toEqual({ key: 'demo/x', payload: 'from-ws' })

    local.send(w.header(In.Put).str('back/y').bytes(new TextEncoder().encode('from-local')).encoding({ id: 0, schema: '' }).u8(0).u8(0).u8(2 << 6).take())
    expect((await atSession.next()).payload().toString()).toBe('from-local')

    const before = router.counters.sessionsClosed
    await router.stop()
    expect(closed).toBe(true)
    await until(() => router.counters.sessionsClosed > before, 2000, 'local session closed')
  })
})
