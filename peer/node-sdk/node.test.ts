/**
 * The SDK against the real data plane: the peer's Zenoh router (mesh/zenoh) on 127.0.0.1 port 0,
 * nodes as zenoh-ts sessions in this process and as real child processes under the supervisor.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { join } from 'node:path'
import { tableFromArrays, makeVector, type Vector } from 'apache-arrow'
import { silentLogger } from '../../common/log.ts'
import { createZenohRouter, type ZenohRouter } from '../../mesh/zenoh/index.ts'
import { createSupervisor, readLogs } from '../supervisor/index.ts'
import { tempDir, script, spec, StateLog, until } from '../supervisor/test/helpers.ts'
import { Node, encodeTable, toTable, nodeConfigEnv, NodeClosedError, UnknownOutputError, NodeConfigError, DataPlaneConnectError, type NodeEvent, type NodeRuntimeConfig, type NodeInputConfig } from './index.ts'

let router: ZenohRouter
let url: string

beforeAll(async () => {
  router = createZenohRouter({ listen: 0 }, { logger: silentLogger(), peerId: 'peer-test' })
  await router.start()
  url = router.url as string
})
afterAll(async () => { await router?.stop() })

let swarmSeq = 0
function cfg (over: Partial<NodeRuntimeConfig>): NodeRuntimeConfig {
  return { swarm: `s${swarmSeq}`, flow: 'f', nodeId: 'n', zenoh: url, epoch: 1, peer: 'peerA', inputs: [], outputs: [], ...over }
}
const fromNode = (id: string, node: string, output: string, over: Partial<NodeInputConfig> = {}): NodeInputConfig =>
  ({ id, source: { kind: 'node', node, output }, queueSize: 10, queuePolicy: 'drop_oldest', ...over })

async function open (c: NodeRuntimeConfig): Promise<Node> {
  return await Node.init({ env: nodeConfigEnv(c), logger: silentLogger() })
}

/** Next event with a deadline. */
async function next (it: AsyncIterator<NodeEvent>, ms = 5000): Promise<NodeEvent> {
  let t: NodeJS.Timeout | undefined
  try {
    const r = await Promise.race([it.next(), new Promise<never>((_resolve, reject) => { t = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms) })])
    if (r.done === true) throw new Error('event stream ended')
    return r.value
  } finally { clearTimeout(t) }
}

function inputOf (e: NodeEvent): Extract<NodeEvent, { type: 'INPUT' }> {
  if (e.type !== 'INPUT') throw new Error(`expected INPUT, got ${e.type}`)
  return e
}

