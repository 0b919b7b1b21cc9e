/**
 * Record validation and encoding. Every record is stored as one Automerge immutable string holding
 * JSON: one op per write instead of one op per character (Automerge makes plain strings collaborative
 * text), and a record is replaced as a whole, so a reader never sees half of two concurrent writes.
 * Everything read back came from the network: each reader re-validates with the checks below.
 */
import * as A from '@automerge/automerge'
import type {
  ClaimRecord, DataflowRecord, FileRef, InstanceRecord, JsonValue, MemberRecord, RedemptionRecord, RevocationRecord,
} from './interfaces.ts'

/** Largest encoded record a mutator accepts; the document must stay small (ARCHITECTURE.md). */
export const MAX_RECORD_BYTES = 256 * 1024

/** A check returns null when valid, else what is wrong (used in logs and InvalidRecordError). */
export type Check = (x: unknown) => string | null

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
const isStr = (x: unknown): x is string => typeof x === 'string'
const isNonEmptyStr = (x: unknown): x is string => typeof x === 'string' && x.length > 0
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x)
const isHex = (x: unknown, bytes?: number): x is string =>
  typeof x === 'string' && /^[0-9a-f]*$/.test(x) && x.length > 0 && x.length % 2 === 0 && (bytes === undefined || x.length === bytes * 2)
const isStrArray = (x: unknown): x is string[] => Array.isArray(x) && x.every(isStr)
const isStrRecord = (x: unknown): x is Record<string, string> => isObj(x) && Object.values(x).every(isStr)

function firstProblem (pairs: Array<[boolean, string]>): string | null {
  for (const [ok, problem] of pairs) if (!ok) return problem
  return null
}

export const checkMember: Check = x => {
  if (!isObj(x)) return 'not an object'
  const r = x.resources
  return firstProblem([
    [isNonEmptyStr(x.peerId), 'peerId must be a non-empty string'],
    [isHex(x.publicKey, 32), 'publicKey must be 32 bytes of lowercase hex'],
    [isNonEmptyStr(x.certificate), 'certificate must be a non-empty string'],
    [isStr(x.name), 'name must be a string'],
    [isStrArray(x.caps), 'caps must be an array of strings'],
    [isStrRecord(x.labels), 'labels must map strings to strings'],
    [isObj(r) && (r.cpu === undefined || (isNum(r.cpu) && r.cpu >= 0)) && (r.memory_mb === undefined || (isNum(r.memory_mb) && r.memory_mb >= 0)),
      'resources must be { cpu?: number >= 0, memory_mb?: number >= 0 }'],
    [isStrArray(x.addresses), 'addresses must be an array of strings'],
    [isStr(x.softwareVersion), 'softwareVersion must be a string'],
    [isNum(x.joinedAt), 'joinedAt must be a number (unix ms)'],
    [isNum(x.updatedAt), 'updatedAt must be a number (unix ms)'],
  ])
}

export const checkRevocation: Check = x => {
  if (!isObj(x)) return 'not an object'
  const c = x.actorSeqCutoff
  return firstProblem([
    [isHex(x.publicKey, 32), 'publicKey must be 32 bytes of lowercase hex'],
    [isNonEmptyStr(x.revocation), 'revocation must be the signed revocation string'],
    [x.reason === undefined || isStr(x.reason), 'reason must be a string when present'],
    [isNum(x.revokedAt), 'revokedAt must be a number (unix ms)'],
    [isStr(x.revokedBy), 'revokedBy must be a string'],
    [c === undefined || (isObj(c) && Object.entries(c).every(([k, v]) => isHex(k) && Number.isSafeInteger(v) && (v as number) >= 0)),
      'actorSeqCutoff must map hex actor ids to non-negative integers'],
  ])
}

export const checkRedemption: Check = x => {
  if (!isObj(x)) return 'not an object'
  return firstProblem([
    [isNonEmptyStr(x.inviteId), 'inviteId must be a non-empty string'],
    [isHex(x.memberPublicKey, 32), 'memberPublicKey must be 32 bytes of lowercase hex'],
    [isNum(x.at), 'at must be a number (unix ms)'],
  ])
}

function isJson (x: unknown, depth = 0): x is JsonValue {
  if (depth > 64) return false
  if (x === null || typeof x === 'string' || typeof x === 'boolean') return true
  if (typeof x === 'number') return Number.isFinite(x)
  if (Array.isArray(x)) return x.every(v => isJson(v, depth + 1))
  if (isObj(x)) return Object.values(x).every(v => isJson(v, depth + 1))
  return false
}

export const checkDataflow: Check = x => {
  if (!isObj(x)) return 'not an object'
  return firstProblem([
    [isNonEmptyStr(x.name), 'name must be a non-empty string'],
    [isJson(x.spec), 'spec must be JSON (no undefined, functions or non-finite numbers)'],
    [x.state === 'running' || x.state === 'stopped', "state must be 'running' or 'stopped'"],
    [Number.isSafeInteger(x.version) && (x.version as number) >= 0, 'version must be a non-negative integer'],
    [isStr(x.deployedBy), 'deployedBy must be a string'],
    [isNum(x.deployedAt), 'deployedAt must be a number (unix ms)'],
    [x.signature === undefined || isStr(x.signature), 'signature must be a string when present'],
    [x.files === undefined || (isObj(x.files) && Object.values(x.files).every(v => isHex(v, 32))), 'files must map paths to sha256 hex'],
  ])
}

