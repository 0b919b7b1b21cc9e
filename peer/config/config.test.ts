import { describe, it, expect } from 'vitest'
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveConfig, loadDotEnv, SETTINGS, parseLabels } from './config.ts'
import { UsageError } from '../../common/errors.ts'

describe('config precedence: flags > environment (.env) > defaults', () => {
  it('uses defaults when nothing is given', () => {
    const c = resolveConfig({}, {})
    expect(c.heartbeatMs).toBe(250)
    expect(c.mdns).toBe(true)
    expect(c.listen).toEqual(['/ip4/0.0.0.0/tcp/0'])
    expect(c.dataDir.endsWith('.swarmflow')).toBe(true)
  })

  it('environment overrides defaults and flags override the environment', () => {
    const env = { SWARMFLOW_NAME: 'from-env', SWARMFLOW_CAPS: 'camera, gpu', SWARMFLOW_MDNS: 'false', SWARMFLOW_HEARTBEAT_MS: '100' }
    const c = resolveConfig({}, env)
    expect(c.name).toBe('from-env')
    expect(c.caps).toEqual(['camera', 'gpu'])
    expect(c.mdns).toBe(false)
    expect(c.heartbeatMs).toBe(100)
    const f = resolveConfig({ name: 'from-flag', caps: 'lidar', bootstrap: ['/ip4/1.2.3.4/tcp/1', '/ip4/1.2.3.5/tcp/2'] }, env)
    expect(f.name).toBe('from-flag')
    expect(f.caps).toEqual(['lidar'])
    expect(f.bootstrap).toEqual(['/ip4/1.2.3.4/tcp/1', '/ip4/1.2.3.5/tcp/2'])
    expect(f.mdns).toBe(false) // still from env
  })

  it('.env fills only what the real environment leaves unset', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-env-'))
    const file = join(dir, '.env')
    writeFileSync(file, 'SWARMFLOW_NAME=dotenv\nSWARMFLOW_LABELS=zone=a,arm=ur5\n')
    const env = loadDotEnv({ SWARMFLOW_NAME: 'real' }, file)
    const c = resolveConfig({}, env)
    expect(c.name).toBe('real')
    expect(c.labels).toEqual({ zone: 'a', arm: 'ur5' })
  })

  it('rejects bad values with the setting named', () => {
    expect(() => resolveConfig({}, { SWARMFLOW_HEARTBEAT_MS: 'fast' })).toThrow(/SWARMFLOW_HEARTBEAT_MS/)
    expect(() => resolveConfig({ mdns: 'maybe' }, {})).toThrow(UsageError)
    expect(() => resolveConfig({ 'zenoh-listen': 'nope' }, {})).toThrow(/--zenoh-listen must be host:port/)
    expect(() => parseLabels('zone')).toThrow(/not key=value/)
    expect(() => resolveConfig({ 'suspect-ms': '3000', 'dead-ms': '2000' }, {})).toThrow(/shorter/)
  })

  it('.env.example documents every variable', () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
    for (const s of SETTINGS) expect(example, s.env).toMatch(new RegExp(`^# .+\\n#? ?${s.env}=`, 'm'))
  })
})
