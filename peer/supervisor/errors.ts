import { SwarmflowError } from '../../common/errors.ts'

/** startInstance for a key whose instance is starting, running or restarting. */
export class InstanceRunningError extends SwarmflowError {
  constructor (key: string) {
    super(`node instance ${key} is already active on this peer; stop it (stopInstance) before starting it again`)
  }
}

/** startInstance after the supervisor was stopped (the peer is shutting down). */
export class SupervisorStoppedError extends SwarmflowError {
  constructor (key: string) {
    super(`cannot start node instance ${key}: the supervisor is stopped (the peer is shutting down); start a new supervisor`)
  }
}

/** An instance spec is unusable (relative path, bad key, bad numbers). Nothing was started. */
export class InstanceSpecError extends SwarmflowError {
  constructor (key: string, problem: string) {
    super(`node instance spec ${JSON.stringify(key)} is invalid: ${problem}; fix the descriptor or the caller and start it again`)
  }
}

/** A log path component would escape the log directory or is empty. */
export class LogPathError extends SwarmflowError {
  constructor (what: string, value: string) {
    super(`invalid ${what} ${JSON.stringify(value)} for a node log path: it must be non-empty and contain no '/', '\\' or '..'`)
  }
}
