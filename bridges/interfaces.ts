/** Contracts of the bridges: clients of the swarm's data plane that carry it to other systems. */
import type { Logger } from '../common/log.ts'

export interface MqttBridgeConfig {
  /** The local peer's zenoh-ts endpoint, ws://HOST:PORT (`peer status --json` → zenoh). */
  zenoh: string
  /** The broker, mqtt://HOST:PORT (or mqtts://). */
  mqtt: string
  /**
   * Zenoh key prefix bridged both ways, without wildcards, e.g. `swarmflow/<swarm>/flows/demo`.
   * Key `<prefix>/a/b` ⇄ topic `<topicPrefix>/a/b`.
   */
  keyPrefix: string
  /** MQTT topic prefix; default: the key prefix. */
  topicPrefix?: string
  /** Samples queued toward the broker while it is unreachable before the oldest are dropped. Default 1000. */
  queueLimit?: number
}

export interface MqttBridgeCounters {
  toMqtt: number
  fromMqtt: number
  /** Messages that carried this bridge's own mark: already crossed, not sent back. */
  loopsSuppressed: number
  /** Messages dropped (queue full while the broker is away, or a failed publish). */
  dropped: number
}

export interface MqttBridge {
  start(): Promise<void>
  stop(): Promise<void>
  readonly counters: Readonly<MqttBridgeCounters>
}

export interface MqttBridgeDeps { logger: Logger }
