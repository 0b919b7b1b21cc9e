import { SwarmflowError } from '../common/errors.ts'

export class BridgeConfigError extends SwarmflowError {}
export class BridgeConnectError extends SwarmflowError {}
