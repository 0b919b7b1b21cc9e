import { mkdtempSync, writeFileSync, mkdirSync, rmSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  parseDescriptor, parseDescriptorDetailed, DescriptorError, nodeDefinitionHash, diffDataflows, localFilesOf,
  checkDataflow, parseDurationMs, splitArgs, DEFAULT_QUEUE_SIZE, type DescriptorIssue,
} from './index.ts'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'swarmflow-dataflow-'))
  writeFileSync(join(dir, 'camera.ts'), 'export {}\n')
  writeFileSync(join(dir, 'plot.js'), '\n')
  mkdirSync(join(dir, 'lib'))
  writeFileSync(join(dir, 'lib', 'a.ts'), '\n')
  writeFileSync(join(dir, 'lib', 'b.ts'), '\n')
  writeFileSync(join(dir, 'tool.sh'), '#!/bin/sh\n')
  chmodSync(join(dir, 'tool.sh'), 0o755)
  writeFileSync(join(dir, 'data.bin'), '')
})
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

const opts = (): { file: string, baseDir: string } => ({ file: join(dir, 'flow.yml'), baseDir: dir })

function issuesOf (fn: () => unknown): DescriptorIssue[] {
  try { fn() } catch (err) {
    expect(err).toBeInstanceOf(DescriptorError)
    expect((err as DescriptorError).name).toBe('DescriptorError')
    return [...(err as DescriptorError).issues]
  }
  throw new TypeError('expected a DescriptorError, nothing was thrown')
}

const GOOD = `
env:
  LOG: info
nodes:
  - id: camera
    name: Camera
    description: captures frames
    path: camera.ts
    args: --fps 30 "two words"
    env: { LOG: debug, PORT: 8080, FLAG: true }
    inputs:
      tick: dora/timer/millis/100
    outputs: [image, meta]
    restart_policy: on-failure
    max_restarts: 3
    restart_delay: 500ms
    deploy:
      machine: robot-1
      labels: { zone: a }
      caps: [camera, gpu, camera]
      resources: { cpu: 1.5, memory_mb: 256 }
  - id: plot
    path: ./plot.js
    inputs:
      image: camera/image
      slow:
        source: camera/meta
        queue_size: 2
        queue_policy: backpressure
        input_timeout: 2s
      fast: dora/timer/hz/50
    deploy:
      strict: true
    files: [lib/*.ts, data.bin]
  - id: shell
    path: sh
    args: [-c, "echo hi"]
    restart_delay: 1
`

describe('parseDescriptor: normalization', () => {
  it('expands short forms, fills dora defaults and merges global env', () => {
    const { dataflow, warnings } = parseDescriptorDetailed(GOOD, opts())
    expect(warnings).toEqual([])
    expect(dataflow.nodes.map(n => n.id)).toEqual(['camera', 'plot', 'shell'])
    const [camera, plot, shell] = dataflow.nodes
    expect(camera).toMatchObject({
      name: 'Camera', path: 'camera.ts', pathKind: 'file', runtime: 'node',
      args: ['--fps', '30', 'two words'],
      env: { LOG: 'debug', PORT: '8080', FLAG: 'true' },
      inputs: { tick: { source: { kind: 'timer', intervalMs: 100 }, queueSize: DEFAULT_QUEUE_SIZE, queuePolicy: 'drop_oldest' } },
      outputs: ['image', 'meta'],
      restartPolicy: 'on-failure', maxRestarts: 3, restartDelayMs: 500,
      deploy: { machine: 'robot-1', labels: { zone: 'a' }, caps: ['camera', 'gpu'], resources: { cpu: 1.5, memory_mb: 256 }, strict: false },
    })
    expect(plot?.inputs).toEqual({
      image: { source: { kind: 'node', node: 'camera', output: 'image' }, queueSize: 10, queuePolicy: 'drop_oldest' },
      slow: { source: { kind: 'node', node: 'camera', output: 'meta' }, queueSize: 2, queuePolicy: 'backpressure', inputTimeoutMs: 2000 },
      fast: { source: { kind: 'timer', intervalMs: 20 }, queueSize: 10, queuePolicy: 'drop_oldest' },
    })
    expect(plot).toMatchObject({ pathKind: 'file', runtime: 'node', restartPolicy: 'never', maxRestarts: 0, restartDelayMs: 0, env: { LOG: 'info' }, deploy: { strict: true } })
    expect(shell).toMatchObject({ path: 'sh', pathKind: 'command', runtime: 'exec', args: ['-c', 'echo hi'], restartDelayMs: 1000 })
    // Automerge refuses undefined: optional fields are absent, not undefined.
    expect(JSON.stringify(dataflow)).toBe(JSON.stringify(JSON.parse(JSON.stringify(dataflow))))
    expect(Object.values(plot as object)).not.toContain(undefined)
    expect(checkDataflow(JSON.parse(JSON.stringify(dataflow)))).toEqual({ ok: true, dataflow })
  })

  it('accepts dora fields that do not matter to swarmflow, with one warning each', () => {
    const yaml = `
communication: { _unstable_local: { Tcp: {} } }
_unstable_deploy: { machine: a }
health_check_interval: 2.0
nodes:
  - id: a
    path: sh
    build: pip install foo
    send_logs_as: logs
    min_log_level: info
    _unstable_deploy: { machine: robot-2 }
    outputs: [logs]
`
    const { dataflow, warnings } = parseDescriptorDetailed(yaml, opts())
    expect(dataflow.nodes[0]?.deploy.machine).toBe('robot-2')
    expect(warnings.map(w => w.path).sort()).toEqual(['_unstable_deploy', 'communication', 'health_check_interval', 'nodes[0].build', 'nodes[0].min_log_level', 'nodes[0].send_logs_as'])
    expect(warnings.find(w => w.path === 'nodes[0].build')).toMatchObject({ line: 8, col: 5 })
  })

  it('parses durations and args like dora and a shell would', () => {
    expect(parseDurationMs(1)).toBe(1000)
    expect(parseDurationMs('1')).toBe(1000)
    expect(parseDurationMs('500ms')).toBe(500)
    expect(parseDurationMs('2s')).toBe(2000)
    expect(parseDurationMs('1.5m')).toBe(90_000)
    expect(parseDurationMs('-1')).toBeUndefined()
    expect(parseDurationMs('soon')).toBeUndefined()
    expect(splitArgs(`a 'b c' "d \\"e\\"" f\\ g ""`)).toEqual(['a', 'b c', 'd "e"', 'f g', ''])
    expect(splitArgs('"open')).toBeUndefined()
  })
})

