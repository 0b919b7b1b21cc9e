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
  },
})
