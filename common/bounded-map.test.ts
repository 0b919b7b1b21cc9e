import { describe, expect, it } from 'vitest'
import { BoundedMap } from './bounded-map.ts'

describe('BoundedMap', () => {
  it('keeps at most max entries, forgetting the oldest; updating a key evicts nothing', () => {
    const m = new BoundedMap<string, number>(3)
    m.set('a', 1).set('b', 2).set('c', 3)
    m.set('a', 10)
    expect(m.size).toBe(3)
    expect(m.get('a')).toBe(10)
    m.set('d', 4)
    expect(m.size).toBe(3)
    expect(m.has('a')).toBe(false)
    expect([m.get('b'), m.get('c'), m.get('d')]).toEqual([2, 3, 4])
    expect(() => new BoundedMap(0)).toThrow(RangeError)
  })
})