describe('node SDK on the real router', () => {
  it('sends every data shape as Arrow IPC with metadata; the consumer gets Vectors, seq, producer, epoch, parameters', async () => {
    swarmSeq++
    await using det = await open(cfg({ nodeId: 'det', peer: 'peerB', inputs: [fromNode('image', 'cam', 'img')] }))
    await using cam = await open(cfg({ nodeId: 'cam', epoch: 4, outputs: ['img'] }))
    const it = det[Symbol.asyncIterator]()
    await cam.send('img', Uint8Array.from([1, 2, 3]), { width: 3, tag: 'a' })
    await cam.send('img', [0.5, 1.5])
    await cam.send('img', makeVector(Int32Array.from([7])))
    await cam.send('img', tableFromArrays({ x: Int32Array.from([1]), y: Float64Array.from([2]) }))
    const evs = [inputOf(await next(it)), inputOf(await next(it)), inputOf(await next(it)), inputOf(await next(it))]
    expect(evs.map(e => e.id)).toEqual(['image', 'image', 'image', 'image'])
    expect([...(evs[0]?.value as Vector).toArray()]).toEqual([1, 2, 3])
    expect(evs[0]?.metadata).toMatchObject({ seq: 1, peer: 'peerA', epoch: 4, parameters: { width: 3, tag: 'a' } })
    expect([...(evs[1]?.value as Vector).toArray()]).toEqual([0.5, 1.5])
    expect((evs[2]?.value as Vector).get(0)).toBe(7)
    expect((evs[3]?.value as Vector).get(0)?.toJSON()).toEqual({ x: 1, y: 2 })
    expect(evs.map(e => e.metadata.seq)).toEqual([1, 2, 3, 4])
    // HLC readings increase along the stream.
    for (let i = 1; i < evs.length; i++) {
      const a = evs[i - 1]?.metadata.timestamp as { wallMs: number, logical: number }
      const b = evs[i]?.metadata.timestamp as { wallMs: number, logical: number }
      expect(b.wallMs > a.wallMs || (b.wallMs === a.wallMs && b.logical > a.logical)).toBe(true)
    }
    expect(cam.counters.sent).toBe(4)
    await expect(cam.send('nope', [1])).rejects.toBeInstanceOf(UnknownOutputError)
  })

  it('sends that are not awaited each carry their own bytes (the send buffer is reused)', async () => {
    swarmSeq++
    await using det = await open(cfg({ nodeId: 'det', peer: 'peerB', inputs: [fromNode('image', 'cam', 'img', { queueSize: 20 })] }))
    await using cam = await open(cfg({ nodeId: 'cam', outputs: ['img'] }))
    const it = det[Symbol.asyncIterator]()
    // three frames of different sizes and contents in one turn: a later encode overwrites the
    // buffer an earlier one used, so each must have been copied out by the time send() returned
    const frames = [new Uint8Array(300_000).fill(1), new Uint8Array(100_003).fill(2), new Uint8Array(921_600).fill(3)]
    frames[0]?.set([9, 9, 9], 150_000)
    await Promise.all(frames.map(f => cam.send('img', f)))
    for (const f of frames) {
      const got = (inputOf(await next(it)).value as Vector).toArray() as Uint8Array
      expect(got.byteLength).toBe(f.byteLength)
      expect(Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.byteLength), Buffer.from(f))).toBe(0)
    }
    // large messages leave from their pieces and arrive as views (zero-copy.ts)
    expect(cam.counters.sentInPieces).toBe(3)
    expect(det.counters.receivedShared).toBe(3)
  })

  it('sendIpc bytes the caller changes right after the call still arrive as they were given', async () => {
    swarmSeq++
    await using det = await open(cfg({ nodeId: 'det', peer: 'peerB', inputs: [fromNode('image', 'cam', 'img')] }))
    await using cam = await open(cfg({ nodeId: 'cam', outputs: ['img'] }))
    const it = det[Symbol.asyncIterator]()
    const ipc = encodeTable(toTable('img', new Uint8Array(200_000).fill(4)))
    const sent = Promise.all([cam.sendIpc('img', ipc), cam.sendIpc('img', ipc)])
    ipc.fill(0) // a bridge reusing its read buffer
    await sent
    for (let i = 0; i < 2; i++) {
      const got = (inputOf(await next(it)).value as Vector).toArray() as Uint8Array
      expect(got.byteLength).toBe(200_000)
      expect(got.every(b => b === 4)).toBe(true)
    }
  })

  it('drops samples from a producer with a lower epoch than already seen (fencing)', async () => {
    swarmSeq++
    await using det = await open(cfg({ nodeId: 'det', inputs: [fromNode('image', 'cam', 'img')] }))
    await using fresh = await open(cfg({ nodeId: 'cam', peer: 'new-holder', epoch: 5, outputs: ['img'] }))
    await using stale = await open(cfg({ nodeId: 'cam', peer: 'old-holder', epoch: 4, outputs: ['img'] }))
    const it = det[Symbol.asyncIterator]()
    await fresh.send('img', [1])
    expect(inputOf(await next(it)).metadata.peer).toBe('new-holder')
    await stale.send('img', [2])
    await fresh.send('img', [3])
    const e = inputOf(await next(it))
    expect([e.metadata.peer, e.value.get(0)]).toEqual(['new-holder', 3])
    expect(det.counters.staleDrops).toBe(1)
  })

  it('enforces queue_size: drop_oldest keeps the newest, backpressure keeps the oldest and counts overflow', async () => {
    swarmSeq++
    await using dropper = await open(cfg({ nodeId: 'd1', inputs: [fromNode('x', 'src', 'o', { queueSize: 2, queuePolicy: 'drop_oldest' })] }))
    await using holder = await open(cfg({ nodeId: 'd2', inputs: [fromNode('x', 'src', 'o', { queueSize: 2, queuePolicy: 'backpressure' })] }))
    await using src = await open(cfg({ nodeId: 'src', outputs: ['o'] }))
    for (let i = 1; i <= 10; i++) await src.send('o', [i])
    await until(() => dropper.counters.received === 10 && holder.counters.received === 10, 5000, 'all samples received')
    const d = dropper[Symbol.asyncIterator]()
    expect([inputOf(await next(d)).metadata.seq, inputOf(await next(d)).metadata.seq]).toEqual([9, 10])
    expect(dropper.counters.queueDrops).toBe(8)
    const h = holder[Symbol.asyncIterator]()
    const got = []
    for (let i = 0; i < 4; i++) got.push(inputOf(await next(h)).metadata.seq)
    expect(got).toEqual([1, 2, 3, 4])
    expect(holder.counters.backpressureDrops).toBe(6)
  })

  it('runs dora timers locally and reports input_timeout as INPUT_CLOSED, re-opening on new data', async () => {
    swarmSeq++
    await using node = await open(cfg({
      nodeId: 'n',
      inputs: [
        { id: 'tick', source: { kind: 'timer', intervalMs: 30 }, queueSize: 10, queuePolicy: 'drop_oldest' },
        fromNode('sensor', 'src', 'o', { inputTimeoutMs: 120 }),
      ],
    }))
    await using src = await open(cfg({ nodeId: 'src', outputs: ['o'] }))
    const it = node[Symbol.asyncIterator]()
    const seen: string[] = []
    let closedAt = -1
    while (closedAt < 0) {
      const e = await next(it, 3000)
      seen.push(e.type === 'INPUT' ? e.id : `${e.type}:${(e as { id?: string }).id}`)
      if (e.type === 'INPUT_CLOSED') closedAt = seen.length
    }
    expect(seen.at(-1)).toBe('INPUT_CLOSED:sensor')
    expect(seen.filter(s => s === 'tick').length).toBeGreaterThanOrEqual(2)
    await src.send('o', [42])
    let e: NodeEvent
    do e = await next(it, 3000); while (e.type === 'INPUT' && e.id === 'tick')
    expect(e.type === 'INPUT' && e.id === 'sensor' && e.value.get(0) === 42).toBe(true)
    expect(node.counters.timerTicks).toBeGreaterThanOrEqual(2)
  })

  it('INPUT_CLOSED when the last instance of the upstream node goes away (liveliness), INPUT again when one comes back', async () => {
    swarmSeq++
    await using det = await open(cfg({ nodeId: 'det', inputs: [fromNode('image', 'cam', 'img'), fromNode('other', 'cam2', 'o')] }))
    const it = det[Symbol.asyncIterator]()
    const cam = await open(cfg({ nodeId: 'cam', peer: 'p1', outputs: ['img'] }))
    await cam.send('img', [1])
    expect(inputOf(await next(it)).value.get(0)).toBe(1)
    await cam.close()
    expect(await next(it)).toEqual({ type: 'INPUT_CLOSED', id: 'image' })
    await using cam2 = await open(cfg({ nodeId: 'cam', peer: 'p2', outputs: ['img'] }))
    await cam2.send('img', [2])
    const e = inputOf(await next(it))
    expect([e.id, e.value.get(0), e.metadata.peer]).toEqual(['image', 2, 'p2'])
  })

  it('close() ends the stream; misuse fails with typed errors', async () => {
    swarmSeq++
    const node = await open(cfg({ nodeId: 'n', outputs: ['o'], inputs: [fromNode('x', 'a', 'b')] }))
    const it = node[Symbol.asyncIterator]()
    const pending = it.next()
    await node.close()
    expect((await pending).done).toBe(true)
    await node.closed
    await expect(node.send('o', [1])).rejects.toBeInstanceOf(NodeClosedError)
    await expect(Node.init({ env: {} })).rejects.toBeInstanceOf(NodeConfigError)
    await expect(Node.init({ env: nodeConfigEnv(cfg({ zenoh: 'ws://127.0.0.1:9' })), openTimeoutMs: 1000, logger: silentLogger() })).rejects.toBeInstanceOf(DataPlaneConnectError)
  })
})

