/**
 * Test harness for suites that need real peer processes: each TestPeer is a `peer join` process
 * with its own temporary data dir, on 127.0.0.1, disposed with `await using`.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { mkdtempSync, existsSync, readFileSync, rmSync, createWriteStream } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { controlCall } from '../peer/control/index.ts'

const execFileP = promisify(execFile)
export const ROOT = resolve(import.meta.dirname, '..')
export const PEER_BIN = join(ROOT, 'bin', 'peer')

/** Fast liveness for tests that do not measure the defaults. */
export const FAST_ENV: Record<string, string> = {}

export interface CliResult { code: number, stdout: string, stderr: string }

/** Runs `peer <args>` to completion (never throws on a non-zero exit). */
export async function peerCli (args: string[], opts: { env?: Record<string, string>, timeoutMs?: number, cwd?: string, wrap?: string[] } = {}): Promise<CliResult> {
  const [cmd, ...pre] = [...(opts.wrap ?? []), PEER_BIN]
  try {
    const r = await execFileP(cmd as string, [...pre, ...args], {
      env: { ...process.env, SWARMFLOW_LOG_LEVEL: 'warn', ...opts.env },
      timeout: opts.timeoutMs ?? 30_000,
      cwd: opts.cwd ?? ROOT,
      maxBuffer: 32 * 1024 * 1024,
    })
    return { code: 0, stdout: r.stdout, stderr: r.stderr }
  } catch (err) {
    const e = err as { code?: number | string, stdout?: string, stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) }
  }
}

export async function peerJson<T = unknown> (args: string[], opts: { env?: Record<string, string>, wrap?: string[] } = {}): Promise<T> {
  const r = await peerCli([...args, '--json'], opts)
  if (r.code !== 0) throw new Error(`peer ${args.join(' ')} failed (${r.code}): ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

export function tempDataDir (label: string): string {
  return mkdtempSync(join(tmpdir(), `sf-${label}-`))
}

/** Polls `fn` until it returns a truthy value or the deadline passes; the last error is reported. */
export async function eventually<T> (fn: () => Promise<T | undefined | false> | T | undefined | false, opts: { timeoutMs?: number, intervalMs?: number, what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000)
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const v = await fn()
      if (v) return v
    } catch (err) { last = err }
    await new Promise(r => setTimeout(r, opts.intervalMs ?? 100))
  }
  throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${last ? `: ${(last as Error).message}` : ''}`)
}

export interface TestPeerOptions {
  dataDir?: string
  name?: string
  args?: string[]
  env?: Record<string, string>
  /** Wait for the control API (default true). A join refused by the swarm never gets there. */
  waitReady?: boolean
  /** Command prefix, e.g. ['ip', 'netns', 'exec', 'ns1'] to run the peer in a network namespace. */
  wrap?: string[]
  /** Listen address (default 127.0.0.1, port 0). */
  listen?: string
}

export class TestPeer {
  readonly dataDir: string
  readonly name: string
  proc: ChildProcess | undefined
  exit: Promise<number | null> = Promise.resolve(null)
  stderrText = ''
  stdoutText = ''
  readonly logFile: string
  private readonly args: string[]
  private readonly env: Record<string, string>
  private readonly wrap: string[]
  private readonly listen: string

  constructor (opts: TestPeerOptions & { name: string }) {
    this.wrap = opts.wrap ?? []
    this.listen = opts.listen ?? '/ip4/127.0.0.1/tcp/0'
    this.name = opts.name
    this.dataDir = opts.dataDir ?? tempDataDir(opts.name)
    this.args = opts.args ?? []
    this.env = opts.env ?? {}
    this.logFile = join(this.dataDir, 'test-peer.log')
  }

