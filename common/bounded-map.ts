/**
 * A Map that forgets its oldest entry when a new key would take it past `max`: for memos of pure
 * answers (a verified signature, a decoded peer id) that must stay bounded whatever the network
 * sends.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>()

  constructor (readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`BoundedMap max must be a positive integer, got ${max}`)
  }

  get size (): number { return this.map.size }
  get (key: K): V | undefined { return this.map.get(key) }
  has (key: K): boolean { return this.map.has(key) }

  set (key: K, value: V): this {
    if (!this.map.has(key) && this.map.size >= this.max) {
      const oldest = this.map.keys().next()
      if (oldest.done !== true) this.map.delete(oldest.value)
    }
    this.map.set(key, value)
    return this
  }
}
