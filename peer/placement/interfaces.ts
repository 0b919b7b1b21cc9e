/**
 * Contracts of leaderless placement. Types only; the election lives in `placement.ts`.
 *
 * Every peer calls `computePlacement` with the same inputs (the swarm document's flows, members
 * and claims, plus the live set after suspicion) and gets the same answer: nobody coordinates.
 * The node shapes are structural subsets of `peer/dataflow`'s normalized nodes, so
 * `dataflow.nodes` can be passed as is.
 */

export interface PlacementResources {
  /** CPU cores (fractional allowed). */
  cpu?: number
  /** Memory in MiB. */
  memory_mb?: number
}

export interface PlacementDeploy {
  /** Pins the node to the member with this name. */
  machine?: string
  /** Every label must be among the member's labels with the same value. */
  labels?: Readonly<Record<string, string>>
  /** Capabilities the member must advertise. */
  caps?: readonly string[]
  /** Consumed on the chosen member; never oversubscribed. */
  resources?: PlacementResources
  /** Runs only while a majority of the roster is visible. */
  strict?: boolean
}

export interface PlacementNodeSpec {
  id: string
  deploy?: PlacementDeploy
}

export interface PlacementFlow {
  name: string
  state: 'running' | 'stopped'
  nodes: readonly PlacementNodeSpec[]
}

export interface PlacementMember {
  peerId: string
  name: string
  caps: readonly string[]
  labels: Readonly<Record<string, string>>
  /**
   * Declared capacity. A member that declares no value for a resource is not eligible for nodes
   * that need it (the peer should declare `os.availableParallelism()` and its memory).
   */
  resources?: PlacementResources
  /** HRW weight (default 1): a member of weight 2 wins about twice as many nodes. */
  weight?: number
}

/** The peer running a node and the epoch it runs it under (fencing token). */
export interface Holder {
  peerId: string
  epoch: number
}

export interface PlacementInput {
  flows: readonly PlacementFlow[]
  /** All non-revoked members (the roster), in any order. */
  members: readonly PlacementMember[]
  /** Peer ids visible right now (alive after suspicion), this peer included. */
  live: Iterable<string>
  /** Number of non-revoked members; strict singletons need more than half of it visible. */
  rosterSize: number
  /**
   * Current holder per node key `flow/node` (from the document's claims, conflicts already
   * resolved with `resolveConflict`): the basis of stickiness and epochs.
   */
  previous?: ReadonlyMap<string, Holder> | Readonly<Record<string, Holder>>
  /**
   * Stickiness bonus: the current holder's score is multiplied by `1 + stickiness`. Must be the
   * same on every peer (a swarm constant). Default `DEFAULT_STICKINESS`; `Infinity` keeps the
   * holder as long as it stays live and eligible; 0 is pure HRW.
   */
  stickiness?: number
  /**
   * Live members that came back only recently (restarted, resumed after a freeze): they may take
   * nodes no live member holds, but not a node from a current holder that can still run it, so a
   * node that failed over is not handed back (a second interruption) to a member that may fail
   * again. Every peer must see the same set: it comes from what each member reports of itself in
   * its heartbeats (mesh/liveness `upFor`). Default: none.
   */
  settling?: Iterable<string>
}

export interface PlacementOptions {
  /** Fill `candidates` for every node (for `peer plan`). Costs an allocation per member per node. */
  explain?: boolean
}

export interface CandidateExplanation {
  peerId: string
  name: string
  live: boolean
  eligible: boolean
  /** Why not eligible (e.g. "missing cap gpu"), or "eligible". */
  reason: string
  /** Weighted HRW score; null when not eligible. */
  score: number | null
  /** Stickiness bonus added to the score (0 unless the current holder). */
  bonus: number
  /** score + bonus; null when not eligible. */
  total: number | null
  chosen: boolean
}

export interface NodePlacement {
  /** `flow/node`. */
  key: string
  flow: string
  node: string
  /** The elected peer, or null when nothing can run it (see `reason`). */
  peerId: string | null
  /** Increments exactly when the holder changes; data carries (peerId, epoch) for fencing. */
  epoch: number
  /** The winner's total score (with stickiness); null when unplaced. */
  score: number | null
  /** True when the current holder kept the node. */
  sticky: boolean
  reason: string
  /** Only with `explain: true`: every member, best first. */
  candidates?: CandidateExplanation[]
}

export interface PlacementResult {
  /** Sorted by key. */
  placements: NodePlacement[]
  /** Members of the roster that are live. */
  visible: number
  rosterSize: number
  /** visible > rosterSize / 2: strict singletons may run. */
  majority: boolean
  /**
   * Input entries skipped as malformed or duplicate (members, flows, nodes, previous holders).
   * Non-zero means the document holds bad data: the caller logs it and adds it to its counter.
   */
  ignored: number
}

/** What `resolveConflict` compares: two claims on one node seen after a partition heals. */
export interface ClaimContender {
  peerId: string
  epoch: number
  /** HRW score of this peer for the node (see `hrwScore`). */
  score: number
}
