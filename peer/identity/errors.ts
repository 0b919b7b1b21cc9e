import { SwarmflowError } from '../../common/errors.ts'

/** The identity key file is missing (where required), unreadable, corrupt or cannot be written. */
export class IdentityFileError extends SwarmflowError {
  readonly file: string
  constructor (file: string, detail: string, options?: ErrorOptions) {
    super(`identity key file ${file} ${detail}; restore it from a backup, or (if this device should become a new member) move it away, run \`peer init\`/\`peer join\` again and have the old identity revoked`, options)
    this.file = file
  }
}

/** A peer id string that is not an ed25519 libp2p peer id. */
export class InvalidPeerIdError extends SwarmflowError {
  constructor (peerId: string, detail: string, options?: ErrorOptions) {
    super(`peer id ${JSON.stringify(peerId.slice(0, 80))} ${detail}; swarmflow peers use ed25519 peer ids ("12D3KooW…")`, options)
  }
}
