import { checkDataflow } from '../dataflow/index.ts'
import type { PlacementFlow } from './interfaces.ts'

/** The part of a swarm-document dataflow record placement needs (`DataflowRecord` fits). */
export interface FlowRecordLike {
  name: string
  state: string
  /** The normalized `Dataflow` as JSON, straight from the document (network input: checked here). */
  spec: unknown
}

/**
 * Turns document records into placement flows, dropping any whose spec fails the dataflow guard
 * (`onInvalid` is told which and why, to log and count). A dropped flow places nothing: a peer
 * never runs a definition it cannot read.
 */
export function placementFlowsFrom (records: readonly FlowRecordLike[], onInvalid?: (name: string, reason: string) => void): PlacementFlow[] {
  const out: PlacementFlow[] = []
  for (const r of records) {
    const name = typeof r?.name === 'string' ? r.name : String(r?.name)
    if (r?.state !== 'running' && r?.state !== 'stopped') { onInvalid?.(name, `unknown state ${JSON.stringify(r?.state)}`); continue }
    const check = checkDataflow(r.spec)
    if (!check.ok) { onInvalid?.(name, check.reason); continue }
    out.push({ name, state: r.state, nodes: check.dataflow.nodes })
  }
  return out
}
