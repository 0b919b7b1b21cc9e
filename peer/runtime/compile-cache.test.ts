import { afterAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ROOT = join(import.meta.dirname, '..', '..')

function filesUnder (dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter(e => e.isFile()).map(e => e.name)
}

/** Preloaded into the node bin/peer starts: reports the NODE_COMPILE_CACHE it was given. */
const REPORTER_DIR = mkdtempSync(join(tmpdir(), 'sf-cc-report-'))
const REPORTER = join(REPORTER_DIR, 'report.cjs')
afterAll(() => { rmSync(REPORTER_DIR, { recursive: true, force: true }) })
writeFileSync(REPORTER, "process.stderr.write('SF_CC=' + (process.env.NODE_COMPILE_CACHE ?? '<unset>') + '\\n')\n")

/** Runs `bin/peer --help`; returns the NODE_COMPILE_CACHE the node process saw ('<unset>' when none). */
function runPeerHelp (env: NodeJS.ProcessEnv, cwd?: string): string {
  const r = spawnSync(join(ROOT, 'bin/peer'), ['--help'], { env: { ...env, NODE_OPTIONS: `--require ${REPORTER}` }, cwd, encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' })
  expect(r.error, 'bin/peer --help did not finish').toBeUndefined()
  expect(r.status, r.stderr).toBe(0)
  expect(r.stdout).toContain('peer')
  const seen = /^SF_CC=(.*)$/m.exec(r.stderr)
  expect(seen, r.stderr).not.toBeNull()
  return (seen as RegExpExecArray)[1] as string
}

/**
 * Runs `bin/peer --help` with its own cache home; returns the files V8's compile cache left there.
 * `prepare` may set up the cache home first; `inspect` sees it after the run.
 */
function cachedAfterRun (compileCache?: string, prepare?: (home: string) => void, inspect?: (home: string, seen: string) => void): string[] {
  const home = mkdtempSync(join(tmpdir(), 'sf-cc-'))
  try {
    prepare?.(home)
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: home }
    delete env.NODE_COMPILE_CACHE
    if (compileCache !== undefined) env.NODE_COMPILE_CACHE = compileCache
    const seen = runPeerHelp(env)
    inspect?.(home, seen)
    return filesUnder(join(home, 'swarmflow', 'node-compile-cache'))
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}

describe('bin/peer and V8\'s compile cache', () => {
  it('keeps compiled code under $XDG_CACHE_HOME/swarmflow/node-compile-cache by default, in directories only this user can open', () => {
    let mode = -1
    let seen = ''
    let expected = ''
    const files = cachedAfterRun(undefined, undefined, (home, s) => {
      mode = statSync(join(home, 'swarmflow', 'node-compile-cache')).mode & 0o777
      seen = s
      expected = join(home, 'swarmflow', 'node-compile-cache')
    })
    expect(files.length).toBeGreaterThan(0)
    expect(seen).toBe(expected)
    expect(mode.toString(8)).toBe('700')
  })

  it('uses no cache that someone else could write: a group- or world-writable directory is skipped', () => {
    const seen: string[] = []
    expect(cachedAfterRun(undefined, home => {
      mkdirSync(join(home, 'swarmflow', 'node-compile-cache'), { recursive: true })
      chmodSync(join(home, 'swarmflow', 'node-compile-cache'), 0o777)
    }, (_home, s) => { seen.push(s) })).toEqual([])
    expect(cachedAfterRun(undefined, home => {
      mkdirSync(join(home, 'swarmflow', 'node-compile-cache'), { recursive: true })
      chmodSync(join(home, 'swarmflow'), 0o775)
    }, (_home, s) => { seen.push(s) })).toEqual([])
    expect(seen).toEqual(['<unset>', '<unset>'])
  })

  it('uses no cache without an absolute $XDG_CACHE_HOME or $HOME (a relative one would land in the working directory)', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sf-cc-cwd-'))
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: 'relative-cache', HOME: 'relative-home' }
      delete env.NODE_COMPILE_CACHE
      expect(runPeerHelp(env, cwd)).toBe('<unset>')
      delete env.HOME
      delete env.XDG_CACHE_HOME
      // no HOME at all: no shared fallback such as /tmp/.cache either
      expect(runPeerHelp(env, cwd)).toBe('<unset>')
      expect(readdirSync(cwd)).toEqual([])
    } finally {
      rmSync(cwd, { recursive: true, force: true })
    }
  })

  it('runs without a cache when its directory cannot be created (Node itself would spin forever)', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: '/proc/swarmflow-no-such-dir' }
    delete env.NODE_COMPILE_CACHE
    expect(runPeerHelp(env)).toBe('<unset>')
  })

  it('leaves a NODE_COMPILE_CACHE the user set alone (empty: no cache)', () => {
    expect(cachedAfterRun('')).toEqual([])
  })
})
