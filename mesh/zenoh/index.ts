/**
 * The data plane: a Zenoh router in every peer (zenoh-ts remote-api endpoint + routing over the
 * mesh), the optional zenohd backbone bridge, and the swarm key space.
 */
export { createZenohRouter } from './router.ts'
export { createBackbone } from './backbone.ts'
export { ZENOH_MESH_PROTOCOL, ZENOH_MESH_PROTOCOL as ZENOH_PROTOCOL } from './mesh-proto.ts'
export * from './keys.ts'
export { InvalidKeySegmentError, ZenohRouterConfigError, ZenohListenError, BackboneConnectError, BackboneConfigError } from './errors.ts'
export type {
  ZenohRouter, ZenohRouterConfig, ZenohRouterDeps, ZenohRouterCounters, ZenohRouterStatus,
  Backbone, BackboneConfig, BackboneDeps, BackboneCounters, LocalClient, LocalClientSession,
} from './interfaces.ts'
