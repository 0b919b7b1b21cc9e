/** Levenshtein distance, O(a·b) time and O(b) memory; inputs here are short identifiers. */
export function editDistance (a: string, b: string): number {
  if (a === b) return 0
  if (a.length === 0) return b.length
  if (b.length === 0) return a.length
  let prev = new Array<number>(b.length + 1)
  let cur = new Array<number>(b.length + 1)
  for (let j = 0; j <= b.length; j++) prev[j] = j
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost)
    }
    [prev, cur] = [cur, prev]
  }
  return prev[b.length] as number
}

/**
 * ` (did you mean `x`?)` for the closest candidate, or '' when nothing is close enough to be a
 * plausible typo (at most a third of the word's length, minimum 2 edits; case-insensitive).
 */
export function didYouMean (word: string, candidates: readonly string[]): string {
  let best: string | undefined
  let bestD = Infinity
  const w = word.toLowerCase()
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase())
    if (d < bestD || (d === bestD && best !== undefined && c < best)) { best = c; bestD = d }
  }
  if (best === undefined || best === word) return ''
  const limit = Math.max(2, Math.floor(word.length / 3))
  return bestD <= limit ? ` (did you mean \`${best}\`?)` : ''
}
