import { pino, type Logger, type LoggerOptions } from 'pino'

export type { Logger }

/** Keys whose values must never reach a log line. */
const REDACT = ['seed', 'secret', 'secretKey', 'token', 'invite', 'privateKey', '*.seed', '*.secret', '*.secretKey', '*.token', '*.invite', '*.privateKey']

export interface RootLoggerOptions {
  level?: string
  /** Where lines go: a file descriptor (default 2, stderr) or a path. */
  destination?: number | string
  base?: Record<string, unknown>
}

/** The process's root logger. Components take a child: `log.child({ component: 'mesh' })`. */
export function createLogger(opts: RootLoggerOptions = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? process.env.SWARMFLOW_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT, censor: '[redacted]' },
    base: opts.base ?? { pid: process.pid },
  }
  return pino(options, pino.destination({ dest: opts.destination ?? 2, sync: true }))
}

/** A logger that writes nothing, for pure unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
