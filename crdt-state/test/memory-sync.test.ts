import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../common/log.ts'
import { createSwarmDocument } from '../swarm-document.ts'
import type { MemberRecord, SwarmDocument } from '../interfaces.ts'
import { memoryChannelPair, newTestMember, TestRoster, waitForChange, type TestMember } from '../testing.ts'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

async function tmp (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'crdt-mem-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

export function member (peerId: string, m: TestMember, extra: Partial<MemberRecord> = {}): MemberRecord {
  return {
    peerId, publicKey: m.publicKeyHex, certificate: 'cert-' + peerId, name: peerId, caps: ['cpu'], labels: { zone: 'a' },
    resources: { cpu: 2 }, addresses: [], softwareVersion: '0.1.0', joinedAt: 1, updatedAt: 1, ...extra,
  }
}

async function peer (roster: TestRoster, peerId: string, dataDir?: string): Promise<{ doc: SwarmDocument, key: TestMember }> {
  const key = roster.add(newTestMember())
  const doc = createSwarmDocument({ swarmId: 'swarm-mem', swarmName: 'mem', dataDir: dataDir ?? await tmp() }, { logger: silentLogger(), peerId, authz: roster.authzFor(key) })
  await doc.start()
  cleanups.push(() => doc.stop())
  return { doc, key }
}

describe('swarm document over in-memory channels', () => {
  it('syncs members both ways and keeps both sides of concurrent writes', async () => {
    const roster = new TestRoster()
    const a = await peer(roster, 'peer-a')
    const b = await peer(roster, 'peer-b')
    a.doc.upsertMember(member('peer-a', a.key))
    b.doc.upsertMember(member('peer-b', b.key))
    const [ca, cb] = memoryChannelPair('peer-a', 'peer-b')
    a.doc.attachPeer(ca)
    b.doc.attachPeer(cb)
    await waitForChange(a.doc, 'a sees b', () => a.doc.getMember('peer-b') !== undefined)
    await waitForChange(b.doc, 'b sees a', () => b.doc.getMember('peer-a') !== undefined)
    expect(a.doc.listMembers().map(m => m.peerId).sort()).toEqual(['peer-a', 'peer-b'])
    expect(b.doc.heads()).toEqual(a.doc.heads())
    expect(a.doc.getSwarm()).toEqual({ id: 'swarm-mem', name: 'mem' })
    expect(a.doc.counters().dropped.unauthorized).toBe(0)
  })
})
