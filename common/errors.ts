/**
 * Base of every typed error in swarmflow. Callers branch on `err.name`; each subclass sets it
 * and carries an actionable message (what failed, which input, what to do next).
 */
export class SwarmflowError extends Error {
  /** Stable machine-readable code, also used in JSON error replies. */
  readonly code: string
  constructor (message: string, options?: ErrorOptions & { code?: string }) {
    super(message, options)
    this.name = new.target.name
    this.code = options?.code ?? new.target.name
  }
}

export function isSwarmflowError (err: unknown): err is SwarmflowError {
  return err instanceof SwarmflowError
}

/** Bad user input: configuration, flags, files. The CLI prints it and exits non-zero. */
export class UsageError extends SwarmflowError {}
