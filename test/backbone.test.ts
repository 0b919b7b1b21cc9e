/**
 * `--zenoh-router`: a peer joins an existing Zenoh router's remote-api (here another swarm's peer
 * endpoint stands in for zenohd) and bridges a key prefix both ways.
 */
import { describe, it, expect } from 'vitest'
import { runTool } from '../tools/zenoh/proc.ts'
import { TestPeer, peerCli, eventually } from './harness.ts'

describe('zenohd backbone bridging', () => {
  it('bridges the configured prefix both ways, once', async () => {
    await using backbone = new TestPeer({ name: 'zenohd-standin' })
    expect((await peerCli(['init', '--swarm', 'other', '--data-dir', backbone.dataDir, '--name', 'zenohd-standin'])).code).toBe(0)
    await backbone.start()
    const zenohd = (await backbone.status()).zenoh as string

    await using edge = new TestPeer({ name: 'edge', args: ['--zenoh-router', zenohd, '--zenoh-prefix', 'plant/**'] })
    expect((await peerCli(['init', '--swarm', 'robots', '--data-dir', edge.dataDir, '--name', 'edge'])).code).toBe(0)
    await edge.start()
    const local = (await edge.status()).zenoh as string

    // swarm → backbone
    await using subOnBackbone = runTool('z_sub', ['--connect', zenohd, '-k', 'plant/**'])
    await subOnBackbone.waitFor(/^ready/)
    await eventually(async () => {
      await using put = runTool('z_put', ['--connect', local, '-k', 'plant/line1/temp', '-p', '21.5'])
      await put.exited
      return subOnBackbone.lines.some(l => l.includes("'plant/line1/temp': '21.5'"))
    }, { timeoutMs: 15_000, what: 'swarm sample on the backbone' })

    // backbone → swarm
    await using subInSwarm = runTool('z_sub', ['--connect', local, '-k', 'plant/**'])
    await subInSwarm.waitFor(/^ready/)
    await eventually(async () => {
      await using put = runTool('z_put', ['--connect', zenohd, '-k', 'plant/line2/speed', '-p', '3'])
      await put.exited
      return subInSwarm.lines.some(l => l.includes("'plant/line2/speed': '3'"))
    }, { timeoutMs: 15_000, what: 'backbone sample in the swarm' })

    // outside the prefix nothing crosses; and no loop: each bridged sample arrives once
    await using put = runTool('z_put', ['--connect', local, '-k', 'plant/once', '-p', 'x'])
    await put.exited
    await subOnBackbone.waitFor(/'plant\/once': 'x'/, 5000)
    await using marker = runTool('z_put', ['--connect', local, '-k', 'plant/marker', '-p', 'm'])
    await marker.exited
    await subOnBackbone.waitFor(/'plant\/marker': 'm'/, 5000)
    expect(subOnBackbone.lines.filter(l => l.includes("'plant/once': 'x'"))).toHaveLength(1)
  }, 120_000)
})
