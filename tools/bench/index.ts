/**
 * `npm run bench [-- --quick] [-- --out FILE] [-- --only NAME,...]`: every figure beside the
 * baselines measured in the same run, as a markdown table and JSON (bench/results.json by default).
 * Machines here are 2-core and noisy: targets are ratios against same-run baselines.
 */
import { parseArgs } from 'node:util'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { MEASURES, type Row } from './measures.ts'
import { createContext } from './context.ts'
import { killAll } from './procs.ts'
import { tuneHeapForRelaying } from '../../peer/runtime/v8-heap.ts'
import { spawnSync } from 'node:child_process'
import { PEER_MALLOC_TUNABLES } from '../../peer/runtime/malloc.ts'

async function main (): Promise<void> {
  // Every process of the run — the peers and node processes, and the baselines' (mosquitto, the
  // echo servers, their clients, this one) — runs with the glibc malloc settings bin/peer gives a
  // peer (peer/runtime/malloc.ts; bench/README.md, Paths). A GLIBC_TUNABLES already set is kept.
  if (process.env.GLIBC_TUNABLES === undefined) {
    const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, GLIBC_TUNABLES: PEER_MALLOC_TUNABLES } })
    process.exitCode = r.status ?? 1
    return
  }
  // every process of the link measures runs with the peer's V8 heap setting (bench/README.md, Paths)
  tuneHeapForRelaying()
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, out: { type: 'string' }, only: { type: 'string' } }, allowPositionals: false })
  const ctx = createContext(values.quick === true)
  const only = values.only?.split(',').map(s => s.trim())
  const rows: Row[] = []
  const failures: Array<{ measure: string, error: string }> = []
  const started = Date.now()
  for (const m of MEASURES) {
    if (only && !only.includes(m.id)) continue
    const t0 = Date.now()
    process.stderr.write(`bench: ${m.id} …\n`)
    try {
      const r = await m.run(ctx)
      rows.push(...r)
      for (const row of r) process.stderr.write(`  ${row.measure}: ${fmt(row.value)} ${row.unit}${row.ratio !== undefined ? ` (ratio ${row.ratio.toFixed(2)} vs ${row.baseline}${row.target ? `, target ${row.target}` : ''})` : row.target ? ` (target ${row.target})` : ''}\n`)
    } catch (err) {
      failures.push({ measure: m.id, error: (err as Error).message })
      process.stderr.write(`  FAILED: ${(err as Error).stack ?? String(err)}\n`)
    }
    process.stderr.write(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`)
  }
  await ctx.dispose().catch(err => process.stderr.write(`bench: cleanup failed: ${(err as Error).message}\n`))
  killAll()
  const out = resolve(values.out ?? 'bench/results.json')
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, JSON.stringify({ when: new Date().toISOString(), quick: ctx.quick, node: process.version, durationMs: Date.now() - started, rows, failures }, null, 2))
  console.log(markdown(rows))
  if (failures.length) console.log(`\n${failures.length} measure(s) failed: ${failures.map(f => `${f.measure} (${f.error})`).join('; ')}`)
  console.log(`\nresults written to ${out}`)
  process.exitCode = failures.length ? 1 : 0
}

function fmt (v: number): string {
  if (!Number.isFinite(v)) return String(v)
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3)
}

function markdown (rows: Row[]): string {
  const lines = ['| measure | value | p99 | baseline | baseline value | ratio | target | met | notes |', '|---|---|---|---|---|---|---|---|---|']
  for (const r of rows) {
    lines.push(`| ${r.measure} | ${fmt(r.value)} ${r.unit} | ${r.p99 !== undefined ? `${fmt(r.p99)} ${r.unit}` : '—'} | ${r.baseline ?? '—'} | ${r.baselineValue !== undefined ? `${fmt(r.baselineValue)} ${r.unit}` : '—'} | ${r.ratio !== undefined ? r.ratio.toFixed(2) : '—'} | ${r.target ?? '—'} | ${r.met === undefined ? '—' : r.met ? 'yes' : '**no**'} | ${r.note ?? ''} |`)
  }
  return lines.join('\n')
}

main().catch(err => { console.error(err); process.exitCode = 1 })
