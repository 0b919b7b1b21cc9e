/** Runs a tools/zenoh example as a child process on Node 24 (for tests and scripts). */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '../..')
const nodeBin = path.join(root, 'node_modules/.bin/node')

export interface ToolProcess extends AsyncDisposable {
  readonly child: ChildProcess
  /** stdout lines so far */
  readonly lines: string[]
  /** Resolves with the first stdout line matching `re` (rejects after `ms` or when the process exits first). */
  waitFor(re: RegExp, ms?: number): Promise<string>
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>
  stderr(): string
}

export function runTool (name: string, args: string[]): ToolProcess {
  const child = spawn(nodeBin, ['--no-warnings', '--import', 'tsx', path.join(here, `${name}.ts`), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  let err = ''
  let buf = ''
  const watchers = new Set<{ re: RegExp, resolve: (l: string) => void }>()
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    buf += d
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      lines.push(line)
      for (const w of watchers) if (w.re.test(line)) { watchers.delete(w); w.resolve(line) }
    }
  })
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { err = (err + d).slice(-20000) })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  return {
    child,
    lines,
    exited,
    stderr: () => err,
    waitFor (re, ms = 15000) {
      const hit = lines.find(l => re.test(l))
      if (hit !== undefined) return Promise.resolve(hit)
      return new Promise((resolve, reject) => {
        const entry = { re, resolve: (l: string) => { clearTimeout(t); resolve(l) } }
        const t = setTimeout(() => { watchers.delete(entry); reject(new Error(`${name}: no line matching ${re} within ${ms} ms; stdout: ${lines.join(' | ')}; stderr: ${err.slice(-2000)}`)) }, ms)
        watchers.add(entry)
        void exited.then(code => {
          if (!watchers.has(entry)) return
          watchers.delete(entry)
          clearTimeout(t)
          reject(new Error(`${name} exited (${code}) before printing ${re}; stdout: ${lines.join(' | ')}; stderr: ${err.slice(-2000)}`))
        })
      })
    },
    async [Symbol.asyncDispose] () {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(t)
    },
  }
}
