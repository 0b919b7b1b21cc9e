import { createHash } from 'node:crypto'

/**
 * Stable hashing for rendezvous (HRW) scores. Every peer must compute bit-identical values, so
 * only sha256 and 32-bit integer arithmetic (Math.imul, shifts, xor) are used; the uniform value
 * is built from integers exactly representable in a double.
 *
 * Scoring 10 000 members × 1 000 nodes means 10 M pairs: a sha256 per pair would take seconds.
 * Instead each peer id and each node key is hashed once with sha256 (64 bits kept), and a pair is
 * combined with a murmur3-style avalanche over two 32-bit lanes (~ns per pair).
 */

// sha256 of a string costs ~1 µs; peer ids repeat across calls, so keep a bounded memo. Cleared
// wholesale when full: a simple bound, and the values are a pure function of the key.
const MEMO_LIMIT = 50_000
const memo = new Map<string, readonly [number, number]>()

function sha64 (s: string, out: Uint32Array, at: number): void {
  let pair = memo.get(s)
  if (pair === undefined) {
    const d = createHash('sha256').update(s, 'utf8').digest()
    pair = [d.readUInt32BE(0), d.readUInt32BE(4)]
    if (memo.size >= MEMO_LIMIT) memo.clear()
    memo.set(s, pair)
  }
  out[at] = pair[0]
  out[at + 1] = pair[1]
}

/** Writes the 64-bit sha256 prefix of each string as [hi, lo] pairs. */
export function hashStrings (strings: readonly string[]): Uint32Array {
  const out = new Uint32Array(strings.length * 2)
  for (let i = 0; i < strings.length; i++) sha64(strings[i] as string, out, i * 2)
  return out
}

const TWO_POW_21 = 2 ** 21
const TWO_POW_53 = 2 ** 53

/**
 * High 32 bits of a pair's uniform: a murmur3-style avalanche of the xor of both 64-bit hashes.
 * For a fixed high lane it is a bijection of the low lane, so no two members of one key collide
 * systematically. Comparing these integers orders pairs exactly like comparing `pairUniform`
 * (up to ties, which `pairLow` then breaks), which is what the hot loop does.
 */
export function pairHigh (mh: number, ml: number, kh: number, kl: number): number {
  let y = mh ^ kh
  y = Math.imul(y ^ (y >>> 16), 0x85ebca6b)
  let a = ml ^ kl ^ y ^ (y >>> 13)
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b)
  a = Math.imul(a ^ (a >>> 13), 0xc2b2ae35)
  return (a ^ (a >>> 16)) >>> 0
}

/** The next 21 bits of a pair's uniform (tie-breaker of `pairHigh`). */
export function pairLow (mh: number, ml: number, kh: number, kl: number, high: number): number {
  let b = mh ^ kh ^ Math.imul(high, 0x27d4eb2f)
  b = Math.imul(b ^ (b >>> 15), 0x1b873593)
  b = Math.imul(b ^ (b >>> 13), 0xcc9e2d51)
  b ^= b >>> 16 ^ ml ^ kl
  b = Math.imul(b ^ (b >>> 16), 0x85ebca6b)
  return (b ^ (b >>> 13)) >>> 11
}

/** Uniform value in the open interval (0, 1) from a pair's two parts (53 bits; +0.5 avoids 0 and 1). */
export function uniformOf (high: number, low: number): number {
  return (high * TWO_POW_21 + low + 0.5) / TWO_POW_53
}

/** Uniform value in (0, 1) for a (member, key) pair, from their 64-bit hashes. */
export function pairUniform (mh: number, ml: number, kh: number, kl: number): number {
  const high = pairHigh(mh, ml, kh, kl)
  return uniformOf(high, pairLow(mh, ml, kh, kl, high))
}

/** Weighted HRW score: -weight / ln(u). Larger wins. */
export function scoreOf (u: number, weight: number): number {
  return -weight / Math.log(u)
}

/** The weighted HRW score of `peerId` for node `key` (`flow/node`), as `computePlacement` computes it. */
export function hrwScore (peerId: string, key: string, weight = 1): number {
  const h = hashStrings([peerId, key])
  return scoreOf(pairUniform(h[0] as number, h[1] as number, h[2] as number, h[3] as number), weight)
}
