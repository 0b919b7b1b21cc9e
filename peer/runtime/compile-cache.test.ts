import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ROOT = join(import.meta.dirname, '..', '..')

/** Runs `bin/peer --help` with its own cache home; returns the files V8's compile cache left there. */
function cachedAfterRun (compileCache?: string): string[] {
  const home = mkdtempSync(join(tmpdir(), 'sf-cc-'))
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: home }
    delete env.NODE_COMPILE_CACHE
    if (compileCache !== undefined) env.NODE_COMPILE_CACHE = compileCache
    const r = spawnSync(join(ROOT, 'bin/peer'), ['--help'], { env, encoding: 'utf8', timeout: 30_000 })
    expect(r.status, r.stderr).toBe(0)
    const dir = join(home, 'swarmflow', 'node-compile-cache')
    if (!existsSync(dir)) return []
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter(e => e.isFile()).map(e => e.name)
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}

describe('bin/peer and V8\'s compile cache', () => {
  it('keeps compiled code under $XDG_CACHE_HOME/swarmflow/node-compile-cache by default', () => {
    expect(cachedAfterRun().length).toBeGreaterThan(0)
  })

  it('runs without a cache when its directory cannot be created (Node itself would spin forever)', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: '/proc/swarmflow-no-such-dir' }
    delete env.NODE_COMPILE_CACHE
    const r = spawnSync(join(ROOT, 'bin/peer'), ['--help'], { env, encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' })
    expect(r.error, 'bin/peer --help did not finish').toBeUndefined()
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain('peer')
  })

  it('leaves a NODE_COMPILE_CACHE the user set alone (empty: no cache)', () => {
    expect(cachedAfterRun('')).toEqual([])
  })
})
