/** The swarm document: schema, deterministic genesis, authorship checks, sync over mesh channels, persistence. */
export { createSwarmDocument } from './swarm-document.ts'
export { DOC_PROTOCOL } from './wire.ts'
export { GENESIS_ACTOR, genesisChange, genesisHash, swarmDocumentId } from './genesis.ts'
export { ActorCertificateError, DocumentStorageError, InvalidRecordError, SwarmDocumentNotStartedError } from './errors.ts'
export type * from './interfaces.ts'
