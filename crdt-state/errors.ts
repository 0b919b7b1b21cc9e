import { SwarmflowError } from '../common/errors.ts'

/** A method that needs the loaded document was called before `start()` finished (or after `stop()`). */
export class SwarmDocumentNotStartedError extends SwarmflowError {
  constructor (operation: string) {
    super(`swarm document: ${operation} needs a started document; await doc.start() (or doc.whenReady()) first`)
  }
}

/** The document on disk could not be read or written at start. */
export class DocumentStorageError extends SwarmflowError {
  constructor (dir: string, options?: ErrorOptions) {
    super(`swarm document: cannot load or create the document in ${dir}; check the data dir is writable and not corrupt (move it aside to resync from peers)`, options)
  }
}

/** A mutator was given a record that fails the schema (caller bug or bad user input). */
export class InvalidRecordError extends SwarmflowError {
  constructor (section: string, key: string, problem: string) {
    super(`swarm document: refusing to write ${section}[${JSON.stringify(key)}]: ${problem}; fix the record and retry`)
  }
}

/** `authz.certifyActor` failed, so this peer cannot sign its own changes. */
export class ActorCertificateError extends SwarmflowError {
  constructor (actorId: string, options?: ErrorOptions) {
    super(`swarm document: could not certify actor ${actorId} with the member key; check the identity files in the data dir`, options)
  }
}
