/**
 * The identity seed drives a real libp2p host: the Noise-authenticated remote peer id is the
 * member key the certificate names, so the gater and the hello check can bind the two.
 */
import { describe, it, expect, afterEach } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMeshHost, type MeshHost } from '../../mesh/index.ts'
import { silentLogger } from '../../common/log.ts'
import {
  createSwarmRoot, issueRootCertificate, certificateToString, createCertificateVerifier, createInvite, decodeInviteToken,
  redeemInvite, CertificatePeerMismatchError,
} from '../../mesh/admission/index.ts'
import { loadOrCreateIdentity, publicKeyHexFromPeerId } from './index.ts'

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c().catch(() => {}) })

async function waitFor (what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

describe('identity on a real libp2p host', () => {
  it('the remote peer id seen over Noise maps to the certified member key; revocation drives the gater', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sf-id-libp2p-'))
    cleanup.push(() => rm(dir, { recursive: true, force: true }))
    const alice = await loadOrCreateIdentity(join(dir, 'alice'))
    const bob = await loadOrCreateIdentity(join(dir, 'bob'))
    const root = createSwarmRoot()
    const bobCert = issueRootCertificate(root, bob.publicKey, { name: 'bob', swarmName: 'lab' })
    const aliceCert = redeemInvite(decodeInviteToken(createInvite(bob, bobCert, { swarmPublicKey: root.publicKeyHex }).token), alice, { name: 'alice' }).certificate
    const revoked = new Set<string>()
    const isDenied = (peer: string): boolean => revoked.has(publicKeyHexFromPeerId(peer) ?? '')

    const hosts: MeshHost[] = []
    for (const id of [alice, bob]) {
      const h = await createMeshHost({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false }, { logger: silentLogger(), privateKey: id.libp2pKey, isDenied })
      await h.start()
      cleanup.push(() => h.stop())
      hosts.push(h)
    }
    const [a, b] = hosts as [MeshHost, MeshHost]
    expect(a.peerId).toBe(alice.peerId)
    expect(b.peerId).toBe(bob.peerId)

    const bobAddr = b.multiaddrs().find(x => x.includes('127.0.0.1')) as string
    expect(await a.dial(bobAddr, { remember: false })).toBe(bob.peerId)
    await waitFor('bob sees alice', () => b.connectedPeers().includes(alice.peerId))

    const verifier = createCertificateVerifier({ swarmPublicKey: root.publicKeyHex }, { logger: silentLogger(), publicKeyOfPeer: publicKeyHexFromPeerId, revoked })
    const remote = b.connectedPeers()[0] as string
    const ok = verifier.verifyPresented(remote, certificateToString(aliceCert))
    expect(ok.ok && ok.member.name).toBe('alice')
    // bob's own certificate presented over alice's connection is refused
    const stolen = verifier.verifyPresented(remote, certificateToString(bobCert))
    expect(stolen.ok).toBe(false)
    if (!stolen.ok) expect(stolen.error).toBeInstanceOf(CertificatePeerMismatchError)

    revoked.add(alice.publicKeyHex)
    expect(verifier.verifyPresented(remote, certificateToString(aliceCert)).ok).toBe(false)
    await b.hangUp(alice.peerId)
    await waitFor('alice disconnected', () => !a.connectedPeers().includes(bob.peerId))
    // bob's gater refuses alice's next connection once Noise reveals her key: it never reaches bob
    let bobSawAlice = 0
    b.onConnect(peer => { if (peer === alice.peerId) bobSawAlice++ })
    await a.dial(bobAddr, { remember: false }).catch(() => undefined)
    await waitFor('alice\'s refused connection closed', () => !a.connectedPeers().includes(bob.peerId))
    expect(bobSawAlice).toBe(0)
    expect(b.connectedPeers()).not.toContain(alice.peerId)
  })
})
