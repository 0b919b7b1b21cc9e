import { describe, it, expect } from 'vitest'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { NodeLogWriter, readLogs, readLogEntries, followLogLines, logFilePath } from './logs.ts'
import { LogPathError } from './errors.ts'
import { tempDir } from './test/helpers.ts'

describe('node logs', () => {
  it('rotates by size, keeps N files, reads oldest first with or without timestamps', () => {
    using dir = tempDir()
    const w = new NodeLogWriter(dir.path, 'f', 'cam', { maxBytes: 2048, files: 3 })
    for (let i = 0; i < 400; i++) w.write(i % 2 === 0 ? 'out' : 'err', `line ${i}\n`)
    w.write('out', 'partial')
    w.write('out', ' line\r\n')
    w.write('err', 'no newline at exit')
    w.close()
    const base = logFilePath(dir.path, 'f', 'cam')
    expect(existsSync(base) && existsSync(`${base}.1`) && existsSync(`${base}.2`)).toBe(true)
    expect(existsSync(`${base}.3`)).toBe(false)
    for (const f of [base, `${base}.1`, `${base}.2`]) expect(readFileSync(f).length).toBeLessThanOrEqual(2048)
    const lines = readLogs(dir.path, 'f', 'cam')
    // Only the newest ~6 KiB survive; what survives is contiguous and in order.
    const nums = lines.filter(l => l.startsWith('line ')).map(l => Number(l.slice(5)))
    expect(nums.at(-1)).toBe(399)
    expect(nums).toEqual(nums.map((_, i) => (nums[0] as number) + i))
    expect(lines.slice(-2)).toEqual(['partial line', 'no newline at exit'])
    expect(readLogs(dir.path, 'f', 'cam', { tail: 2 })).toEqual(['partial line', 'no newline at exit'])
    const stamped = readLogs(dir.path, 'f', 'cam', { tail: 1, timestamps: true })[0] as string
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z no newline at exit$/)
    const entries = readLogEntries(dir.path, 'f', 'cam', { tail: 3 })
    expect(entries.map(e => e.stream)).toEqual(['err', 'out', 'err'])
  })

  it('a node that never logged reads as empty; ids that escape the directory are refused', () => {
    using dir = tempDir()
    expect(readLogs(dir.path, 'f', 'none')).toEqual([])
    expect(() => readLogs(dir.path, '..', 'x')).toThrow(LogPathError)
    expect(() => new NodeLogWriter(dir.path, 'f', 'a/b', { maxBytes: 4096, files: 2 })).toThrow(LogPathError)
  })

  it('follows new lines across rotations until aborted', async () => {
    using dir = tempDir()
    const w = new NodeLogWriter(dir.path, 'f', 'n', { maxBytes: 1024, files: 2 })
    w.write('out', 'before\n')
    const ac = new AbortController()
    const seen: string[] = []
    const done = (async () => {
      for await (const l of followLogLines(dir.path, 'f', 'n', { tail: 1, signal: ac.signal, pollMs: 10 })) {
        seen.push(l)
        if (l === 'line 99') ac.abort()
      }
    })()
    // Writes land between polls, some of them across a rotation (~40 B per line, 1 KiB files).
    for (let i = 0; i < 100; i++) {
      w.write('out', `line ${i}\n`)
      if (i % 10 === 0) await new Promise(resolve => setTimeout(resolve, 15))
    }
    const deadline = setTimeout(() => ac.abort(), 5000)
    await done
    clearTimeout(deadline)
    w.close()
    expect(seen[0]).toBe('before')
    const nums = seen.slice(1).map(l => Number(l.slice(5)))
    expect(nums).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(existsSync(join(dir.path, 'f', 'n.log.1'))).toBe(true)
  })
})
