import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const ROOT = join(import.meta.dirname, '..', '..')

/**
 * Full (mark-compact) collections in a fresh Node process that allocates 1000 short-lived 1 MiB
 * buffers — what a peer relaying camera frames does — with or without tuneHeapForRelaying().
 */
function majorCollections (tuned: boolean): { majors: number, stderr: string } {
  const code = `
    import { PerformanceObserver, constants } from 'node:perf_hooks'
    import { tuneHeapForRelaying } from ${JSON.stringify(pathToFileURL(join(ROOT, 'peer/runtime/v8-heap.ts')).href)}
    if (${tuned}) tuneHeapForRelaying()
    let majors = 0
    new PerformanceObserver(l => { for (const e of l.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++ }).observe({ entryTypes: ['gc'] })
    let sum = 0
    for (let i = 0; i < 1000; i++) {
      const frame = new Uint8Array(1 << 20)
      frame[i] = 1
      sum += frame[i]
      if (i % 50 === 0) await new Promise(resolve => setImmediate(resolve))
    }
    await new Promise(resolve => setTimeout(resolve, 50))
    console.log(JSON.stringify({ majors, sum }))`
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 })
  expect(r.status, r.stderr).toBe(0)
  const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { majors: number, sum: number }
  expect(out.sum).toBe(1000)
  return { majors: out.majors, stderr: r.stderr }
}

describe('peer V8 heap settings', () => {
  it('this Node knows the flag, and short-lived frame buffers no longer force full collections', () => {
    const plain = majorCollections(false)
    const tuned = majorCollections(true)
    expect(tuned.stderr).not.toMatch(/unrecognized flag/)
    // default V8: a mark-compact about every 64 MB of external memory (8–9 here)
    expect(plain.majors).toBeGreaterThanOrEqual(4)
    expect(tuned.majors).toBeLessThan(plain.majors / 2)
  })
})
