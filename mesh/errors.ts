import { SwarmflowError } from '../common/errors.ts'

export class ChannelClosedError extends SwarmflowError {
  constructor (protocol: string, peer: string, options?: ErrorOptions) {
    super(`channel ${protocol} to ${peer} is closed; open a new one once the peer is reachable again`, options)
  }
}

export class FrameTooLargeError extends SwarmflowError {
  constructor (size: number, max: number, protocol: string) {
    super(`frame of ${size} bytes exceeds the ${max}-byte limit of ${protocol}; split the payload or raise the limit`)
  }
}

export class DialError extends SwarmflowError {}

/** A connection was aborted because it stayed silent and a fresh one to the same peer works. */
export class SilentConnectionError extends SwarmflowError {}

export class NotAdmittedError extends SwarmflowError {}