describe('parseDescriptor: validation', () => {
  it('reports YAML syntax errors with file:line:col', () => {
    const issues = issuesOf(() => parseDescriptor('nodes:\n  - id: a\n    path: [x\n', opts()))
    expect(issues.length).toBeGreaterThan(0)
    expect(issues[0]?.message).toMatch(/^YAML syntax/)
    expect(issues[0]?.line).toBeGreaterThanOrEqual(3)
    const dup = issuesOf(() => parseDescriptor('nodes:\n  - id: a\n    id: b\n    path: sh\n', opts()))
    expect(dup[0]).toMatchObject({ line: 3 })
    expect(dup[0]?.message).toMatch(/unique/i)
  })

  it('lists every problem at once, each with its position and a did-you-mean', () => {
    const yaml = `
nodes:
  - id: cam
    path: camera.ts
    outputs: [image]
    restart_polcy: always
  - id: cam
    path: sh
  - id: view
    path: sh
    inputs:
      a: cam/imgae
      b: camra/image
      c: dora/timer/millis/0
      d: dora/logs
      e: nothing
      f: { source: cam/image, queue_policy: drop_newest }
    restart_policy: sometimes
    deploy: { machne: x, resources: { gpu: 1 } }
  - id: bad/id
    path: sh
  - path: sh
`
    let err: DescriptorError | undefined
    try { parseDescriptor(yaml, opts()) } catch (e) { err = e as DescriptorError }
    expect(err).toBeInstanceOf(DescriptorError)
    const byPath = new Map(err!.issues.map(i => [i.path, i]))
    expect(byPath.get('nodes[0].restart_polcy')).toMatchObject({ line: 6, col: 5 })
    expect(byPath.get('nodes[0].restart_polcy')?.message).toContain('did you mean `restart_policy`')
    expect(byPath.get('nodes[1].id')?.message).toMatch(/duplicate node id "cam" \(first defined at line 3\)/)
    expect(byPath.get('nodes[2].inputs.a')).toMatchObject({ line: 12, col: 10 })
    expect(byPath.get('nodes[2].inputs.a')?.message).toContain('did you mean `image`')
    expect(byPath.get('nodes[2].inputs.b')?.message).toContain('unknown node "camra"')
    expect(byPath.get('nodes[2].inputs.b')?.message).toContain('did you mean `cam`')
    expect(byPath.get('nodes[2].inputs.c')?.message).toMatch(/greater than 0/)
    expect(byPath.get('nodes[2].inputs.d')?.message).toMatch(/unsupported dora input/)
    expect(byPath.get('nodes[2].inputs.e')?.message).toMatch(/must be `node\/output`/)
    expect(byPath.get('nodes[2].inputs.f.queue_policy')?.message).toMatch(/drop_oldest, backpressure/)
    expect(byPath.get('nodes[2].restart_policy')?.message).toMatch(/never, on-failure, always/)
    expect(byPath.get('nodes[2].deploy.machne')?.message).toContain('did you mean `machine`')
    expect(byPath.get('nodes[2].deploy.resources.gpu')).toBeDefined()
    expect(byPath.get('nodes[3].id')?.message).toMatch(/must not contain/)
    expect(byPath.get('nodes[4]')?.message).toMatch(/no `id`/)
    // The message lists them all, each as file:line:col, so the CLI can print it as is.
    expect(err!.message).toContain(`${join(dir, 'flow.yml')}:6:5 nodes[0].restart_polcy`)
    expect(err!.message.split('\n').length).toBe(err!.issues.length + 1)
    // Issues are ordered by position.
    const lines = err!.issues.map(i => i.line)
    expect(lines).toEqual([...lines].sort((a, b) => a - b))
  })

  it('refuses unknown top-level fields and dora features that would change what runs', () => {
    const issues = issuesOf(() => parseDescriptor('nodez: []\nnodes:\n  - id: a\n    path: sh\n    git: https://x\n    operators: []\n', opts()))
    const msgs = issues.map(i => `${i.path}: ${i.message}`).join('\n')
    expect(msgs).toContain('nodez: unknown field `nodez` (did you mean `nodes`?)')
    expect(msgs).toMatch(/nodes\[0\]\.git: `git`: git sources are not fetched/)
    expect(msgs).toMatch(/nodes\[0\]\.operators/)
  })

  it('checks executables: files next to the descriptor, commands on PATH, escape and exec bit', () => {
    const yaml = `
nodes:
  - { id: a, path: missing.ts }
  - { id: b, path: ./nope/run }
  - { id: c, path: no-such-command-swarmflow }
  - { id: d, path: ../outside.ts }
  - { id: e, path: data.bin }
  - { id: f, path: /definitely/not/here }
  - { id: g, path: tool.sh }
  - { id: h, path: lib/a.ts }
`
    const issues = issuesOf(() => parseDescriptor(yaml, opts()))
    const byPath = new Map(issues.map(i => [i.path, i.message]))
    expect(byPath.get('nodes[0].path')).toMatch(/file missing.ts not found/)
    expect(byPath.get('nodes[1].path')).toMatch(/not found/)
    expect(byPath.get('nodes[2].path')).toMatch(/neither a file .* nor an executable on PATH/)
    expect(byPath.get('nodes[3].path')).toMatch(/leaves the descriptor's directory/)
    expect(byPath.get('nodes[4].path')).toMatch(/not executable; run `chmod \+x/)
    expect(byPath.get('nodes[5].path')).toMatch(/does not exist on this machine/)
    expect(byPath.has('nodes[6].path')).toBe(false)
    expect(byPath.has('nodes[7].path')).toBe(false)
    // Documents from the network: nothing is checked on disk, the path's shape decides its kind.
    const df = parseDescriptor(yaml.replace('../outside.ts', 'x.ts'), { ...opts(), checkFiles: false })
    expect(Object.fromEntries(df.nodes.map(n => [n.id, n.pathKind]))).toEqual({ a: 'file', b: 'file', c: 'command', d: 'file', e: 'command', f: 'command', g: 'command', h: 'file' })
  })

  it('timers: millis, secs and fractional hz; zero, negative and junk refused', () => {
    const df = parseDescriptor('nodes:\n  - id: a\n    path: sh\n    inputs: { m: dora/timer/millis/5, s: dora/timer/secs/2, h: dora/timer/hz/0.5 }\n', opts())
    expect(Object.fromEntries(Object.entries(df.nodes[0]!.inputs).map(([k, v]) => [k, v.source]))).toEqual({
      m: { kind: 'timer', intervalMs: 5 }, s: { kind: 'timer', intervalMs: 2000 }, h: { kind: 'timer', intervalMs: 2000 },
    })
    const issues = issuesOf(() => parseDescriptor('nodes:\n  - id: a\n    path: sh\n    inputs: { a: dora/timer/hz/0, b: dora/timer/millis/1.5, c: dora/timer/millis/x, d: dora/timer/weeks/1 }\n', opts()))
    expect(issues.map(i => i.path)).toEqual(['nodes[0].inputs.a', 'nodes[0].inputs.b', 'nodes[0].inputs.c', 'nodes[0].inputs.d'])
  })

  it('refuses deploy and _unstable_deploy together, and fields the old form never had', () => {
    const issues = issuesOf(() => parseDescriptor('nodes:\n  - id: a\n    path: sh\n    deploy: { machine: x }\n    _unstable_deploy: { machine: y, caps: [gpu] }\n', opts()))
    expect(issues.map(i => i.path)).toEqual(['nodes[0]._unstable_deploy', 'nodes[0]._unstable_deploy.caps'])
  })

  it('refuses a non-mapping document and an empty node list', () => {
    expect(issuesOf(() => parseDescriptor('- a\n- b\n', opts()))[0]?.message).toMatch(/mapping with a `nodes` list/)
    expect(issuesOf(() => parseDescriptor('nodes: []\n', opts()))[0]?.message).toMatch(/at least one node/)
    expect(issuesOf(() => parseDescriptor('', opts()))[0]?.message).toMatch(/mapping/)
  })
})

describe('definition hashes, diffs and shipped files', () => {
  it('hashes normalized definitions: formatting and key order do not matter, content does', () => {
    const a = parseDescriptor('nodes:\n  - id: x\n    path: sh\n    env: { A: "1", B: "2" }\n', opts())
    const b = parseDescriptor('# comment\nnodes:\n  - path: sh\n    env:\n      B: 2\n      A: 1\n    id: x\n', opts())
    expect(nodeDefinitionHash(a.nodes[0]!)).toBe(nodeDefinitionHash(b.nodes[0]!))
    expect(nodeDefinitionHash(a.nodes[0]!)).toMatch(/^[0-9a-f]{64}$/)
    const withDigest = { ...a.nodes[0]!, fileDigests: { 'x.ts': 'ab'.repeat(32) } }
    expect(nodeDefinitionHash(withDigest)).not.toBe(nodeDefinitionHash(a.nodes[0]!))
  })

  it('diffs two deploys into added, removed, changed and unchanged', () => {
    const old = parseDescriptor('nodes:\n  - { id: a, path: sh }\n  - { id: b, path: sh }\n  - { id: c, path: sh }\n', opts())
    const next = parseDescriptor('nodes:\n  - { id: a, path: sh }\n  - { id: b, path: sh, args: -x }\n  - { id: d, path: sh }\n', opts())
    expect(diffDataflows(old, next)).toEqual({ added: ['d'], removed: ['c'], changed: ['b'], unchanged: ['a'] })
    expect(diffDataflows(undefined, old)).toEqual({ added: ['a', 'b', 'c'], removed: [], changed: [], unchanged: [] })
  })

  it('lists the files each node needs shipped (entry + files globs), refusing missing ones', () => {
    const df = parseDescriptor(GOOD, opts())
    const files = localFilesOf(df, dir)
    expect(files.map(f => `${f.node}:${f.relPath}:${f.role}`)).toEqual([
      'camera:camera.ts:entry', 'plot:plot.js:entry', 'plot:data.bin:extra', 'plot:lib/a.ts:extra', 'plot:lib/b.ts:extra',
    ])
    expect(files[0]?.absPath).toBe(join(dir, 'camera.ts'))
    const broken = parseDescriptor('nodes:\n  - { id: a, path: gone.ts, files: [lib/*.py, nothing.txt] }\n', { ...opts(), checkFiles: false })
    const issues = issuesOf(() => localFilesOf(broken, dir))
    expect(issues.map(i => i.message).join('\n')).toMatch(/gone.ts not found[\s\S]*matches no file[\s\S]*nothing.txt not found/)
    expect(issuesOf(() => parseDescriptor('nodes:\n  - { id: a, path: sh, files: [../x] }\n', opts()))[0]?.message).toMatch(/stay inside/)
  })

  it('the network guard refuses malformed dataflows without throwing', () => {
    const good = JSON.parse(JSON.stringify(parseDescriptor(GOOD, opts())))
    expect(checkDataflow(good).ok).toBe(true)
    for (const bad of [null, 5, { nodes: 'x' }, { nodes: [{ id: 'a/b' }] }, { nodes: [good.nodes[0], good.nodes[0]] }]) {
      const r = checkDataflow(bad)
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.reason.length).toBeGreaterThan(0)
    }
    const mutated = JSON.parse(JSON.stringify(good))
    mutated.nodes[1].inputs.image.queueSize = 0
    expect(checkDataflow(mutated)).toMatchObject({ ok: false, reason: expect.stringContaining('queueSize') })
  })
})
