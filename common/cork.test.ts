import { describe, expect, it } from 'vitest'
import { corkForTurn, type CorkableSocket } from './cork.ts'

/** A socket that records what reaches the kernel: one entry per uncorked flush or uncorked write. */
function recordingSocket (): CorkableSocket & { write(b: string): void, flushes: string[][], destroyed: boolean } {
  let depth = 0
  let pending: string[] = []
  const s = {
    flushes: [] as string[][],
    destroyed: false,
    cork () { depth++ },
    uncork () { if (--depth === 0 && pending.length > 0) { s.flushes.push(pending); pending = [] } },
    write (b: string) { if (depth > 0) pending.push(b); else s.flushes.push([b]) },
  }
  return s
}

describe('corkForTurn', () => {
  it('a loop of awaited sends in one turn reaches the socket as one write', async () => {
    const s = recordingSocket()
    const send = async (b: string): Promise<void> => { corkForTurn(s); s.write(b) }
    await (async () => { for (const b of ['a', 'b', 'c', 'd']) await send(b) })()
    // the nextTick uncork has run by the time an awaited macrotask resumes
    await new Promise(resolve => setImmediate(resolve))
    expect(s.flushes).toEqual([['a', 'b', 'c', 'd']])
  })

  it('sends of different turns leave separately, and nothing waits for the next poll', async () => {
    const s = recordingSocket()
    corkForTurn(s); s.write('x')
    await new Promise(resolve => process.nextTick(resolve))
    expect(s.flushes).toEqual([['x']])
    corkForTurn(s); s.write('y')
    await new Promise(resolve => setImmediate(resolve))
    expect(s.flushes).toEqual([['x'], ['y']])
  })

  it('leaves a destroyed socket alone and ignores a missing one', async () => {
    const s = recordingSocket()
    corkForTurn(s); s.write('z'); s.destroyed = true
    await new Promise(resolve => setImmediate(resolve))
    expect(s.flushes).toEqual([])
    expect(() => { corkForTurn(null); corkForTurn(undefined) }).not.toThrow()
  })
})
