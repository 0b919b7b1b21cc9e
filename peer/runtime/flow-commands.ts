/** CLI side of the dataflow commands: validate locally, then talk to the running peer. */
import { readFile } from 'node:fs/promises'
import { basename, dirname, extname } from 'node:path'
import type { PeerConfig } from '../config/index.ts'
import { controlCall, controlRequest } from '../control/index.ts'
import { UsageError } from '../../common/errors.ts'
import { parseDescriptorDetailed, localFilesOf, type Dataflow } from '../dataflow/index.ts'
import { table, duration } from '../cli/format.ts'

/** `peer ps --json` contract. */
export interface PsFlow {
  name: string
  state: string
  nodes: Array<{ id: string, peer: string | null, state: string, restarts: number, uptimeMs: number | null }>
}

function defaultName (file: string): string {
  const base = basename(file, extname(file))
  const name = (base === 'dataflow' || base === 'flow') ? basename(dirname(file)) : base
  return name.replace(/[^A-Za-z0-9._-]/g, '-')
}

export function checkFlowName (name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) throw new UsageError(`dataflow name '${name}' must be 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit`)
  return name
}

async function loadDescriptor (file: string): Promise<{ text: string, dataflow: Dataflow, warnings: string[] }> {
  let text: string
  try { text = await readFile(file, 'utf8') } catch (err) {
    throw new UsageError(`cannot read dataflow file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
  }
  const r = parseDescriptorDetailed(text, { file, baseDir: dirname(file), checkFiles: true })
  return { text, dataflow: r.dataflow, warnings: r.warnings.map(w => `${file}:${w.line}:${w.col}: ${w.message}`) }
}

export async function commandDeploy (config: PeerConfig, opts: { file: string, name?: string, json: boolean }): Promise<number> {
  const name = checkFlowName(opts.name ?? defaultName(opts.file))
  const { text, dataflow, warnings } = await loadDescriptor(opts.file)
  for (const w of warnings) console.error(`warning: ${w}`)
  const files = await Promise.all(localFilesOf(dataflow, dirname(opts.file)).map(async f => ({ node: f.node, relPath: f.relPath, role: f.role, data: (await readFile(f.absPath)).toString('base64') })))
  const r = await controlCall<{ name: string, version: number, added: string[], removed: string[], changed: string[], unchanged: string[], files: number }>(config.dataDir, 'POST', '/flows/deploy', { name, source: text, dataflow, files }, { timeoutMs: 120_000 })
  if (opts.json) { console.log(JSON.stringify(r, null, 2)); return 0 }
  const parts = [['added', r.added], ['changed', r.changed], ['removed', r.removed], ['unchanged', r.unchanged]] as const
  console.log(`deployed dataflow '${r.name}' version ${r.version} (${r.files} file(s) shipped): ${parts.filter(([, l]) => l.length).map(([k, l]) => `${k} ${l.join(', ')}`).join('; ')}`)
  return 0
}

export async function commandPlan (config: PeerConfig, opts: { file: string, name?: string, json: boolean }): Promise<number> {
  const name = checkFlowName(opts.name ?? defaultName(opts.file))
  const { dataflow } = await loadDescriptor(opts.file)
  const plan = await controlCall<Array<{ node: string, peer: string | null, peerName: string | null, epoch: number, reason: string, candidates: Array<{ peer: string, name: string, eligible: boolean, reason?: string, score?: number, sticky?: boolean }> }>>(config.dataDir, 'POST', '/flows/plan', { name, dataflow })
  if (opts.json) { console.log(JSON.stringify(plan, null, 2)); return 0 }
  console.log(table(['node', 'runs on', 'epoch', 'why'], plan.map(p => [p.node, p.peerName ?? p.peer ?? 'nowhere', p.epoch, p.reason])))
  for (const p of plan) {
    console.log(`\n${p.node}:`)
    console.log(table(['peer', 'eligible', 'score', 'sticky', 'reason'], p.candidates.map(c => [c.name, c.eligible ? 'yes' : 'no', c.score === undefined ? null : c.score.toFixed(4), c.sticky ? 'yes' : '', c.reason ?? ''])))
  }
  return 0
}

export async function commandPs (config: PeerConfig, opts: { json: boolean }): Promise<number> {
  const flows = await controlCall<PsFlow[]>(config.dataDir, 'GET', '/flows')
  if (opts.json) { console.log(JSON.stringify(flows, null, 2)); return 0 }
  if (flows.length === 0) { console.log('no dataflows; deploy one with: peer deploy FILE'); return 0 }
  const rows: unknown[][] = []
  for (const f of flows) for (const n of f.nodes) rows.push([f.name, f.state, n.id, n.peer ?? 'unplaced', n.state, n.restarts, duration(n.uptimeMs)])
  console.log(table(['dataflow', 'flow state', 'node', 'peer', 'state', 'restarts', 'uptime'], rows))
  return 0
}

export async function commandInspect (config: PeerConfig, opts: { target: string, json: boolean }): Promise<number> {
  const r = await controlCall<Record<string, unknown>>(config.dataDir, 'GET', `/flows/inspect?target=${encodeURIComponent(opts.target)}`)
  console.log(opts.json ? JSON.stringify(r, null, 2) : toYamlish(r))
  return 0
}

export async function commandLogs (config: PeerConfig, opts: { flow: string, node?: string, follow: boolean, tail?: number, timestamps: boolean }): Promise<number> {
  const q = new URLSearchParams({ flow: opts.flow, follow: String(opts.follow), timestamps: String(opts.timestamps) })
  if (opts.node) q.set('node', opts.node)
  if (opts.tail !== undefined) q.set('tail', String(opts.tail))
  const res = await controlRequest(config.dataDir, 'GET', `/flows/logs?${q}`, undefined, { timeoutMs: opts.follow ? 0 : 30_000 })
  if ((res.statusCode ?? 500) >= 400) {
    const chunks: Buffer[] = []
    for await (const c of res) chunks.push(c as Buffer)
    let msg = Buffer.concat(chunks).toString('utf8')
    try { msg = (JSON.parse(msg) as { error: { message: string } }).error.message } catch {}
    throw new UsageError(msg)
  }
  const stop = (): void => { res.destroy() }
  process.once('SIGINT', stop)
  for await (const chunk of res) process.stdout.write(chunk as Buffer)
  process.off('SIGINT', stop)
  return 0
}

function toYamlish (v: unknown, indent = ''): string {
  if (v === null || typeof v !== 'object') return String(v)
  const lines: string[] = []
  for (const [k, val] of Array.isArray(v) ? v.map((x, i) => [`- [${i}]`, x] as const) : Object.entries(v)) {
    if (val !== null && typeof val === 'object' && Object.keys(val).length) lines.push(`${indent}${k}:\n${toYamlish(val, indent + '  ')}`)
    else lines.push(`${indent}${k}: ${Array.isArray(val) ? '[]' : typeof val === 'object' && val !== null ? '{}' : String(val)}`)
  }
  return lines.join('\n')
}
