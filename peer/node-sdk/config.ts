import { NodeConfigError } from './errors.ts'
import type { NodeInputConfig, NodeIoConfig, NodeRuntimeConfig } from './interfaces.ts'

const ID = /^[^/*$?#\s]+$/

function isInput (v: unknown): v is NodeInputConfig {
  if (v === null || typeof v !== 'object') return false
  const i = v as Record<string, unknown>
  if (typeof i.id !== 'string' || !ID.test(i.id)) return false
  if (!Number.isInteger(i.queueSize) || (i.queueSize as number) < 1) return false
  if (i.queuePolicy !== 'drop_oldest' && i.queuePolicy !== 'backpressure') return false
  if (i.inputTimeoutMs !== undefined && !(typeof i.inputTimeoutMs === 'number' && i.inputTimeoutMs > 0)) return false
  const s = i.source as Record<string, unknown> | null
  if (s === null || typeof s !== 'object') return false
  if (s.kind === 'timer') return typeof s.intervalMs === 'number' && s.intervalMs > 0 && Number.isFinite(s.intervalMs)
  return s.kind === 'node' && typeof s.node === 'string' && ID.test(s.node) && typeof s.output === 'string' && ID.test(s.output)
}

export function parseIoConfig (json: string): NodeIoConfig {
  let o: unknown
  try { o = JSON.parse(json) } catch (err) { throw new NodeConfigError('SWARMFLOW_NODE_CONFIG is not JSON', { cause: err }) }
  const r = o as Record<string, unknown> | null
  if (r === null || typeof r !== 'object' || !Array.isArray(r.inputs) || !Array.isArray(r.outputs)) throw new NodeConfigError('SWARMFLOW_NODE_CONFIG must be {"inputs": [...], "outputs": [...]}')
  for (const i of r.inputs) if (!isInput(i)) throw new NodeConfigError(`SWARMFLOW_NODE_CONFIG has an invalid input ${JSON.stringify(i)}`)
  for (const out of r.outputs) if (typeof out !== 'string' || !ID.test(out)) throw new NodeConfigError(`SWARMFLOW_NODE_CONFIG has an invalid output ${JSON.stringify(out)}`)
  return { inputs: r.inputs as NodeInputConfig[], outputs: r.outputs as string[] }
}

/** Reads the environment a supervisor gives a node (table in interfaces.ts). */
export function readNodeConfig (env: Record<string, string | undefined>): NodeRuntimeConfig {
  const need = (k: string): string => {
    const v = env[k]
    if (v === undefined || v === '') throw new NodeConfigError(`${k} is not set`)
    return v
  }
  const epoch = Number(need('SWARMFLOW_EPOCH'))
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new NodeConfigError(`SWARMFLOW_EPOCH ${JSON.stringify(env.SWARMFLOW_EPOCH)} is not a non-negative integer`)
  const io = parseIoConfig(need('SWARMFLOW_NODE_CONFIG'))
  const cfg: NodeRuntimeConfig = {
    swarm: need('SWARMFLOW_SWARM'),
    flow: need('SWARMFLOW_FLOW'),
    nodeId: need('SWARMFLOW_NODE_ID'),
    zenoh: need('SWARMFLOW_ZENOH'),
    epoch,
    peer: need('SWARMFLOW_PEER'),
    ...io,
  }
  if (env.SWARMFLOW_PEER_NAME !== undefined) cfg.peerName = env.SWARMFLOW_PEER_NAME
  return cfg
}

/** The environment variables that describe `cfg` (the supervisor's half of the contract). */
export function nodeConfigEnv (cfg: NodeRuntimeConfig): Record<string, string> {
  const env: Record<string, string> = {
    SWARMFLOW_SWARM: cfg.swarm,
    SWARMFLOW_FLOW: cfg.flow,
    SWARMFLOW_NODE_ID: cfg.nodeId,
    SWARMFLOW_ZENOH: cfg.zenoh,
    SWARMFLOW_EPOCH: String(cfg.epoch),
    SWARMFLOW_PEER: cfg.peer,
    SWARMFLOW_NODE_CONFIG: JSON.stringify({ inputs: cfg.inputs, outputs: cfg.outputs }),
  }
  if (cfg.peerName !== undefined) env.SWARMFLOW_PEER_NAME = cfg.peerName
  return env
}
