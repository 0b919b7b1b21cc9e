/**
 * Keeps one long-lived channel to a member open: opens it, hands it over, waits for it to close,
 * opens it again.
 *
 * Policy: a channel that worked for a while (HEALTHY_MS) and then closed — its connection was
 * replaced after a stall or a partition, the member restarted — is reopened at once, with the
 * back-off reset. Only failures to open, and channels that close right after opening, wait, with an
 * exponential back-off (BASE_MS doubling up to MAX_MS, ±20 % jitter).
 *
 * Why: the first version reset its back-off only after a channel had lived 10 s, so a member
 * whose connections are replaced every few seconds (a peer frozen and resumed again and again, a
 * flapping link) waited longer and longer for its channels to come back. Seen in the SIGSTOP
 * failover bench (peer logs, 2026-12-07): the Zenoh channel between the two members that were not
 * frozen closed 0.2 s before the next freeze and was not back when the node failed over 1.5 s
 * later, so the new holder's samples had no route to the consumer's peer but through the frozen
 * one, and its first output arrived only after SIGCONT (trials of 5.8 and 4.4 s in two runs, the
 * others 2.3–2.9 s). The back-off is the one delay on that path that grows with repeated
 * reconnections.
 */
export interface KeeperDeps<C extends { closed: Promise<void> }> {
  open: () => Promise<C>
  attach: (ch: C) => void
  /** Still wanted (not stopped, still a member). Checked before every attempt. */
  wanted: () => boolean
  onOpenFailed?: (err: Error) => void
  /** Injected for tests; defaults to Date.now and an unref'd timer. */
  now?: () => number
  sleep?: (ms: number) => Promise<void>
  random?: () => number
}

export const KEEPER_BASE_MS = 250
export const KEEPER_MAX_MS = 10_000
export const KEEPER_HEALTHY_MS = 1_000

export async function keepChannelOpen<C extends { closed: Promise<void> }> (deps: KeeperDeps<C>): Promise<void> {
  const now = deps.now ?? Date.now
  const sleep = deps.sleep ?? (async (ms: number) => { await new Promise(resolve => setTimeout(resolve, ms).unref()) })
  const random = deps.random ?? Math.random
  let backoff = KEEPER_BASE_MS
  while (deps.wanted()) {
    let lived = -1
    try {
      const ch = await deps.open()
      deps.attach(ch)
      const openedAt = now()
      await ch.closed
      lived = now() - openedAt
    } catch (err) {
      deps.onOpenFailed?.(err as Error)
    }
    if (!deps.wanted()) return
    if (lived >= KEEPER_HEALTHY_MS) {
      backoff = KEEPER_BASE_MS
      continue
    }
    await sleep(backoff * (0.8 + random() * 0.4))
    backoff = Math.min(backoff * 2, KEEPER_MAX_MS)
  }
}
