/**
 * Secret and state files in the data dir. Writes are atomic (temp file, fsync, rename or link)
 * so a crash never leaves a half-written key; the data dir is created 0700 and secrets 0600.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, unlink, link, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { MembershipState, SwarmRoot } from './interfaces.ts'
import { MembershipFileError, SwarmRootFileError } from './errors.ts'
import { WireFormatError, checkBootstrap, checkName, checkSwarmId, fromHex } from './encoding.ts'
import { certificateFromString, certificateToString } from './certificates.ts'
import { swarmIdFromPublicKey, swarmRootFromSeed } from './keys.ts'

export const SWARM_ROOT_FILE = 'swarm-root.key'
export const MEMBERSHIP_FILE = 'membership.json'

type MakeError = (detail: string, cause?: unknown) => Error

function code (err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined
}

async function writeTemp (path: string, data: Uint8Array, mode: number): Promise<string> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  const fh = await open(tmp, 'wx', mode)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  return tmp
}

async function syncDir (dir: string): Promise<void> {
  // Makes the rename durable; not supported everywhere (e.g. some network filesystems), so best effort.
  try {
    const fh = await open(dir, 'r')
    try { await fh.sync() } finally { await fh.close() }
  } catch {}
}

/** Replaces `path` atomically. */
export async function writeFileAtomic (path: string, data: Uint8Array, mode = 0o600): Promise<void> {
  const tmp = await writeTemp(path, data, mode)
  try {
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  await syncDir(dirname(path))
}

/**
 * Creates `path` atomically only if it does not exist (hard link refuses to clobber, even when
 * two processes race). Returns false when it already existed.
 */
export async function createFileExclusive (path: string, data: Uint8Array, mode = 0o600): Promise<boolean> {
  const tmp = await writeTemp(path, data, mode)
  try {
    await link(tmp, path)
    await syncDir(dirname(path))
    return true
  } catch (err) {
    if (code(err) === 'EEXIST') return false
    throw err
  } finally {
    await unlink(tmp).catch(() => {})
  }
}

/** Reads a 32-byte raw key file; every failure goes through `makeError` naming what to do. */
export async function readKeyFile (path: string, makeError: MakeError): Promise<{ seed: Uint8Array, mode: number } | undefined> {
  let data: Buffer
  let mode: number
  try {
    mode = (await stat(path)).mode & 0o777
    data = await readFile(path)
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined
    throw makeError(`cannot be read (${code(err) ?? 'error'})`, err)
  }
  if (data.length !== 32) throw makeError(`holds ${data.length} bytes, not a 32-byte ed25519 seed (corrupt or not a swarmflow key)`)
  return { seed: new Uint8Array(data), mode }
}

// ---- swarm root ------------------------------------------------------------------------------

/** Stores the root key (`peer init`). Refuses to overwrite an existing one. */
export async function saveSwarmRoot (dataDir: string, root: SwarmRoot): Promise<void> {
  const file = join(dataDir, SWARM_ROOT_FILE)
  let created: boolean
  try {
    created = await createFileExclusive(file, root.seed, 0o600)
  } catch (err) {
    throw new SwarmRootFileError(file, `cannot be written (${code(err) ?? 'error'})`, { cause: err })
  }
  if (!created) throw new SwarmRootFileError(file, 'already exists, this data dir already created a swarm; use another --data-dir for a new swarm')
}

/** The root key, or undefined when this device did not create the swarm. */
export async function loadSwarmRoot (dataDir: string): Promise<SwarmRoot | undefined> {
  const file = join(dataDir, SWARM_ROOT_FILE)
  const key = await readKeyFile(file, (detail, cause) => new SwarmRootFileError(file, detail, { cause }))
  return key === undefined ? undefined : swarmRootFromSeed(key.seed)
}

// ---- membership ------------------------------------------------------------------------------

interface MembershipJson {
  v: 1
  swarmName: string
  swarmId: string
  swarmPublicKey: string
  /** base64url certificate string, the same form the swarm document stores. */
  certificate: string
  bootstrap?: string[]
}

export async function saveMembership (dataDir: string, state: MembershipState): Promise<void> {
  const file = join(dataDir, MEMBERSHIP_FILE)
  let json: MembershipJson
  try {
    json = { v: 1, swarmName: state.swarmName, swarmId: state.swarmId, swarmPublicKey: state.swarmPublicKey, certificate: certificateToString(state.certificate) }
    if (state.bootstrap !== undefined) json.bootstrap = state.bootstrap
    validateMembership(json)
  } catch (err) {
    throw new MembershipFileError(file, `cannot be written: ${err instanceof Error ? err.message : 'invalid state'}`, { cause: err })
  }
  try {
    await writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(json, null, 2) + '\n'), 0o600)
  } catch (err) {
    throw new MembershipFileError(file, `cannot be written (${code(err) ?? 'error'})`, { cause: err })
  }
}

function validateMembership (raw: unknown): MembershipState {
  if (typeof raw !== 'object' || raw === null) throw new WireFormatError('is not a JSON object')
  const j = raw as Partial<MembershipJson>
  if (j.v !== 1) throw new WireFormatError(`has unsupported version ${String(j.v)}`)
  const swarmName = checkName(j.swarmName, 'swarmName')
  const swarmId = checkSwarmId(j.swarmId)
  fromHex(j.swarmPublicKey, 32, 'swarmPublicKey')
  const swarmPublicKey = j.swarmPublicKey as string
  if (swarmIdFromPublicKey(swarmPublicKey) !== swarmId) throw new WireFormatError('swarmId does not match swarmPublicKey')
  if (typeof j.certificate !== 'string') throw new WireFormatError('certificate must be a string')
  const certificate = certificateFromString(j.certificate)
  if (certificate.swarmId !== swarmId) throw new WireFormatError('certificate belongs to another swarm')
  const state: MembershipState = { v: 1, swarmName, swarmId, swarmPublicKey, certificate }
  if (j.bootstrap !== undefined) state.bootstrap = checkBootstrap(j.bootstrap)
  return state
}

/**
 * Reads `membership.json`; undefined when it does not exist (device not yet in a swarm).
 * Structure and swarm consistency are checked; call verifyCertificate for trust and expiry.
 */
export async function readMembershipIfPresent (dataDir: string): Promise<MembershipState | undefined> {
  const file = join(dataDir, MEMBERSHIP_FILE)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined
    throw new MembershipFileError(file, `cannot be read (${code(err) ?? 'error'})`, { cause: err })
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new MembershipFileError(file, 'is not valid JSON (corrupt)', { cause: err })
  }
  try {
    return validateMembership(raw)
  } catch (err) {
    throw new MembershipFileError(file, `is invalid: ${err instanceof Error ? err.message : 'bad structure'}`, { cause: err })
  }
}

/** Like readMembershipIfPresent, but a missing file is a MembershipFileError too. */
export async function loadMembership (dataDir: string): Promise<MembershipState> {
  const state = await readMembershipIfPresent(dataDir)
  if (state === undefined) throw new MembershipFileError(join(dataDir, MEMBERSHIP_FILE), 'does not exist: this device is not in a swarm yet')
  return state
}
