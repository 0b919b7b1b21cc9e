import { SwarmflowError } from '../../common/errors.ts'

/** A key segment given to a key builder is empty or contains characters Zenoh reserves. */
export class InvalidKeySegmentError extends SwarmflowError {
  constructor (what: string, value: string) {
    super(`invalid ${what} ${JSON.stringify(value)} for a swarm key: a segment must be non-empty and contain none of / * $ ? # (use ids such as "camera-1")`)
  }
}

/** The router configuration is unusable (bad listen address, bad limits). */
export class ZenohRouterConfigError extends SwarmflowError {}

/** The WebSocket endpoint could not bind its address. */
export class ZenohListenError extends SwarmflowError {
  constructor (address: string, options?: ErrorOptions) {
    super(`zenoh endpoint could not listen on ${address}; pick a free port (0 lets the OS choose) or another address`, options)
  }
}

/** The backbone (zenohd remote-api) could not be reached or its session failed. */
export class BackboneConnectError extends SwarmflowError {
  constructor (url: string, options?: ErrorOptions) {
    super(`could not open a zenoh session on the backbone router ${url}; check that zenohd runs with the remote-api plugin on that address`, options)
  }
}

/** A backbone configuration value is unusable. */
export class BackboneConfigError extends SwarmflowError {}
