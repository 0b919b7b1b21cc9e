/** Bridges: clients of the swarm's data plane that carry it to and from other systems. */
export { createMqttBridge } from './mqtt/bridge.ts'
export { BridgeConfigError, BridgeConnectError } from './errors.ts'
export type { MqttBridge, MqttBridgeConfig, MqttBridgeCounters, MqttBridgeDeps } from './interfaces.ts'
