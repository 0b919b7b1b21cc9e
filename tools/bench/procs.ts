/**
 * Helper processes the bench drives over stdin/stdout JSON lines (node processes, echo servers).
 * Every process is started in its own process group and killed with it at the end of the run.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface, type Interface } from 'node:readline'
import { join } from 'node:path'

export const ROOT = join(import.meta.dirname, '..', '..')
export const NODE = join(ROOT, 'node_modules', '.bin', 'node')

const live = new Set<ChildProcess>()

/** Kills every helper process still running (the end of a run, or a failed measure). */
export function killAll (): void {
  for (const p of live) { try { if (p.pid !== undefined) process.kill(-p.pid, 'SIGKILL') } catch {} }
  live.clear()
}
process.once('exit', killAll)

export class Proc {
  private readonly lines: string[] = []
  private waiters: Array<(l: string | undefined) => void> = []
  private ended = false
  readonly rl: Interface

  constructor (readonly name: string, readonly proc: ChildProcess) {
    live.add(proc)
    this.rl = createInterface({ input: proc.stdout as NodeJS.ReadableStream })
    this.rl.on('line', l => { const w = this.waiters.shift(); if (w) w(l); else this.lines.push(l) })
    proc.once('exit', () => {
      live.delete(proc)
      this.ended = true
      for (const w of this.waiters.splice(0)) w(undefined)
    })
  }

  /** The next JSON line printed by the process. */
  async next<T = Record<string, unknown>> (timeoutMs = 60_000): Promise<T> {
    const l = this.lines.shift() ?? (this.ended
      ? undefined
      : await new Promise<string | undefined>((resolve) => {
        const t = setTimeout(() => { this.waiters = this.waiters.filter(w => w !== done); resolve(undefined) }, timeoutMs)
        const done = (x: string | undefined): void => { clearTimeout(t); resolve(x) }
        this.waiters.push(done)
      }))
    if (l === undefined) throw new Error(`${this.name}: no answer${this.ended ? ' (exited)' : ` within ${timeoutMs} ms`}`)
    return JSON.parse(l) as T
  }

  /** Sends one command line and waits for its answer. */
  async call<T = Record<string, unknown>> (cmd: unknown, timeoutMs = 120_000): Promise<T> {
    this.proc.stdin?.write(JSON.stringify(cmd) + '\n')
    return await this.next<T>(timeoutMs)
  }

  async stop (): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return
    const exited = new Promise(resolve => this.proc.once('exit', resolve))
    try { process.kill(-(this.proc.pid as number), 'SIGTERM') } catch {}
    const t = setTimeout(() => { try { process.kill(-(this.proc.pid as number), 'SIGKILL') } catch {} }, 3000)
    await exited
    clearTimeout(t)
  }
}

/** Starts a TypeScript helper on Node 24 with tsx; resolves once it printed its first ({ready}) line. */
export async function startProc (name: string, args: string[], env: Record<string, string> = {}, timeoutMs = 30_000, wrap: string[] = []): Promise<Proc> {
  const [cmd, ...pre] = [...wrap, NODE]
  // BENCH_PROF_DIR=DIR: every helper process (node processes, echo servers, clients) writes a V8 CPU profile there
  const profDir = process.env.BENCH_PROF_DIR
  const prof = profDir !== undefined && profDir !== '' ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []
  const proc = spawn(cmd as string, [...pre, ...prof, '--disable-warning=ExperimentalWarning', '--import', 'tsx', ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
    detached: true,
    cwd: ROOT,
  })
  const p = new Proc(name, proc)
  const first = await p.next(timeoutMs).catch(async (err: Error) => { await p.stop(); throw err })
  if (first.ready !== true) { await p.stop(); throw new Error(`${name}: unexpected first line ${JSON.stringify(first)}`) }
  Object.assign(p, { info: first })
  return p
}