  /** Starts `peer join` with this data dir; resolves when its control API answers. */
  async start (opts: { waitReady?: boolean, extraArgs?: string[] } = {}): Promise<this> {
    const args = ['join', '--data-dir', this.dataDir, '--name', this.name, '--listen', this.listen, ...(this.args.includes('--mdns') ? [] : ['--mdns', 'false']), ...this.args, ...(opts.extraArgs ?? [])]
    rmSync(join(this.dataDir, 'control.json'), { force: true })
    const [cmd, ...pre] = [...this.wrap, PEER_BIN]
    const proc = spawn(cmd as string, [...pre, ...args], {
      env: { ...process.env, SWARMFLOW_LOG_LEVEL: 'info', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    this.proc = proc
    const log = createWriteStream(this.logFile, { flags: 'a' })
    proc.stdout?.on('data', (d: Buffer) => { this.stdoutText += d.toString(); log.write(d) })
    proc.stderr?.on('data', (d: Buffer) => { if (this.stderrText.length < 4_000_000) this.stderrText += d.toString(); log.write(d) })
    this.exit = new Promise(resolve => proc.on('exit', (code, signal) => { log.end(); resolve(code ?? (signal ? 128 : null)) }))
    if (opts.waitReady === false) return this
    await Promise.race([
      eventually(() => existsSync(join(this.dataDir, 'control.json')), { timeoutMs: 30_000, what: `${this.name} control API` }),
      this.exit.then(code => { throw new Error(`${this.name} exited with ${code} before it was ready:\n${this.stderrText.slice(-3000)}`) }),
    ])
    if (args.includes('--invite')) {
      // a joiner is a member once a peer admitted it and it stored its membership
      await Promise.race([
        eventually(() => existsSync(join(this.dataDir, 'membership.json')), { timeoutMs: 40_000, what: `${this.name} membership stored` }),
        this.exit.then(code => { throw new Error(`${this.name} exited with ${code} before it joined:\n${this.stderrText.slice(-3000)}`) }),
      ])
    }
    return this
  }

  get pid (): number | undefined { return this.proc?.pid }
  get running (): boolean { return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null }

  async cli (args: string[]): Promise<CliResult> { return await peerCli([...args, '--data-dir', this.dataDir], { wrap: this.wrap }) }
  async json<T = unknown> (args: string[]): Promise<T> { return await peerJson<T>([...args, '--data-dir', this.dataDir], { wrap: this.wrap }) }

  /**
   * Calls the peer's control API directly over HTTP (no CLI process): for timing-sensitive polls.
   * Not for peers in a network namespace (their loopback is their own): use the CLI there.
   */
  async api<T = unknown> (path: string, method: 'GET' | 'POST' = 'GET', body?: unknown): Promise<T> {
    return await controlCall<T>(this.dataDir, method, path, body, { timeoutMs: 5000 })
  }

  status (): Promise<{ id: string, name: string, swarm: { id: string, name: string }, listen: string[], zenoh?: string }> { return this.json(['status']) }
  members (): Promise<Array<{ name: string, id: string, state: string, caps: string[], labels: Record<string, string>, lastSeen: number | null, addresses: string[] }>> { return this.json(['members']) }

  /** A multiaddr other test peers can bootstrap from. */
  async addr (): Promise<string> {
    const s = await this.status()
    const a = s.listen.find(x => x.includes('/ip4/127.0.0.1/'))
    if (!a) throw new Error(`${this.name} has no loopback listen address: ${JSON.stringify(s.listen)}`)
    return a.includes('/p2p/') ? a : `${a}/p2p/${s.id}`
  }

  signal (sig: NodeJS.Signals): void {
    if (this.proc?.pid !== undefined) { try { process.kill(this.proc.pid, sig) } catch {} }
  }

  async stop (sig: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<number | null> {
    if (!this.running) return await this.exit
    this.signal('SIGCONT')
    this.signal(sig)
    const timer = setTimeout(() => this.kill9(), timeoutMs)
    const code = await this.exit
    clearTimeout(timer)
    return code
  }

  kill9 (): void {
    const pid = this.proc?.pid
    if (pid === undefined) return
    try { process.kill(-pid, 'SIGKILL') } catch {}
    try { process.kill(pid, 'SIGKILL') } catch {}
  }

  async [Symbol.asyncDispose] (): Promise<void> {
    await this.stop('SIGTERM', 5000).catch(() => {})
    this.kill9()
    if (!process.env.SWARMFLOW_KEEP_TEST_DIRS) rmSync(this.dataDir, { recursive: true, force: true })
  }
}

/** Reads the member certificate/state the CLI stored (for assertions about what was written). */
export function readMembershipFile (dataDir: string): unknown {
  const f = join(dataDir, 'membership.json')
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : undefined
}

/**
 * Forms a swarm the way a user does: `peer init` on the first device, `peer invite` for each other
 * one, `peer join --invite` on it. Returns the running peers, the admin first.
 */
export async function formSwarm (names: string[], opts: { swarm?: string, args?: Record<string, string[]>, env?: Record<string, string> } = {}): Promise<TestPeer[]> {
  const [first, ...rest] = names
  if (first === undefined) throw new Error('formSwarm needs at least one name')
  const admin = new TestPeer({ name: first, args: opts.args?.[first] ?? [], env: opts.env })
  const init = await peerCli(['init', '--swarm', opts.swarm ?? 'test', '--data-dir', admin.dataDir, '--name', first])
  if (init.code !== 0) throw new Error(`peer init failed: ${init.stderr}`)
  await admin.start()
  const peers = [admin]
  const joiners: TestPeer[] = []
  for (const name of rest) {
    const inv = await admin.cli(['invite', '--name', name])
    if (inv.code !== 0) throw new Error(`peer invite failed: ${inv.stderr}`)
    const token = inv.stdout.trim().split('\n').pop() as string
    joiners.push(new TestPeer({ name, args: ['--invite', token, ...(opts.args?.[name] ?? [])], env: opts.env }))
  }
  await Promise.all(joiners.map(j => j.start()))
  peers.push(...joiners)
  await Promise.all(peers.map(p => eventually(async () => {
    const ms = await p.api<Array<{ state: string }>>('/members')
    return ms.filter(m => m.state === 'alive').length === names.length
  }, { timeoutMs: 20_000, what: `${p.name} sees the whole swarm alive` })))
  return peers
}
