/** Renders rows as an aligned text table; cells are stringified, null/undefined shown as '-'. */
export function table (headers: string[], rows: unknown[][]): string {
  const cells = rows.map(r => r.map(c => c === null || c === undefined || c === '' ? '-' : Array.isArray(c) ? (c.length ? c.join(',') : '-') : typeof c === 'object' ? Object.entries(c as object).map(([k, v]) => `${k}=${String(v)}`).join(',') || '-' : String(c)))
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map(r => (r[i] ?? '').length)))
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  return [line(headers.map(h => h.toUpperCase())), ...cells.map(line)].join('\n')
}

export function duration (ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-'
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${s % 60}s`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h${m % 60}m`
  return `${Math.floor(h / 24)}d${h % 24}h`
}

export function ago (ts: number | null | undefined, now = Date.now()): string {
  if (ts === null || ts === undefined) return 'never'
  return `${duration(Math.max(0, now - ts))} ago`
}

/** Parses '1h', '30m', '45s', '500ms', '2d' into milliseconds. */
export function parseDuration (raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(raw.trim())
  if (!m) return undefined
  const n = Number(m[1])
  const unit = m[2] ?? 's'
  const mult = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000
  return Math.round(n * mult)
}