describe('nodes as processes under the supervisor', () => {
  /** Sends on `out` until something arrives on the node's event stream (the child's subscription may still be in flight). */
  async function pingUntilEcho (src: Node, it: AsyncIterator<NodeEvent>, ms = 20_000): Promise<Extract<NodeEvent, { type: 'INPUT' }>> {
    const deadline = Date.now() + ms
    let got: NodeEvent | undefined
    const waiting = it.next().then(r => { got = r.value })
    while (got === undefined) {
      if (Date.now() > deadline) throw new Error('no echo from the node process')
      await src.send('x', Int32Array.from([5]), { hello: 'world' })
      await Promise.race([waiting, new Promise(resolve => setTimeout(resolve, 100))])
    }
    return inputOf(got)
  }

  it('a shipped TypeScript node echoes inputs and leaves its loop cleanly on STOP', async () => {
    swarmSeq++
    using dir = tempDir('sf-node-')
    const logDir = join(dir.path, 'logs')
    const sup = createSupervisor({ logDir, graceMs: 4000 }, { logger: silentLogger() })
    await using _sup = { [Symbol.asyncDispose]: async () => { await sup.stop() } }
    const states = new StateLog(sup)
    const echo = script(dir.path, 'echo.ts', `
      import { Node } from 'swarmflow/node'
      const node = await Node.init()
      for await (const event of node) {
        if (event.type === 'INPUT') await node.send('out', event.value, { seen: event.metadata.seq, from: event.metadata.peer })
        if (event.type === 'STOP') console.log('got STOP')
      }
      console.log('clean exit')
    `)
    await sup.startInstance(spec({
      flow: 'f', nodeId: 'echo', path: echo, swarmId: `s${swarmSeq}`, zenohEndpoint: url, epoch: 2,
      inputs: [fromNode('in', 'src', 'x')], outputs: ['out'],
    }))
    await using src = await open(cfg({ nodeId: 'src', outputs: ['x'], inputs: [fromNode('back', 'echo', 'out')] }))
    const it = src[Symbol.asyncIterator]()
    const e = await pingUntilEcho(src, it)
    expect(e.value.get(0)).toBe(5)
    expect(e.metadata).toMatchObject({ peer: 'peerA', epoch: 2 })
    expect(e.metadata.parameters.from).toBe('peerA')
    const t = Date.now()
    await sup.stopInstance('f/echo')
    expect(Date.now() - t).toBeLessThan(2000) // left on STOP, before the SIGTERM at grace/2
    const logs = readLogs(logDir, 'f', 'echo')
    expect(logs).toContain('got STOP')
    expect(logs).toContain('clean exit')
    expect(sup.get('f/echo')?.lastExit?.code).toBe(0)
    expect(states.states('f/echo').at(-1)).toBe('stopped')
    // Its session is gone, so its consumers see their input closed.
    expect(await next(it)).toEqual({ type: 'INPUT_CLOSED', id: 'back' })
  })

  it('a python3 program speaking the stdio protocol is a node (SWARMFLOW_STDIO=arrow)', async () => {
    swarmSeq++
    using dir = tempDir('sf-py-')
    const logDir = join(dir.path, 'logs')
    const sup = createSupervisor({ logDir, graceMs: 4000 }, { logger: silentLogger() })
    await using _sup = { [Symbol.asyncDispose]: async () => { await sup.stop() } }
    const py = script(dir.path, 'passthrough.py', PASSTHROUGH_PY, true)
    await sup.startInstance(spec({
      flow: 'f', nodeId: 'py', path: py, swarmId: `s${swarmSeq}`, zenohEndpoint: url, env: { SWARMFLOW_STDIO: 'arrow' },
      inputs: [fromNode('in', 'src', 'x')], outputs: ['out'],
    }))
    await using src = await open(cfg({ nodeId: 'src', outputs: ['x'], inputs: [fromNode('back', 'py', 'out')] }))
    const it = src[Symbol.asyncIterator]()
    const e = await pingUntilEcho(src, it)
    expect([...e.value.toArray()]).toEqual([5])
    expect(e.metadata.parameters).toMatchObject({ seen: 1, hello: 'world' })
    const t = Date.now()
    await sup.stopInstance('f/py')
    expect(Date.now() - t).toBeLessThan(2000)
    expect(readLogs(logDir, 'f', 'py')).toContain('python got STOP')
    expect(sup.get('f/py')?.lastExit?.code).toBe(0)
  })

  it('a stdio program that writes bad frames has them dropped and counted; broken framing stops it', async () => {
    swarmSeq++
    using dir = tempDir('sf-py-')
    const logDir = join(dir.path, 'logs')
    const sup = createSupervisor({ logDir, graceMs: 2000 }, { logger: silentLogger() })
    await using _sup = { [Symbol.asyncDispose]: async () => { await sup.stop() } }
    const states = new StateLog(sup)
    const py = script(dir.path, 'bad.py', MISBEHAVING_PY, true)
    await sup.startInstance(spec({
      flow: 'f', nodeId: 'bad', path: py, swarmId: `s${swarmSeq}`, zenohEndpoint: url, env: { SWARMFLOW_STDIO: 'arrow' }, outputs: ['out'],
    }))
    const failed = await states.until('f/bad', 'failed', 10_000)
    expect(failed.info.lastExit?.signal).toBe('SIGTERM')
    expect(sup.counters).toMatchObject({ stdioBadFrames: 2, stdioSendErrors: 2, failed: 1 })
    const logs = readLogs(logDir, 'f', 'bad')
    expect(logs.some(l => l.includes('stdio protocol broken'))).toBe(true)
    expect(logs.some(l => l.includes('output refused'))).toBe(true)
  })
})

