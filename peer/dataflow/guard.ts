import type { Dataflow, NormalizedInput, NormalizedNode } from './interfaces.ts'

/**
 * Type guard for a normalized `Dataflow` read back from the swarm document (i.e. from the
 * network). Returns the reason of the first mismatch so the caller can log, count and drop it;
 * never throws.
 */
export type DataflowCheck = { ok: true, dataflow: Dataflow } | { ok: false, reason: string }

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isStr = (v: unknown): v is string => typeof v === 'string'
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const isStrArr = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr)
const isStrMap = (v: unknown): v is Record<string, string> => isObj(v) && Object.values(v).every(isStr)
const optStr = (v: unknown): boolean => v === undefined || isStr(v)
const optNum = (v: unknown): boolean => v === undefined || (isNum(v) && v >= 0)
const BAD_ID = /[/*$?#\s]/
const isId = (v: unknown): v is string => isStr(v) && v.length > 0 && !BAD_ID.test(v)

function checkInput (v: unknown): string | undefined {
  if (!isObj(v)) return 'input is not an object'
  const s = v.source
  if (!isObj(s)) return 'input.source is not an object'
  if (s.kind === 'node') { if (!isId(s.node) || !isId(s.output)) return 'input.source node/output invalid' } else if (s.kind === 'timer') { if (!isNum(s.intervalMs) || s.intervalMs <= 0) return 'timer intervalMs invalid' } else return 'input.source.kind unknown'
  if (!isNum(v.queueSize) || !Number.isInteger(v.queueSize) || v.queueSize < 1) return 'queueSize invalid'
  if (v.queuePolicy !== 'drop_oldest' && v.queuePolicy !== 'backpressure') return 'queuePolicy invalid'
  if (!optNum(v.inputTimeoutMs)) return 'inputTimeoutMs invalid'
  return undefined
}

function checkNode (n: unknown): string | undefined {
  if (!isObj(n)) return 'node is not an object'
  if (!isId(n.id)) return 'node id invalid'
  const at = `node ${n.id}:`
  if (!isStr(n.path) || n.path.length === 0) return `${at} path invalid`
  if (n.pathKind !== 'file' && n.pathKind !== 'command') return `${at} pathKind invalid`
  if (n.runtime !== 'node' && n.runtime !== 'exec') return `${at} runtime invalid`
  if (!optStr(n.name) || !optStr(n.description) || !optStr(n.sendStdoutAs)) return `${at} name/description/sendStdoutAs invalid`
  if (!isStrArr(n.args)) return `${at} args invalid`
  if (!isStrMap(n.env)) return `${at} env invalid`
  if (!isObj(n.inputs)) return `${at} inputs invalid`
  for (const [k, i] of Object.entries(n.inputs)) {
    if (!isId(k)) return `${at} input name ${JSON.stringify(k)} invalid`
    const r = checkInput(i as NormalizedInput)
    if (r) return `${at} input ${k}: ${r}`
  }
  if (!isStrArr(n.outputs) || !n.outputs.every(isId)) return `${at} outputs invalid`
  if (n.restartPolicy !== 'never' && n.restartPolicy !== 'on-failure' && n.restartPolicy !== 'always') return `${at} restartPolicy invalid`
  if (!isNum(n.maxRestarts) || !Number.isInteger(n.maxRestarts) || n.maxRestarts < 0) return `${at} maxRestarts invalid`
  if (!isNum(n.restartDelayMs) || n.restartDelayMs < 0 || !optNum(n.maxRestartDelayMs) || !optNum(n.restartWindowMs)) return `${at} restart delays invalid`
  const d = n.deploy
  if (!isObj(d)) return `${at} deploy invalid`
  if (!optStr(d.machine) || !optStr(d.workingDir) || !isStrMap(d.labels) || !isStrArr(d.caps) || typeof d.strict !== 'boolean') return `${at} deploy fields invalid`
  if (!isObj(d.resources) || !optNum(d.resources.cpu) || !optNum(d.resources.memory_mb)) return `${at} deploy.resources invalid`
  if (!isStrArr(n.files)) return `${at} files invalid`
  if (n.fileDigests !== undefined && !isStrMap(n.fileDigests)) return `${at} fileDigests invalid`
  return undefined
}

export function checkDataflow (value: unknown): DataflowCheck {
  if (!isObj(value) || !Array.isArray(value.nodes)) return { ok: false, reason: 'not an object with a nodes array' }
  const ids = new Set<string>()
  for (const n of value.nodes) {
    const r = checkNode(n)
    if (r) return { ok: false, reason: r }
    const id = (n as NormalizedNode).id
    if (ids.has(id)) return { ok: false, reason: `duplicate node id ${id}` }
    ids.add(id)
  }
  return { ok: true, dataflow: value as unknown as Dataflow }
}
