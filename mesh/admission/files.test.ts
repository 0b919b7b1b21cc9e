import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { mkdtemp, rm, stat, writeFile, readFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  MEMBERSHIP_FILE, SWARM_ROOT_FILE, MembershipFileError, SwarmRootFileError, createSwarmRoot, issueRootCertificate,
  loadMembership, loadSwarmRoot, readMembershipIfPresent, saveMembership, saveSwarmRoot, signerFromSeed, randomSeed,
  verifyCertificate, type MembershipState,
} from './index.ts'

let dir: string
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'sf-admission-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

function initState (): { state: MembershipState, root: ReturnType<typeof createSwarmRoot> } {
  const root = createSwarmRoot()
  const me = signerFromSeed(randomSeed())
  const certificate = issueRootCertificate(root, me.publicKey, { name: 'base', swarmName: 'lab' })
  return { root, state: { v: 1, swarmName: 'lab', swarmId: root.swarmId, swarmPublicKey: root.publicKeyHex, certificate, bootstrap: ['/ip4/10.0.0.1/tcp/4001'] } }
}

describe('swarm root key file', () => {
  it('is saved once with mode 0600 and loads to the same swarm', async () => {
    const dataDir = join(dir, 'd')
    const root = createSwarmRoot()
    expect(await loadSwarmRoot(dataDir)).toBeUndefined()
    await saveSwarmRoot(dataDir, root)
    const file = join(dataDir, SWARM_ROOT_FILE)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700)
    const back = await loadSwarmRoot(dataDir)
    expect(back?.swarmId).toBe(root.swarmId)
    expect(back?.publicKeyHex).toBe(root.publicKeyHex)
    await expect(saveSwarmRoot(dataDir, createSwarmRoot())).rejects.toBeInstanceOf(SwarmRootFileError)
    expect(new Uint8Array(await readFile(file))).toEqual(root.seed)
    // no temp files left behind
    expect(await readdir(dataDir)).toEqual([SWARM_ROOT_FILE])
  })

  it('a wrong-size root key is a typed error naming the file', async () => {
    await writeFile(join(dir, SWARM_ROOT_FILE), 'not a key')
    const err = await loadSwarmRoot(dir).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SwarmRootFileError)
    expect((err as Error).message).toContain(join(dir, SWARM_ROOT_FILE))
  })
})

describe('membership file', () => {
  it('round-trips and the certificate still verifies', async () => {
    const { state, root } = initState()
    expect(await readMembershipIfPresent(dir)).toBeUndefined()
    await expect(loadMembership(dir)).rejects.toBeInstanceOf(MembershipFileError)
    await saveMembership(dir, state)
    const back = await loadMembership(dir)
    expect(back).toEqual(state)
    expect(verifyCertificate(back.certificate, { swarmPublicKey: back.swarmPublicKey }).isAdmin).toBe(true)
    expect(back.swarmId).toBe(root.swarmId)
    expect(JSON.parse(await readFile(join(dir, MEMBERSHIP_FILE), 'utf8')).certificate).toMatch(/^[A-Za-z0-9_-]+$/)
    // overwrite is atomic and leaves no temp files
    await saveMembership(dir, { ...state, bootstrap: [] })
    expect((await loadMembership(dir)).bootstrap).toEqual([])
    expect(await readdir(dir)).toEqual([MEMBERSHIP_FILE])
  })

  it('corrupt or inconsistent files are typed errors naming the file', async () => {
    const { state } = initState()
    await saveMembership(dir, state)
    const file = join(dir, MEMBERSHIP_FILE)
    const good = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
    const other = initState().state
    const variants: unknown[] = [
      '{ not json', 'null', { ...good, v: 2 }, { ...good, swarmId: other.swarmId }, { ...good, swarmPublicKey: other.swarmPublicKey },
      { ...good, certificate: 'garbage!' }, { ...good, certificate: 42 }, { ...good, swarmName: '' }, { ...good, bootstrap: ['not-an-addr'] },
    ]
    for (const v of variants) {
      await writeFile(file, typeof v === 'string' ? v : JSON.stringify(v))
      const err = await loadMembership(dir).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(MembershipFileError)
      expect((err as Error).message).toContain(file)
    }
    await expect(saveMembership(dir, { ...state, swarmId: other.swarmId })).rejects.toBeInstanceOf(MembershipFileError)
  })
})