/** Misbehaves on purpose: a non-JSON header, an unknown output, a body that is not Arrow, then a broken length. */
const MISBEHAVING_PY = `#!/usr/bin/env python3
import json, struct, sys, time
out = sys.stdout.buffer
def frame(h, body=b''):
    out.write(struct.pack('<I', len(h)) + h + struct.pack('<I', len(body)) + body)
frame(b'not json')
frame(json.dumps({'type': 'OUTPUT', 'id': 'zzz'}).encode(), b'abc')
frame(json.dumps({'type': 'OUTPUT', 'id': 'out'}).encode(), b'not arrow')
out.flush()
time.sleep(0.3)
out.write(struct.pack('<I', 0xFFFFFFFF))
out.flush()
time.sleep(30)
`

/** The STDIO.md example: forwards every input unchanged to output `out`, echoing its parameters. */
const PASSTHROUGH_PY = `#!/usr/bin/env python3
import json, struct, sys

inp, out = sys.stdin.buffer, sys.stdout.buffer

def read_exact(n):
    b = b''
    while len(b) < n:
        chunk = inp.read(n - len(b))
        if not chunk:
            return None
        b += chunk
    return b

def write_frame(header, body=b''):
    h = json.dumps(header).encode()
    out.write(struct.pack('<I', len(h)) + h + struct.pack('<I', len(body)) + body)
    out.flush()

while True:
    n = read_exact(4)
    if n is None:
        break  # stdin closed: the peer is gone
    header = json.loads(read_exact(struct.unpack('<I', n)[0]))
    body = read_exact(struct.unpack('<I', read_exact(4))[0])
    if header['type'] == 'INPUT':
        params = dict(header['metadata']['parameters'], seen=header['metadata']['seq'])
        write_frame({'type': 'OUTPUT', 'id': 'out', 'parameters': params}, body)
    elif header['type'] == 'STOP':
        sys.stderr.write('python got STOP\\n')
        break
`
