/**
 * The swarm's Zenoh key space (see KEYSPACE.md). Every program that publishes or subscribes on
 * the data plane builds its keys here so the layout has one definition.
 */
import { InvalidKeySegmentError } from './errors.ts'

/** Zenoh encoding of the standard payload: one Arrow IPC *stream* (schema message then batches). */
export const ARROW_STREAM_ENCODING = 'application/vnd.apache.arrow.stream'

/** First chunk of every swarm key; lets a zenohd backbone carry other traffic beside ours. */
export const KEY_ROOT = 'swarmflow'

// Zenoh reserves '*', '$', '?', '#' in chunks and '/' separates them; an empty chunk is invalid.
const BAD_SEGMENT = /[/*$?#]/

function seg (what: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0 || BAD_SEGMENT.test(value)) throw new InvalidKeySegmentError(what, String(value))
  return value
}

/** `swarmflow/<swarm>` — everything a swarm publishes lives under it. */
export function swarmPrefix (swarm: string): string {
  return `${KEY_ROOT}/${seg('swarm id', swarm)}`
}

/** `swarmflow/<swarm>/flows/<flow>` */
export function flowKey (swarm: string, flow: string): string {
  return `${swarmPrefix(swarm)}/flows/${seg('flow id', flow)}`
}

/** `swarmflow/<swarm>/flows/<flow>/nodes/<node>` */
export function nodeKey (swarm: string, flow: string, node: string): string {
  return `${flowKey(swarm, flow)}/nodes/${seg('node id', node)}`
}

/** `swarmflow/<swarm>/flows/<flow>/nodes/<node>/outputs/<output>` — where a node publishes one output. */
export function outputKey (swarm: string, flow: string, node: string, output: string): string {
  return `${nodeKey(swarm, flow, node)}/outputs/${seg('output id', output)}`
}

/** `swarmflow/<swarm>/flows/<flow>/nodes/*\/outputs/*` style wildcard: every output of a flow. */
export function flowOutputsSelector (swarm: string, flow: string): string {
  return `${flowKey(swarm, flow)}/nodes/*/outputs/*`
}

/** `swarmflow/<swarm>/flows/<flow>/nodes/<node>/alive/<peer>` — liveliness token of a running node instance. */
export function nodeAliveKey (swarm: string, flow: string, node: string, peer: string): string {
  return `${nodeKey(swarm, flow, node)}/alive/${seg('peer id', peer)}`
}

/** `swarmflow/<swarm>/peers/<peer>` */
export function peerKey (swarm: string, peer: string): string {
  return `${swarmPrefix(swarm)}/peers/${seg('peer id', peer)}`
}

/** `swarmflow/<swarm>/peers/<peer>/logs/<stream>` — a peer's log lines (stream e.g. "peer" or a node id). */
export function peerLogKey (swarm: string, peer: string, stream: string): string {
  return `${peerKey(swarm, peer)}/logs/${seg('log stream', stream)}`
}

/** `swarmflow/<swarm>/peers/<peer>/services/<service>` — a queryable a peer answers (status, metrics…). */
export function peerServiceKey (swarm: string, peer: string, service: string): string {
  return `${peerKey(swarm, peer)}/services/${seg('service name', service)}`
}

/** `swarmflow/<swarm>/alive/<peer>` — liveliness token each peer's router declares for itself. */
export function peerAliveKey (swarm: string, peer: string): string {
  return `${swarmPrefix(swarm)}/alive/${seg('peer id', peer)}`
}

/** `swarmflow/<swarm>/alive/*` — subscribe here (liveliness, history on) to watch membership on the data plane. */
export function peersAliveSelector (swarm: string): string {
  return `${swarmPrefix(swarm)}/alive/*`
}
