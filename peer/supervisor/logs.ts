/**
 * Node logs: every line a child writes on stdout/stderr (and the supervisor's own notes about it)
 * lands in `<logDir>/<flow>/<node>.log` as `<ISO-8601 UTC> <stream> <text>`, stream one of
 * `out`, `err`, `sup`. The stored timestamp lets `peer logs --timestamps` show it and the default
 * view strip it. Files rotate by size: `<node>.log` → `.log.1` → … → `.log.<files-1>`, oldest dropped.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { LogPathError } from './errors.ts'
import type { FollowLogsOptions, LogEntry, LogStream, ReadLogsOptions } from './interfaces.ts'

/** A line longer than this is cut and stored as several lines, so one runaway write cannot grow memory. */
const MAX_LINE_BYTES = 64 * 1024
const LINE_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (out|err|sup) (.*)$/

function safeSegment (what: string, value: string): string {
  if (value.length === 0 || value.includes('/') || value.includes('\\') || value === '.' || value === '..' || value.includes('\0')) throw new LogPathError(what, value)
  return value
}

export function logFilePath (logDir: string, flow: string, node: string): string {
  return join(logDir, safeSegment('flow id', flow), `${safeSegment('node id', node)}.log`)
}

export interface LogWriterOptions {
  maxBytes: number
  files: number
}

/**
 * Appends lines synchronously: a node's output is ordered with the supervisor's own notes and
 * nothing is lost if the peer exits right after a child's last words.
 */
export class NodeLogWriter {
  readonly path: string
  private fd: number | undefined
  private size = 0
  private readonly carry: Record<'out' | 'err', string> = { out: '', err: '' }
  private readonly opts: LogWriterOptions

  constructor (logDir: string, flow: string, node: string, opts: LogWriterOptions) {
    this.path = logFilePath(logDir, flow, node)
    this.opts = { maxBytes: Math.max(1024, opts.maxBytes), files: Math.max(1, Math.floor(opts.files)) }
    mkdirSync(join(logDir, flow), { recursive: true })
  }

  /** A chunk of child output; complete lines are stored, the rest waits for its newline. */
  write (stream: 'out' | 'err', chunk: Buffer | string): void {
    let text = this.carry[stream] + chunk.toString()
    const parts = text.split('\n')
    text = parts.pop() ?? ''
    while (text.length > MAX_LINE_BYTES) { parts.push(text.slice(0, MAX_LINE_BYTES)); text = text.slice(MAX_LINE_BYTES) }
    this.carry[stream] = text
    if (parts.length > 0) this.append(stream, parts)
  }

  /** One line from the supervisor itself (start, exit, restart, stop). */
  note (text: string): void {
    this.append('sup', [text])
  }

  /** Stores any unterminated output (the child exited mid-line). */
  flush (): void {
    for (const s of ['out', 'err'] as const) {
      if (this.carry[s].length > 0) { const t = this.carry[s]; this.carry[s] = ''; this.append(s, [t]) }
    }
  }

  close (): void {
    this.flush()
    if (this.fd !== undefined) { closeSync(this.fd); this.fd = undefined }
  }

  private append (stream: LogStream, lines: string[]): void {
    const ts = new Date().toISOString()
    let out = ''
    for (const l of lines) out += `${ts} ${stream} ${l.endsWith('\r') ? l.slice(0, -1) : l}\n`
    const buf = Buffer.from(out)
    if (this.fd === undefined) this.open()
    if (this.size > 0 && this.size + buf.length > this.opts.maxBytes) this.rotate()
    writeSync(this.fd as number, buf)
    this.size += buf.length
  }

  private open (): void {
    this.fd = openSync(this.path, 'a')
    this.size = fstatSync(this.fd).size
  }

  private rotate (): void {
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = undefined
    const n = this.opts.files
    if (n <= 1) {
      rmSync(this.path, { force: true })
    } else {
      for (let i = n - 1; i >= 1; i--) {
        const from = i === 1 ? this.path : `${this.path}.${i - 1}`
        try { renameSync(from, `${this.path}.${i}`) } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err }
      }
    }
    this.open()
  }
}

export function parseLogLine (line: string): LogEntry {
  const m = LINE_RE.exec(line)
  // A line not in our format (hand-edited file, older layout) is shown as it is.
  if (m === null) return { ts: '', stream: 'out', text: line }
  return { ts: m[1] as string, stream: m[2] as LogStream, text: m[3] as string }
}

export function formatLogEntry (e: LogEntry, options: { timestamps?: boolean } = {}): string {
  return options.timestamps === true && e.ts !== '' ? `${e.ts} ${e.text}` : e.text
}

