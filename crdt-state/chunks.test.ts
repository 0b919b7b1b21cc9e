import { describe, it, expect } from 'vitest'
import * as A from '@automerge/automerge'
import { splitChunks } from './authorship.ts'

describe('splitChunks', () => {
  it('splits concatenated change chunks that a sync message can carry in one entry', () => {
    let d = A.from<Record<string, string>>({ a: 'x' })
    d = A.change(d, x => { x.b = 'y'.repeat(1200) })
    d = A.change(d, x => { x.c = 'z' })
    const changes = A.getAllChanges(d)
    const joined = new Uint8Array(changes.reduce((n, c) => n + c.length, 0))
    let off = 0
    for (const c of changes) { joined.set(c, off); off += c.length }
    expect(() => A.decodeChange(joined)).toThrow(/leftover/)
    const parts = splitChunks(joined)
    expect(parts.map(p => p.length)).toEqual(changes.map(c => c.length))
    expect(parts.map(p => A.decodeChange(p).hash)).toEqual(changes.map(c => A.decodeChange(c).hash))
  })

  it('returns garbage whole for the decoder to refuse, never throws', () => {
    for (const junk of [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array([0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])]) {
      const parts = splitChunks(junk)
      expect(parts.reduce((n, p) => n + p.length, 0)).toBe(junk.length)
    }
  })
})
