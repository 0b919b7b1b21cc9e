import { SwarmflowError } from '../../common/errors.ts'

/** The invite token could not be decoded: truncated, mistyped, or not a swarmflow invite. */
export class InviteMalformedError extends SwarmflowError {
  constructor (detail: string, options?: ErrorOptions) {
    super(`invite token is malformed (${detail}); copy the whole token printed by \`peer invite\` (it starts with "sf1.") and try again`, options)
  }
}

export class InviteExpiredError extends SwarmflowError {
  constructor (inviteId: string, notAfter: number, now: number) {
    super(`invite ${inviteId} expired at ${new Date(notAfter).toISOString()} (now ${new Date(now).toISOString()}); ask an admin for a new one with \`peer invite\``)
  }
}

/** Bad signature, or claims not signed by a valid admin of the swarm. */
export class InviteForgedError extends SwarmflowError {
  constructor (inviteId: string, detail: string, options?: ErrorOptions) {
    super(`invite ${inviteId} is not valid: ${detail}; ask an admin of this swarm for a new invite`, options)
  }
}

export class InviteAlreadyUsedError extends SwarmflowError {
  constructor (inviteId: string, redeemedBy: string) {
    super(`invite ${inviteId} was already redeemed by member key ${redeemedBy.slice(0, 16)}…; each invite admits one device, ask an admin for another`)
  }
}

export class WrongSwarmError extends SwarmflowError {
  constructor (what: string, expected: string, got: string) {
    super(`${what} belongs to swarm ${got}, not to this swarm ${expected}; use an invite or certificate of swarm ${expected}, or join the other swarm with a separate data dir`)
  }
}

export class CertificateMalformedError extends SwarmflowError {
  constructor (detail: string, options?: ErrorOptions) {
    super(`member certificate is malformed (${detail}); it must be produced by \`peer init\` or \`peer join\``, options)
  }
}

export class CertificateExpiredError extends SwarmflowError {
  constructor (subject: string, notAfter: number, now: number) {
    super(`certificate of ${subject} expired at ${new Date(notAfter).toISOString()} (now ${new Date(now).toISOString()}); the member must re-join with a new invite`)
  }
}

export class CertificateNotYetValidError extends SwarmflowError {
  constructor (subject: string, notBefore: number, now: number) {
    super(`certificate of ${subject} is valid only from ${new Date(notBefore).toISOString()} (now ${new Date(now).toISOString()}); check the clocks of both devices`)
  }
}

/** A signature does not verify, or the chain breaks a rule (issuer not admin, claims exceeded, windows not nested). */
export class CertificateForgedError extends SwarmflowError {
  constructor (subject: string, detail: string, options?: ErrorOptions) {
    super(`certificate of ${subject} is not valid: ${detail}; the device must re-join with a genuine invite`, options)
  }
}

export class CertificateRevokedError extends SwarmflowError {
  constructor (subject: string, revokedKey: string, viaIssuer: boolean) {
    super(viaIssuer
      ? `certificate of ${subject} was issued through admin or invite key ${revokedKey.slice(0, 16)}…, which is revoked; the member must re-join with an invite from a current admin`
      : `member ${subject} is revoked; an admin must invite it again (with a new identity) to readmit it`)
  }
}

export class CertificateChainTooLongError extends SwarmflowError {
  constructor (subject: string, max: number) {
    super(`certificate chain of ${subject} is longer than ${max}; invite the device from an admin closer to the swarm root`)
  }
}

export class RevocationMalformedError extends SwarmflowError {
  constructor (detail: string, options?: ErrorOptions) {
    super(`revocation record is malformed (${detail}); it must be produced by \`peer revoke\``, options)
  }
}

export class RevocationForgedError extends SwarmflowError {
  constructor (target: string, detail: string, options?: ErrorOptions) {
    super(`revocation of ${target.slice(0, 16)}… is not valid: ${detail}; only an admin of this swarm can revoke`, options)
  }
}

export class ActorCertificateMalformedError extends SwarmflowError {
  constructor (detail: string, options?: ErrorOptions) {
    super(`actor certificate is malformed (${detail}); drop the change that carries it`, options)
  }
}

export class ActorCertificateForgedError extends SwarmflowError {
  constructor (actorId: string, detail: string, options?: ErrorOptions) {
    super(`actor certificate for actor ${actorId.slice(0, 16)}… is not valid: ${detail}; reject its changes`, options)
  }
}

export class SignedHeadsMalformedError extends SwarmflowError {
  constructor (detail: string, options?: ErrorOptions) {
    super(`signed heads record is malformed (${detail}); drop it`, options)
  }
}

export class MembershipFileError extends SwarmflowError {
  constructor (file: string, detail: string, options?: ErrorOptions) {
    super(`membership file ${file} ${detail}; restore it from a backup, or move it away and run \`peer join <invite>\` (or \`peer init\`) again`, options)
  }
}

export class SwarmRootFileError extends SwarmflowError {
  constructor (file: string, detail: string, options?: ErrorOptions) {
    super(`swarm root key file ${file} ${detail}; restore it from a backup (without it no new root-signed certificates can be made, existing admins can still invite)`, options)
  }
}

export class NotAdminError extends SwarmflowError {
  constructor (action: string, subject: string) {
    super(`${action} needs the 'admin' role, and ${subject} does not hold it; run this on an admin device, or ask an admin for an invite made with --admin`)
  }
}

/** A key handed to this library has the wrong size or form (a programming or file error). */
export class InvalidKeyError extends SwarmflowError {
  constructor (what: string, detail: string) {
    super(`${what} ${detail}; ed25519 seeds and public keys are 32 bytes`)
  }
}
