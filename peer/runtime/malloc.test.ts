import { afterAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PEER_MALLOC_TUNABLES } from './malloc.ts'

const ROOT = join(import.meta.dirname, '..', '..')
const DIR = mkdtempSync(join(tmpdir(), 'sf-malloc-'))
const REPORTER = join(DIR, 'report.cjs')
afterAll(() => { rmSync(DIR, { recursive: true, force: true }) })
writeFileSync(REPORTER, "process.stderr.write('SF_GT=' + (process.env.GLIBC_TUNABLES ?? '<unset>') + '\\n')\n")

/** The GLIBC_TUNABLES the node process under `bin/peer --help` was started with. */
function seenBy (tunables: string | undefined): string {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: `--require ${REPORTER}` }
  delete env.GLIBC_TUNABLES
  if (tunables !== undefined) env.GLIBC_TUNABLES = tunables
  const r = spawnSync(join(ROOT, 'bin/peer'), ['--help'], { env, encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' })
  expect(r.status, r.stderr).toBe(0)
  const m = /^SF_GT=(.*)$/m.exec(r.stderr)
  expect(m, r.stderr).not.toBeNull()
  return (m as RegExpExecArray)[1] as string
}

describe('bin/peer and glibc malloc', () => {
  it('starts the peer with the malloc settings of peer/runtime/malloc.ts', () => {
    expect(seenBy(undefined)).toBe(PEER_MALLOC_TUNABLES)
  })

  it('keeps a GLIBC_TUNABLES the user set, even an empty one', () => {
    expect(seenBy('glibc.malloc.arena_max=2')).toBe('glibc.malloc.arena_max=2')
    expect(seenBy('')).toBe('')
  })
})
