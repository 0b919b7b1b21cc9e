import { describe, it, expect } from 'vitest'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { join } from 'node:path'
import { silentLogger } from '../../common/log.ts'
import { createSupervisor, readLogs, readLogEntries, InstanceRunningError, InstanceSpecError, SupervisorStoppedError } from './index.ts'
import { tempDir, script, spec, StateLog, alive, until } from './test/helpers.ts'

const NODE24 = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'node')

function supervisorIn (logDir: string, over: Parameters<typeof createSupervisor>[0] = { logDir }): ReturnType<typeof createSupervisor> & AsyncDisposable {
  const sup = createSupervisor({ ...over, logDir }, { logger: silentLogger() })
  return Object.assign(sup, { [Symbol.asyncDispose]: async () => { await sup.stop() } })
}

describe('supervisor', () => {
  it('a crash loop backs off exponentially and ends failed after max_restarts', async () => {
    using dir = tempDir()
    await using sup = supervisorIn(join(dir.path, 'logs'))
    const states = new StateLog(sup)
    const crash = script(dir.path, 'crash.sh', '#!/bin/sh\necho "boom $$" >&2\nexit 3\n', true)
    await sup.startInstance(spec({ path: crash, restartPolicy: 'on-failure', maxRestarts: 3, restartDelayMs: 60 }))
    const failed = await states.until('f1/n1', 'failed', 10_000)
    expect(failed.info.restarts).toBe(3)
    expect(failed.info.lastExit?.code).toBe(3)
    expect(states.states('f1/n1')).toEqual([
      'starting', 'running', 'restarting', 'starting', 'running', 'restarting', 'starting', 'running', 'restarting', 'starting', 'running', 'failed',
    ])
    // Backoff: the wait before each restart doubles (60, 120, 240 ms).
    const restarting = states.changes.filter(c => c.to === 'restarting')
    const delays = restarting.map(c => (c.info.nextStartAt as number) - (c.info.lastExit?.at as number))
    expect(delays).toEqual([60, 120, 240])
    const starts = states.changes.filter(c => c.to === 'starting').map(c => c.t)
    for (let i = 1; i < starts.length; i++) expect((starts[i] as number) - (starts[i - 1] as number)).toBeGreaterThanOrEqual(60 * 2 ** (i - 1) - 5)
    const logs = readLogs(join(dir.path, 'logs'), 'f1', 'n1')
    expect(logs.filter(l => l.startsWith('boom '))).toHaveLength(4)
    expect(logs.some(l => l.includes('giving up after 3 restarts'))).toBe(true)
    // The supervisor stays usable: the same key can be started again.
    const ok = script(dir.path, 'ok.sh', '#!/bin/sh\nexit 0\n', true)
    await sup.startInstance(spec({ path: ok }))
    await states.until('f1/n1', 'stopped')
  })

  it('a TypeScript node crashing in a loop ends failed while the peer stays responsive', async () => {
    using dir = tempDir()
    await using sup = supervisorIn(join(dir.path, 'logs'))
    const states = new StateLog(sup)
    const crash = script(dir.path, 'crash.ts', "const why: string = 'camera missing'\nthrow new Error(why)\n")
    const lag = monitorEventLoopDelay({ resolution: 10 })
    lag.enable()
    await sup.startInstance(spec({ path: crash, restartPolicy: 'on-failure', maxRestarts: 2, restartDelayMs: 50 }))
    const failed = await states.until('f1/n1', 'failed', 20_000)
    lag.disable()
    expect(failed.info).toMatchObject({ restarts: 2, lastExit: { code: 1 } })
    expect(sup.counters).toMatchObject({ spawns: 3, restarts: 2, failed: 1 })
    expect(readLogs(join(dir.path, 'logs'), 'f1', 'n1').filter(l => l.includes('Error: camera missing'))).toHaveLength(3)
    // The supervisor's side of a crash loop is a few syscalls: the peer's event loop never stalls.
    expect(lag.max / 1e6).toBeLessThan(250)
  })

  it('restart_policy always restarts clean exits; never leaves a failure failed; a missing program fails', async () => {
    using dir = tempDir()
    await using sup = supervisorIn(join(dir.path, 'logs'), { logDir: '', minRestartDelayMs: 20 })
    const states = new StateLog(sup)
    const ok = script(dir.path, 'ok.sh', '#!/bin/sh\necho hi\nexit 0\n', true)
    await sup.startInstance(spec({ nodeId: 'always', path: ok, restartPolicy: 'always', maxRestarts: 2 }))
    const end = await states.until('f1/always', 'stopped')
    expect(end.info.restarts).toBe(2)
    const bad = script(dir.path, 'bad.sh', '#!/bin/sh\nexit 1\n', true)
    await sup.startInstance(spec({ nodeId: 'never', path: bad }))
    expect((await states.until('f1/never', 'failed')).info.restarts).toBe(0)
    await sup.startInstance(spec({ nodeId: 'missing', path: join(dir.path, 'nope'), restartPolicy: 'on-failure', maxRestarts: 1 }))
    const missing = await states.until('f1/missing', 'failed')
    expect(missing.info.lastExit?.reason).toMatch(/ENOENT/)
    expect(sup.list().map(i => i.key).sort()).toEqual(['f1/always', 'f1/missing', 'f1/never'])
  })

  it('graceful stop: STOP over the control pipe, then SIGTERM at grace/2, then SIGKILL at grace', async () => {
    using dir = tempDir()
    const graceMs = 1000
    await using sup = supervisorIn(join(dir.path, 'logs'), { logDir: '', graceMs })
    const states = new StateLog(sup)
    // A Node node without the SDK reads STOP from the preload's control channel.
    const polite = script(dir.path, 'polite.mjs', `
      const control = globalThis[Symbol.for('swarmflow.control')]
      console.log('up', typeof control)
      const keep = setInterval(() => {}, 1000)
      control.on('stop', () => { console.log('got STOP'); clearInterval(keep) })
    `)
    const termOnly = script(dir.path, 'term.sh', '#!/bin/sh\ntrap \'echo got TERM; exit 0\' TERM\necho up\nwhile :; do sleep 0.05; done\n', true)
    const stubborn = script(dir.path, 'stubborn.sh', '#!/bin/sh\ntrap \'echo ignoring TERM\' TERM\necho up\nwhile :; do sleep 0.05; done\n', true)
    for (const [id, path] of [['polite', polite], ['term', termOnly], ['stubborn', stubborn]] as const) {
      await sup.startInstance(spec({ nodeId: id, path, restartPolicy: 'always' }))
    }
    const logDir = join(dir.path, 'logs')
    await until(() => ['polite', 'term', 'stubborn'].every(n => existsSync(join(logDir, 'f1', `${n}.log`)) && readLogs(logDir, 'f1', n).some(l => l.startsWith('up'))), 10_000, 'all nodes up')
    const timed = async (id: string): Promise<number> => { const t = Date.now(); await sup.stopInstance(`f1/${id}`, { reason: 'test' }); return Date.now() - t }
    const [tPolite, tTerm, tKill] = await Promise.all([timed('polite'), timed('term'), timed('stubborn')])
    expect(tPolite).toBeLessThan(graceMs / 2)
    expect(readLogs(logDir, 'f1', 'polite')).toContain('got STOP')
    expect(sup.get('f1/polite')?.lastExit?.code).toBe(0)
    expect(tTerm).toBeGreaterThanOrEqual(graceMs / 2 - 10)
    expect(tTerm).toBeLessThan(graceMs)
    expect(readLogs(logDir, 'f1', 'term')).toContain('got TERM')
    expect(tKill).toBeGreaterThanOrEqual(graceMs - 10)
    expect(sup.get('f1/stubborn')?.lastExit?.signal).toBe('SIGKILL')
    for (const id of ['polite', 'term', 'stubborn']) expect(states.states(`f1/${id}`).at(-1)).toBe('stopped')
    // Stopping again is a no-op; none of them restarted despite restart_policy always.
    await sup.stopInstance('f1/term')
    expect(sup.list().every(i => i.state === 'stopped' && i.restarts === 0)).toBe(true)
  })

  it('refuses bad specs, double starts and starts after stop(); stop() is idempotent', async () => {
    using dir = tempDir()
    const sup = supervisorIn(join(dir.path, 'logs'), { logDir: '', graceMs: 400 })
    const sleeper = script(dir.path, 'sleep.sh', '#!/bin/sh\nexec sleep 30\n', true)
    await expect(sup.startInstance(spec({ path: 'relative.sh' }))).rejects.toBeInstanceOf(InstanceSpecError)
    await expect(sup.startInstance(spec({ path: sleeper, nodeId: '../x' }))).rejects.toBeInstanceOf(InstanceSpecError)
    const info = await sup.startInstance(spec({ path: sleeper }))
    expect(info.state).toBe('running')
    expect(alive(info.pid as number)).toBe(true)
    await expect(sup.startInstance(spec({ path: sleeper }))).rejects.toBeInstanceOf(InstanceRunningError)
    await Promise.all([sup.stop(), sup.stop()])
    expect(alive(info.pid as number)).toBe(false)
    expect(sup.get('f1/n1')?.state).toBe('stopped')
    await expect(sup.startInstance(spec({ path: sleeper, nodeId: 'n2' }))).rejects.toBeInstanceOf(SupervisorStoppedError)
  })

  it('a .ts node outside the repo imports swarmflow/node and apache-arrow, sees its env and args', async () => {
    using dir = tempDir('sf-shipped-')
    await using sup = supervisorIn(join(dir.path, 'logs'))
    const states = new StateLog(sup)
    const node = script(dir.path, 'shipped.ts', `
      import { Node, DATA_COLUMN } from 'swarmflow/node'
      import { tableFromArrays, Table } from 'apache-arrow'
      const t: Table = tableFromArrays({ x: Int32Array.from([1, 2, 3]) })
      const n: number = t.numRows
      console.log(JSON.stringify({ rows: n, node: typeof Node.init, col: DATA_COLUMN, env: process.env.CAMERA, flow: process.env.SWARMFLOW_FLOW, args: process.argv.slice(2), argv1: process.argv[1] }))
      await new Promise(r => setTimeout(r, 1))
    `)
    await sup.startInstance(spec({ path: node, args: ['--fps', '30'], env: { CAMERA: '/dev/video0' } }))
    const end = await states.until('f1/n1', 'stopped', 20_000).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${readLogs(join(dir.path, 'logs'), 'f1', 'n1').join('\n')}`)
    })
    expect(end.info.lastExit?.code).toBe(0)
    const out = readLogEntries(join(dir.path, 'logs'), 'f1', 'n1').filter(e => e.stream === 'out')
    expect(JSON.parse((out[0] as { text: string }).text)).toEqual({ rows: 3, node: 'function', col: 'data', env: '/dev/video0', flow: 'f1', args: ['--fps', '30'], argv1: node })
  })

  for (const mode of ['control-pipe watchdog', 'pdeathsig'] as const) {
    it(`no orphans when the peer is SIGKILLed (${mode})`, async () => {
      using dir = tempDir()
      // The "peer": a real process running a supervisor with two children, killed with SIGKILL.
      const peer = script(dir.path, 'peer.mts', `
        import { createSupervisor } from ${JSON.stringify(join(import.meta.dirname, 'index.ts'))}
        import { silentLogger } from ${JSON.stringify(join(import.meta.dirname, '..', '..', 'common', 'log.ts'))}
        const sup = createSupervisor({ logDir: ${JSON.stringify(join(dir.path, 'logs'))}, pdeathsig: ${mode === 'pdeathsig'} }, { logger: silentLogger() })
        const base = { args: [], restartPolicy: 'never', maxRestarts: 0, restartDelayMs: 0, epoch: 1, inputs: [], outputs: [], zenohEndpoint: 'ws://127.0.0.1:1', swarmId: 's', peerId: 'p', peerName: 'p' }
        const a = await sup.startInstance({ ...base, key: 'f/js', flow: 'f', nodeId: 'js', path: ${JSON.stringify(script(dir.path, 'forever.mjs', 'setInterval(() => {}, 1000)\n'))}, env: { SWARMFLOW_ORPHAN_GRACE_MS: '100' } })
        const b = await sup.startInstance({ ...base, key: 'f/sh', flow: 'f', nodeId: 'sh', path: ${JSON.stringify(script(dir.path, 'forever.sh', '#!/bin/sh\nexec sleep 60\n', true))}, env: {} })
        console.log(JSON.stringify([a.pid, b.pid]))
        setInterval(() => {}, 1000)
      `)
      const child = spawn(NODE24, ['--import', 'tsx', peer], { cwd: join(import.meta.dirname, '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] })
      try {
        const pids = await new Promise<number[]>((resolve, reject) => {
          let buf = ''
          child.stdout.on('data', (d: Buffer) => { buf += d.toString(); const m = /\[(\d+),(\d+)\]/.exec(buf); if (m) resolve([Number(m[1]), Number(m[2])]) })
          child.once('exit', () => reject(new Error(`peer exited early: ${buf}`)))
        })
        expect(pids.every(alive)).toBe(true)
        // setpriv arms the parent-death signal just before it execs the node: wait until both
        // children are past it (a peer killed in that window of a few ms is the stdin-EOF rule's case).
        const cmdline = (pid: number): string => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8') } catch { return '' } }
        await until(() => !cmdline(pids[0] as number).startsWith('/usr/bin/setpriv') && cmdline(pids[1] as number).startsWith('sleep'), 10_000, 'children exec\'d')
        child.kill('SIGKILL')
        if (mode === 'pdeathsig') {
          await until(() => !pids.some(alive), 5000, 'both children gone')
        } else {
          // Without pdeathsig only Node children have a watchdog; the exec'd one is the stdio contract's job (exit on stdin EOF).
          await until(() => !alive(pids[0] as number), 5000, 'the Node child gone')
          try { process.kill(-(pids[1] as number), 'SIGKILL') } catch { /* gone */ }
        }
      } finally {
        child.kill('SIGKILL')
      }
    })
  }
})
