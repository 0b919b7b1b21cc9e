import type { Logger } from '../../common/log.ts'
import type { PeerConfig } from '../config/index.ts'
import type { PeerRuntime } from './peer.ts'
import { createZenohRouter, createBackbone, ZENOH_PROTOCOL, type ZenohRouter, type Backbone } from '../../mesh/zenoh/index.ts'
import { createFlowManager, type FlowManager } from '../flows/index.ts'
import { createMqttBridge, type MqttBridge } from '../../bridges/index.ts'

export interface FlowLayer {
  readonly router: ZenohRouter
  readonly manager: FlowManager
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * The data plane and the dataflows on top of the peer runtime: the embedded Zenoh router (its
 * neighbours are the admitted members, withdrawn when liveness declares them dead), the optional
 * zenohd backbone, and the flow manager (election, supervisor, files, logs).
 */
export async function startFlowLayer (opts: { config: PeerConfig, runtime: PeerRuntime, logger: Logger, demo: boolean }): Promise<FlowLayer> {
  const { config, runtime, logger } = opts
  const log = logger.child({ component: 'flows' })
  const router = createZenohRouter({ listen: config.zenohListen }, { logger: logger.child({ component: 'zenoh' }), peerId: runtime.peerId })
  let backbone: Backbone | undefined
  let mqttBridge: MqttBridge | undefined
  const manager = createFlowManager({ config, demo: opts.demo }, { logger: logger.child({ component: 'flow-manager' }), runtime, router })
  let started = false
  const unsubs: Array<() => void> = []

  return {
    router,
    manager,
    async start () {
      if (started) return
      started = true
      await router.start()
      if (!/^(127\.|localhost|\[::1\])/.test(config.zenohListen)) log.warn({ listen: config.zenohListen }, 'zenoh endpoint bound to a non-loopback address: remote-api sessions carry no credentials')
      // Channel limit above the router's largest mesh frame (8 MiB), so it drops and counts instead.
      const frames = { maxFrameBytes: 9 * 1024 * 1024 }
      await runtime.handleMembers(ZENOH_PROTOCOL, ch => router.attachNeighbour(ch), frames)
      runtime.keepChannels(ZENOH_PROTOCOL, ch => router.attachNeighbour(ch), frames)
      unsubs.push(runtime.liveness.onChange((peer, state) => { if (state === 'dead') router.detachNeighbour(peer) }))
      runtime.addRoutes({ 'GET /zenoh': async () => router.status() })
      runtime.extendStatus(() => ({ zenoh: router.url }))
      runtime.addMetrics('zenoh', () => router.counters)
      if (config.zenohRouter) {
        backbone = createBackbone({ url: config.zenohRouter, prefix: config.zenohPrefix }, { router, logger: logger.child({ component: 'backbone' }) })
        await backbone.start()
        const bb = backbone
        runtime.addMetrics('backbone', () => bb.counters)
      }
      if (config.mqtt) {
        const keyPrefix = config.mqttKeyPrefix ?? `swarmflow/${runtime.doc.getSwarm().id}`
        mqttBridge = createMqttBridge({ zenoh: router.url as string, mqtt: config.mqtt, keyPrefix, ...(config.mqttTopicPrefix ? { topicPrefix: config.mqttTopicPrefix } : {}) }, { logger: logger.child({ component: 'mqtt-bridge' }) })
        await mqttBridge.start()
        const mb = mqttBridge
        runtime.addMetrics('mqtt', () => mb.counters)
      }
      await manager.start()
      log.info({ zenoh: router.url }, 'data plane ready')
    },
    async stop () {
      if (!started) return
      started = false
      for (const u of unsubs.splice(0)) u()
      await manager.stop().catch(err => log.warn({ err }, 'flow manager stop failed'))
      await backbone?.stop().catch(err => log.warn({ err }, 'backbone stop failed'))
      await mqttBridge?.stop().catch(err => log.warn({ err }, 'mqtt bridge stop failed'))
      await router.stop()
    },
  }
}