export const checkClaim: Check = x => {
  if (!isObj(x)) return 'not an object'
  return firstProblem([
    [isNonEmptyStr(x.peerId), 'peerId must be a non-empty string'],
    [Number.isSafeInteger(x.epoch) && (x.epoch as number) >= 0, 'epoch must be a non-negative integer'],
    [isNum(x.at), 'at must be a number (unix ms)'],
  ])
}

const INSTANCE_STATES = new Set(['starting', 'running', 'restarting', 'stopped', 'failed'])
export const checkInstance: Check = x => {
  if (!isObj(x)) return 'not an object'
  return firstProblem([
    [isNonEmptyStr(x.peerId), 'peerId must be a non-empty string'],
    [isStr(x.state) && INSTANCE_STATES.has(x.state), 'state must be starting, running, restarting, stopped or failed'],
    [Number.isSafeInteger(x.restarts) && (x.restarts as number) >= 0, 'restarts must be a non-negative integer'],
    [isNum(x.startedAt), 'startedAt must be a number (unix ms)'],
  ])
}

export const checkFileRef: Check = x => {
  if (!isObj(x)) return 'not an object'
  return firstProblem([
    [isHex(x.sha256, 32), 'sha256 must be 32 bytes of lowercase hex'],
    [Number.isSafeInteger(x.size) && (x.size as number) >= 0, 'size must be a non-negative integer'],
    [isStr(x.addedBy), 'addedBy must be a string'],
    [isNum(x.addedAt), 'addedAt must be a number (unix ms)'],
    [x.mediaType === undefined || isStr(x.mediaType), 'mediaType must be a string when present'],
  ])
}

/** The plain string inside a stored value, whether written as an immutable string or (by a foreign writer) as text. */
export function storedString (v: unknown): string | undefined {
  if (typeof v === 'string') return v
  if (v instanceof A.ImmutableString) return v.val
  return undefined
}

/**
 * Decoded records, per stored value and check. Automerge keeps the same ImmutableString object for a
 * value no change touched (local changes, merges and sync alike), so a reader that walks a whole
 * section — the flow manager, on every reconcile — parses and checks only what changed. Every
 * reader shares the values, so none may change them.
 *
 * The test suite runs with SWARMFLOW_FREEZE_RECORDS=1 (vitest.config.ts; peers the tests start
 * inherit it), which deep-freezes every decoded value so that a reader that writes to one throws.
 * Peers do not freeze: it cost more than the parse itself, 28 of the ~34 ms a joining peer spent
 * decoding a 1 MB document's records (CPU profile; freezing is JavaScript that runs cold there).
 */
const decoded = new WeakMap<object, Map<Check, unknown>>()
const FREEZE = process.env.SWARMFLOW_FREEZE_RECORDS === '1'

function deepFreeze<T> (x: T): T {
  if (typeof x === 'object' && x !== null && !Object.isFrozen(x)) {
    Object.freeze(x)
    for (const v of Object.values(x)) deepFreeze(v)
  }
  return x
}

/** Decodes one stored record; undefined when it is not a string of JSON that passes `check`. The result is frozen. */
export function decodeRecord<T> (v: unknown, check: Check): T | undefined {
  const cacheable = v instanceof A.ImmutableString
  const byCheck = cacheable ? decoded.get(v) : undefined
  if (byCheck?.has(check) === true) return byCheck.get(check) as T | undefined
  const s = storedString(v)
  if (s === undefined) return undefined
  let result: T | undefined
  try {
    const parsed: unknown = JSON.parse(s)
    result = check(parsed) === null ? (FREEZE ? deepFreeze(parsed as T) : parsed as T) : undefined
  } catch {
    result = undefined
  }
  if (cacheable) {
    if (byCheck === undefined) decoded.set(v, new Map([[check, result]]))
    else byCheck.set(check, result)
  }
  return result
}

/**
 * Encodes a record for storage after checking it; returns the problem instead when it is invalid.
 * Keys with undefined values are dropped by JSON (Automerge would refuse them).
 */
export function encodeRecord (record: unknown, check: Check): A.ImmutableString | string {
  const problem = check(record)
  if (problem !== null) return problem
  const json = JSON.stringify(record)
  if (json.length > MAX_RECORD_BYTES) return `encoded record is ${json.length} bytes, over the ${MAX_RECORD_BYTES}-byte limit (keep the document small: put large content in files)`
  return new A.ImmutableString(json)
}

export type { ClaimRecord, DataflowRecord, FileRef, InstanceRecord, MemberRecord, RedemptionRecord, RevocationRecord }
