/**
 * MQTT bridge: Zenoh keys under a prefix ⇄ MQTT topics under a prefix, both ways. Payload bytes
 * cross unchanged (Arrow IPC stays Arrow IPC); the Zenoh encoding travels as the MQTT v5 content
 * type and back.
 *
 * Loop prevention: what the bridge publishes carries its mark — an MQTT v5 user property, a Zenoh
 * attachment — and anything arriving with the mark is not sent back. On the Zenoh side the
 * subscriber also ignores the bridge's own session (locality REMOTE).
 */
import { randomBytes } from 'node:crypto'
import mqtt, { type MqttClient } from 'mqtt'
import { Config, KeyExpr, Locality, SampleKind, Session, type Sample, type Subscriber } from '@eclipse-zenoh/zenoh-ts'
import type { MqttBridge, MqttBridgeConfig, MqttBridgeCounters, MqttBridgeDeps } from '../interfaces.ts'
import { BridgeConfigError, BridgeConnectError } from '../errors.ts'

const MARK_PROPERTY = 'sf-bridge'
const WILDCARDS = /[*$?#+]/

export function createMqttBridge (config: MqttBridgeConfig, deps: MqttBridgeDeps): MqttBridge {
  const log = deps.logger
  if (!/^wss?:\/\/[^/]+/.test(config.zenoh)) throw new BridgeConfigError(`zenoh endpoint "${config.zenoh}" is not ws://HOST:PORT; use the peer's 'zenoh' from 'peer status --json'`)
  if (!/^mqtts?:\/\/[^/]+/.test(config.mqtt)) throw new BridgeConfigError(`broker "${config.mqtt}" is not mqtt://HOST:PORT`)
  const keyPrefix = config.keyPrefix.replace(/\/+$/, '')
  const topicPrefix = (config.topicPrefix ?? keyPrefix).replace(/\/+$/, '')
  if (keyPrefix === '' || WILDCARDS.test(keyPrefix)) throw new BridgeConfigError(`key prefix "${config.keyPrefix}" must be a plain key without wildcards (e.g. swarmflow/<swarm>/flows/demo)`)
  if (topicPrefix === '' || WILDCARDS.test(topicPrefix)) throw new BridgeConfigError(`topic prefix "${config.topicPrefix}" must be a plain topic without wildcards`)
  try { void new KeyExpr(keyPrefix) } catch (err) { throw new BridgeConfigError(`key prefix "${keyPrefix}" is not a valid key expression: ${(err as Error).message}`) }

  const mark = randomBytes(8).toString('hex')
  const markBytes = new TextEncoder().encode(`${MARK_PROPERTY}:${mark}`)
  const queueLimit = config.queueLimit ?? 1000
  const counters: MqttBridgeCounters = { toMqtt: 0, fromMqtt: 0, loopsSuppressed: 0, dropped: 0 }
  let session: Session | undefined
  let sub: Subscriber | undefined
  let client: MqttClient | undefined

  const isOurs = (att: Uint8Array | undefined): boolean => att !== undefined && att.length === markBytes.length && att.every((b, i) => b === markBytes[i])

  const toMqtt = (s: Sample): void => {
    if (isOurs(s.attachment()?.toBytes())) { counters.loopsSuppressed++; return }
    const key = s.keyexpr().toString()
    const topic = topicPrefix + key.slice(keyPrefix.length)
    const c = client
    if (c === undefined) return
    // mqtt.js queues while disconnected; bound it (drop-newest) so a lost broker cannot grow memory
    if (!c.connected && c.queue.length >= queueLimit) { counters.dropped++; return }
    const payload = s.kind() === SampleKind.DELETE ? Buffer.alloc(0) : Buffer.from(s.payload().toBytes())
    c.publish(topic, payload, { qos: 0, retain: false, properties: { contentType: s.encoding().toString(), userProperties: { [MARK_PROPERTY]: mark } } }, (err) => {
      if (err) { counters.dropped++; log.debug({ err: err.message, topic }, 'mqtt publish failed') } else counters.toMqtt++
    })
  }

  const fromMqtt = (topic: string, payload: Buffer, packet: { properties?: { userProperties?: Record<string, string | string[]>, contentType?: string } }): void => {
    const props = packet.properties?.userProperties?.[MARK_PROPERTY]
    if (props === mark || (Array.isArray(props) && props.includes(mark))) { counters.loopsSuppressed++; return }
    if (!topic.startsWith(`${topicPrefix}/`)) return
    const rest = topic.slice(topicPrefix.length)
    if (WILDCARDS.test(rest) || rest.includes('//')) { counters.dropped++; log.warn({ topic }, 'mqtt topic is not a valid zenoh key; dropped'); return }
    const s = session
    if (s === undefined) return
    const encoding = packet.properties?.contentType
    s.put(keyPrefix + rest, payload, { attachment: markBytes, ...(encoding ? { encoding } : {}) }).then(() => { counters.fromMqtt++ }, (err: unknown) => {
      counters.dropped++
      log.debug({ err: String(err), topic }, 'zenoh put from mqtt failed')
    })
  }

  return {
    counters,
    async start () {
      if (session) return
      try {
        session = await Session.open(new Config(config.zenoh))
      } catch (err) {
        throw new BridgeConnectError(`could not open a zenoh session on ${config.zenoh}: ${(err as Error).message}; is the peer running?`, { cause: err })
      }
      try {
        client = await mqtt.connectAsync(config.mqtt, { protocolVersion: 5, reconnectPeriod: 1000, connectTimeout: 5000 })
      } catch (err) {
        await session.close().catch(() => {})
        session = undefined
        throw new BridgeConnectError(`could not connect to the broker ${config.mqtt}: ${(err as Error).message}`, { cause: err })
      }
      client.on('message', fromMqtt)
      client.on('error', (err) => log.warn({ err: err.message }, 'mqtt client error'))
      await client.subscribeAsync(`${topicPrefix}/#`, { qos: 0, nl: true })
      sub = await session.declareSubscriber(`${keyPrefix}/**`, { allowedOrigin: Locality.REMOTE, handler: toMqtt })
      log.info({ zenoh: config.zenoh, mqtt: config.mqtt, keyPrefix, topicPrefix }, 'mqtt bridge running')
    },
    async stop () {
      await sub?.undeclare().catch(() => {})
      sub = undefined
      await client?.endAsync().catch(() => {})
      client = undefined
      if (session && !session.isClosed()) await session.close().catch(() => {})
      session = undefined
    },
  }
}
