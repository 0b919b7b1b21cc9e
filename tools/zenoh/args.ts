/**
 * Flags shared by the zenoh example tools (ports of the zenoh-ts examples). Every tool takes
 * `--connect ws://...` (default: env ZENOH_CONNECT, else ws://127.0.0.1:7447) and prints
 * machine-readable lines on stdout so tests can drive it as a process.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { Config, Session } from '@eclipse-zenoh/zenoh-ts'

type Opts = NonNullable<ParseArgsConfig['options']>
type Values<T extends Opts> = {
  [K in keyof T]: T[K] extends { type: 'boolean' } ? boolean | undefined : T[K] extends { default: string } ? string : string | undefined
} & { connect?: string }

export function parse<T extends Opts> (options: T, usage: string): Values<T> {
  try {
    const { values } = parseArgs({ options: { ...options, connect: { type: 'string', short: 'e' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: false })
    if ((values as Record<string, unknown>).help === true) { process.stdout.write(usage + '\n'); process.exit(0) }
    return values as unknown as Values<T>
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${usage}\n`)
    process.exit(2)
  }
}

export function connectUrl (v: unknown): string {
  return typeof v === 'string' && v !== '' ? v : (process.env.ZENOH_CONNECT ?? 'ws://127.0.0.1:7447')
}

/** zenoh-ts logs to console.log/warn on connect; keep stdout for our own lines. */
export async function open (url: string): Promise<Session> {
  console.log = (...a: unknown[]) => { process.stderr.write(a.map(String).join(' ') + '\n') }
  console.warn = (...a: unknown[]) => { process.stderr.write(a.map(String).join(' ') + '\n') }
  try {
    return await Session.open(new Config(url))
  } catch (err) {
    process.stderr.write(`could not open a zenoh session on ${url}: ${(err as Error).message}; is the peer running with its zenoh endpoint there?\n`)
    process.exit(1)
  }
}

export function out (line: string): void {
  process.stdout.write(line + '\n')
}

export function num (v: unknown, name: string, dflt: number): number {
  if (v === undefined) return dflt
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`--${name} must be a non-negative number, got ${String(v)}\n`)
    process.exit(2)
  }
  return n
}

/** Closes the session on SIGINT/SIGTERM and exits 0. */
export function closeOnSignal (session: Session, extra?: () => void): void {
  const stop = (): void => {
    extra?.()
    session.close().catch(() => {}).finally(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

export async function closeAndExit (session: Session, code = 0): Promise<never> {
  await session.close().catch(() => {})
  process.exit(code)
}
