import { describe, expect, it } from 'vitest'
import { KEEPER_BASE_MS, KEEPER_HEALTHY_MS, KEEPER_MAX_MS, keepChannelOpen } from './keeper.ts'

/** A scripted run: each open either fails or yields a channel that lives `lives` ms of fake time. */
async function run (script: Array<{ fail: true } | { lives: number }>): Promise<{ waits: number[], opens: number }> {
  let clock = 0
  const waits: number[] = []
  let opens = 0
  await keepChannelOpen({
    wanted: () => opens < script.length,
    open: async () => {
      const step = script[opens++]
      if (step === undefined || 'fail' in step) throw new Error('refused')
      return { closed: new Promise<void>(resolve => setImmediate(() => { clock += step.lives; resolve() })) }
    },
    attach: () => {},
    now: () => clock,
    sleep: async (ms) => { waits.push(ms); clock += ms },
    random: () => 0.5, // no jitter
  })
  return { waits, opens }
}

describe('keepChannelOpen', () => {
  it('reopens at once after a channel that worked, however often its connection is replaced', async () => {
    const r = await run(Array.from({ length: 8 }, () => ({ lives: 4_500 })))
    expect(r.opens).toBe(8)
    expect(r.waits).toEqual([])
  })

  it('backs off exponentially, capped, on failures and on channels that close right away', async () => {
    const r = await run([{ fail: true }, { lives: 10 }, { fail: true }, { fail: true }, { fail: true }, { fail: true }, { fail: true }, { fail: true }, { lives: 0 }])
    expect(r.waits).toEqual([250, 500, 1000, 2000, 4000, 8000, KEEPER_MAX_MS, KEEPER_MAX_MS])
  })

  it('a healthy channel resets the back-off', async () => {
    const r = await run([{ fail: true }, { fail: true }, { fail: true }, { lives: KEEPER_HEALTHY_MS }, { fail: true }, { lives: 0 }])
    expect(r.waits).toEqual([KEEPER_BASE_MS, KEEPER_BASE_MS * 2, KEEPER_BASE_MS * 4, KEEPER_BASE_MS])
  })

  it('stops when the channel is no longer wanted, also while a channel is open', async () => {
    let wanted = true
    let close!: () => void
    let opens = 0
    const done = keepChannelOpen({
      wanted: () => wanted,
      open: async () => { opens++; return { closed: new Promise<void>(resolve => { close = resolve }) } },
      attach: () => {},
      sleep: async () => {},
    })
    await new Promise(resolve => setImmediate(resolve))
    wanted = false
    close()
    await done
    expect(opens).toBe(1)
  })
})
