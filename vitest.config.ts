import { defineConfig } from 'vitest/config'

// Multi-peer suites start real processes on a 2-core machine: keep parallelism low and
// give them generous deadlines; each test waits on events, not on sleeps.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    // Decoded swarm-document records are shared by every reader; under test they are deep-frozen
    // so that code writing to one fails (crdt-state/schema.ts). Peer processes the tests start
    // inherit it.
    env: { SWARMFLOW_FREEZE_RECORDS: '1' },
  },
})
