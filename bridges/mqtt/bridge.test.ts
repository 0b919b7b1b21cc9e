import { describe, it, expect } from 'vitest'
import mqtt from 'mqtt'
import { Config, Session, type Sample } from '@eclipse-zenoh/zenoh-ts'
import { startRouter, Inbox } from '../../mesh/zenoh/test-helpers.ts'
import { startMosquitto, mosquittoPath } from '../../tools/bench/mqtt.ts'
import { silentLogger } from '../../common/log.ts'
import { createMqttBridge, BridgeConfigError } from '../index.ts'

const skip = mosquittoPath() === undefined
if (skip) console.log('mqtt bridge test skipped: mosquitto is not installed (apt-get install mosquitto; .ci/run does)')

describe.skipIf(skip)('MQTT bridge against a real mosquitto', () => {
  it('carries samples both ways under the prefixes, bytes and encoding unchanged, without loops', async () => {
    await using router = await startRouter('12D3KooWBridgeTestPeer')
    const broker = await startMosquitto()
    const url = `mqtt://127.0.0.1:${broker.port}`
    const bridge = createMqttBridge({ zenoh: router.url as string, mqtt: url, keyPrefix: 'swarmflow/s1/flows/demo', topicPrefix: 'robots/demo' }, { logger: silentLogger() })
    const z = await Session.open(new Config(router.url as string))
    const m = await mqtt.connectAsync(url, { protocolVersion: 5 })
    try {
      await bridge.start()
      const fromBroker = new Inbox<{ topic: string, payload: Buffer, type?: string }>()
      m.on('message', (topic, payload, packet) => fromBroker.push({ topic, payload, type: packet.properties?.contentType }))
      await m.subscribeAsync('robots/#')
      const inSwarm = new Inbox<Sample>()
      await z.declareSubscriber('swarmflow/s1/flows/demo/**', { handler: (s: Sample) => inSwarm.push(s) })

      // swarm → broker
      const bytes = new Uint8Array([0xff, 0, 1, 2, 3])
      await z.put('swarmflow/s1/flows/demo/nodes/camera/outputs/image', bytes, { encoding: 'application/vnd.apache.arrow.stream' })
      const got = await fromBroker.next(5000, 'sample on the broker')
      expect(got.topic).toBe('robots/demo/nodes/camera/outputs/image')
      expect([...got.payload]).toEqual([...bytes])
      expect(got.type).toBe('application/vnd.apache.arrow.stream')

      // broker → swarm
      await m.publishAsync('robots/demo/commands/stop', Buffer.from('now'), { properties: { contentType: 'text/plain' } })
      let s = await inSwarm.next(5000, 'sample in the swarm')
      while (s.keyexpr().toString() !== 'swarmflow/s1/flows/demo/commands/stop') s = await inSwarm.next(5000, 'the command')
      expect(s.payload().toString()).toBe('now')
      expect(s.encoding().toString()).toBe('text/plain')

      // no loops: each message crossed once, and the bridge saw its own copies come back
      await new Promise(resolve => setTimeout(resolve, 300)) // a looping copy would arrive within this window
      expect(fromBroker.size).toBe(1) // our own publish of the command on robots/demo/commands/stop, seen by the test client
      expect(bridge.counters.toMqtt).toBe(1)
      expect(bridge.counters.fromMqtt).toBe(1)
    } finally {
      await bridge.stop()
      await m.endAsync()
      await z.close()
      await broker.stop()
    }
  })

  it('refuses bad configuration with a typed error', () => {
    expect(() => createMqttBridge({ zenoh: 'http://x', mqtt: 'mqtt://x:1', keyPrefix: 'a' }, { logger: silentLogger() })).toThrow(BridgeConfigError)
    expect(() => createMqttBridge({ zenoh: 'ws://x:1', mqtt: 'tcp://x', keyPrefix: 'a' }, { logger: silentLogger() })).toThrow(BridgeConfigError)
    expect(() => createMqttBridge({ zenoh: 'ws://x:1', mqtt: 'mqtt://x:1', keyPrefix: 'a/**' }, { logger: silentLogger() })).toThrow(/without wildcards/)
  })
})
