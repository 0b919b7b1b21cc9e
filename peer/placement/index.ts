/**
 * Leaderless placement: the pure election every peer runs over the same document and live set.
 * See `computePlacement` for the rules, `resolveConflict` for partition heal and `isStale` for
 * fencing stale producers.
 */
export type {
  CandidateExplanation, ClaimContender, Holder, NodePlacement, PlacementDeploy, PlacementFlow, PlacementInput,
  PlacementMember, PlacementNodeSpec, PlacementOptions, PlacementResources, PlacementResult,
} from './interfaces.ts'
export { computePlacement, resolveConflict, isStale, DEFAULT_STICKINESS, SETTLE_MS } from './placement.ts'
export { hrwScore } from './hash.ts'
export { formatPlan } from './format.ts'
export { placementFlowsFrom, type FlowRecordLike } from './flows.ts'