/** Files of one node, oldest first. */
function logFiles (path: string): string[] {
  const out: string[] = []
  for (let i = 1; ; i++) {
    try { statSync(`${path}.${i}`) } catch { break }
    out.unshift(`${path}.${i}`)
  }
  try { statSync(path); out.push(path) } catch { /* only rotated files */ }
  return out
}

/** Every stored entry of a node, oldest first (all rotated files); none when it never logged here. */
export function readLogEntries (logDir: string, flow: string, node: string, options: { tail?: number } = {}): LogEntry[] {
  const path = logFilePath(logDir, flow, node)
  const files = logFiles(path)
  let lines: string[] = []
  for (const f of files) {
    let text: string
    try { text = readFileSync(f, 'utf8') } catch { continue } // rotated away between list and read
    const ls = text.split('\n')
    if (ls[ls.length - 1] === '') ls.pop()
    lines = lines.concat(ls)
  }
  if (options.tail !== undefined) lines = options.tail <= 0 ? [] : lines.slice(-options.tail)
  return lines.map(parseLogLine)
}

/** A node's log lines, oldest first; the timestamp prefix kept only when asked. */
export function readLogs (logDir: string, flow: string, node: string, options: ReadLogsOptions = {}): string[] {
  return readLogEntries(logDir, flow, node, { tail: options.tail }).map(e => formatLogEntry(e, options))
}

async function pause (ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted === true) return
  await new Promise<void>(resolve => {
    const t = setTimeout(done, ms)
    function done (): void { clearTimeout(t); signal?.removeEventListener('abort', done); resolve() }
    signal?.addEventListener('abort', done, { once: true })
  })
}

function readFrom (path: string, pos: number): { data: Buffer, ino: number, size: number } | undefined {
  let fd: number
  try { fd = openSync(path, 'r') } catch { return undefined }
  try {
    const st = fstatSync(fd)
    const start = st.size < pos ? 0 : pos
    const len = st.size - start
    const data = Buffer.alloc(len)
    let off = 0
    while (off < len) { const n = readSync(fd, data, off, len - off, start + off); if (n === 0) break; off += n }
    return { data: data.subarray(0, off), ino: st.ino, size: start + off }
  } finally {
    closeSync(fd)
  }
}

/**
 * Follows a node's log like `tail -F`: yields new lines as they are written, across rotations,
 * until the signal aborts. The node need not exist yet. Polls (files on a device's flash are
 * checked cheaply; fs.watch misses renames on some filesystems).
 */
export async function * followLogLines (logDir: string, flow: string, node: string, options: FollowLogsOptions = {}): AsyncGenerator<string> {
  const path = logFilePath(logDir, flow, node)
  const { signal } = options
  const pollMs = options.pollMs ?? 200
  let ino = -1
  let pos = 0
  try {
    const st = statSync(path)
    ino = st.ino
    pos = st.size
  } catch { /* not written yet: start at its beginning once it appears */ }
  if ((options.tail ?? 0) > 0) {
    // Read and re-anchor with no await in between: the writer (in this process) cannot interleave.
    const entries: LogEntry[] = readLogEntries(logDir, flow, node, { tail: options.tail })
    try { const st = statSync(path); ino = st.ino; pos = st.size } catch { /* still none */ }
    for (const e of entries) yield formatLogEntry(e, options)
  }
  let carry = ''
  while (signal?.aborted !== true) {
    let st: { ino: number, size: number } | undefined
    try { st = statSync(path) } catch { st = undefined }
    const chunks: Buffer[] = []
    if (st !== undefined && st.ino !== ino && ino !== -1) {
      // Rotated: finish the old file (now `.1`) from where we were, then start the new one at 0.
      const old = readFrom(`${path}.1`, pos)
      if (old !== undefined && old.ino === ino) chunks.push(old.data)
      ino = st.ino
      pos = 0
    }
    if (st !== undefined) {
      if (ino === -1) { ino = st.ino; pos = 0 }
      if (st.size !== pos) {
        const r = readFrom(path, pos)
        if (r !== undefined && r.ino === ino) { chunks.push(r.data); pos = r.size }
      }
    }
    if (chunks.length > 0) {
      const parts = (carry + Buffer.concat(chunks).toString('utf8')).split('\n')
      carry = parts.pop() ?? ''
      for (const l of parts) yield formatLogEntry(parseLogLine(l), options)
      continue
    }
    await pause(pollMs, signal)
  }
}

/**
 * `followLogLines` with a callback: calls `onLine` for each new line until `options.signal`
 * aborts, then resolves. Without a signal it never resolves.
 */
export async function followLogs (logDir: string, flow: string, node: string, options: FollowLogsOptions, onLine: (line: string) => void): Promise<void> {
  for await (const line of followLogLines(logDir, flow, node, options)) onLine(line)
}
