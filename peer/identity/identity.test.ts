import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { mkdtemp, rm, stat, writeFile, readFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nacl from 'tweetnacl'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  IDENTITY_FILE, IdentityFileError, InvalidPeerIdError, identityFromSeed, loadIdentity, loadOrCreateIdentity,
  peerIdFromPublicKey, publicKeyFromPeerId, publicKeyHexFromPeerId,
} from './index.ts'

let dir: string
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'sf-identity-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

describe('identity', () => {
  it('is created once (dir 0700, key 0600, 32 bytes) and stable across loads', async () => {
    const dataDir = join(dir, 'data')
    const a = await loadOrCreateIdentity(dataDir)
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700)
    const file = join(dataDir, IDENTITY_FILE)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(new Uint8Array(await readFile(file))).toEqual(a.seed)
    const b = await loadOrCreateIdentity(dataDir)
    const c = await loadIdentity(dataDir)
    expect(b.peerId).toBe(a.peerId)
    expect(c.publicKeyHex).toBe(a.publicKeyHex)
    expect(a.peerId).toMatch(/^12D3KooW/)
    expect(a.secretKey).toHaveLength(64)
  })

  it('concurrent first starts agree on one key', async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, async () => await loadOrCreateIdentity(dir)))
    expect(new Set(ids.map(i => i.peerId)).size).toBe(1)
  })

  it('the seed is the same key for tweetnacl and libp2p: signatures cross-verify, peer ids match', async () => {
    const id = await loadOrCreateIdentity(dir)
    const msg = new TextEncoder().encode('swarmflow')
    const ours = id.sign(msg)
    expect(nacl.sign.detached.verify(msg, ours, id.publicKey)).toBe(true)
    expect(await id.libp2pKey.publicKey.verify(msg, ours)).toBe(true)
    const theirs = await id.libp2pKey.sign(msg)
    expect(id.verify(msg, theirs)).toBe(true)
    expect(id.verify(msg, nacl.sign.detached(msg, id.secretKey))).toBe(true)
    expect(id.verify(new Uint8Array([1]), ours)).toBe(false)
    expect(id.libp2pKey.type).toBe('Ed25519')
    expect(new Uint8Array(id.libp2pKey.publicKey.raw)).toEqual(id.publicKey)
    expect(peerIdFromPublicKey(id.publicKey)).toBe(id.peerId)
    expect(peerIdFromPublicKey(id.publicKeyHex)).toBe(id.peerId)
    expect(publicKeyFromPeerId(id.peerId)).toEqual(id.publicKey)
    expect(publicKeyHexFromPeerId(id.peerId)).toBe(id.publicKeyHex)
    expect((await identityFromSeed(id.seed)).peerId).toBe(id.peerId)
    expect(peerIdFromString(id.peerId).equals(peerIdFromString(peerIdFromPublicKey(id.publicKey)))).toBe(true)
  })

  it('a corrupt, wrong-size or unreadable key file is a typed error naming the file, never replaced', async () => {
    const file = join(dir, IDENTITY_FILE)
    for (const size of [0, 31, 33, 64]) {
      await writeFile(file, new Uint8Array(size).fill(9), { mode: 0o600 })
      const err = await loadOrCreateIdentity(dir).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(IdentityFileError)
      expect((err as Error).message).toContain(file)
      expect((await readFile(file)).length).toBe(size)
    }
    await rm(file)
    await mkdir(file)
    const unreadable = await loadIdentity(dir).catch((e: unknown) => e)
    expect(unreadable).toBeInstanceOf(IdentityFileError)
    expect((unreadable as Error).message).toContain(file)
  })

  it('loadIdentity does not create; a loose file mode is reported to the logger', async () => {
    await expect(loadIdentity(dir)).rejects.toBeInstanceOf(IdentityFileError)
    await writeFile(join(dir, IDENTITY_FILE), new Uint8Array(32).fill(1), { mode: 0o644 })
    const warnings: object[] = []
    const id = await loadIdentity(dir, { logger: { warn: (o: object) => { warnings.push(o) } } })
    expect(id.seed).toEqual(new Uint8Array(32).fill(1))
    expect(warnings).toHaveLength(1)
  })

  it('peer id helpers reject foreign input with a typed error or undefined', () => {
    for (const bad of ['', 'hello', 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N', '12D3KooWxx']) {
      expect(() => publicKeyFromPeerId(bad)).toThrow(InvalidPeerIdError)
      expect(publicKeyHexFromPeerId(bad)).toBeUndefined()
    }
    expect(publicKeyHexFromPeerId(42)).toBeUndefined()
    expect(() => peerIdFromPublicKey(new Uint8Array(31))).toThrow(InvalidPeerIdError)
    expect(() => peerIdFromPublicKey('zz'.repeat(32))).toThrow(InvalidPeerIdError)
  })

  it('maps each peer id to its own key, also when asked again and after more ids than it remembers', () => {
    const keys = Array.from({ length: 5000 }, (_, i) => {
      const k = new Uint8Array(32)
      new DataView(k.buffer).setUint32(0, i + 1)
      return k
    })
    const ids = keys.map(k => peerIdFromPublicKey(k))
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < ids.length; i += 7) expect(publicKeyHexFromPeerId(ids[i])).toBe(Buffer.from(keys[i] as Uint8Array).toString('hex'))
    }
    // a near miss of a known id is not answered from memory
    const known = ids[0] as string
    const altered = known.slice(0, -1) + (known.endsWith('a') ? 'b' : 'a')
    expect(publicKeyHexFromPeerId(altered)).not.toBe(publicKeyHexFromPeerId(known))
  })
})
