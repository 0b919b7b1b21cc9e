/** Test helpers for the supervisor suites: temp dirs, scripts, waiting on state changes with deadlines. */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { InstanceSpec, InstanceState, Supervisor, StateChange } from '../interfaces.ts'

export function tempDir (prefix = 'sf-sup-'): { path: string, [Symbol.dispose]: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) }
}

export function script (dir: string, name: string, text: string, executable = false): string {
  const p = join(dir, name)
  writeFileSync(p, text)
  if (executable) chmodSync(p, 0o755)
  return p
}

export function spec (over: Partial<InstanceSpec> & Pick<InstanceSpec, 'path'>): InstanceSpec {
  const flow = over.flow ?? 'f1'
  const nodeId = over.nodeId ?? 'n1'
  return {
    key: `${flow}/${nodeId}`,
    flow,
    nodeId,
    args: [],
    env: {},
    restartPolicy: 'never',
    maxRestarts: 0,
    restartDelayMs: 0,
    epoch: 1,
    inputs: [],
    outputs: [],
    zenohEndpoint: 'ws://127.0.0.1:1',
    swarmId: 'swarm1',
    peerId: 'peerA',
    peerName: 'alpha',
    ...over,
  }
}

/** Records every state change; `until(key, state)` waits for one with a deadline. */
export class StateLog {
  readonly changes: Array<StateChange & { t: number }> = []
  private waiters: Array<() => void> = []
  readonly unsubscribe: () => void
  constructor (sup: Supervisor) {
    this.unsubscribe = sup.subscribe(c => {
      this.changes.push({ ...c, t: Date.now() })
      for (const w of this.waiters.splice(0)) w()
    })
  }

  states (key: string): InstanceState[] {
    return this.changes.filter(c => c.key === key).map(c => c.to)
  }

  async until (key: string, state: InstanceState, ms = 10_000, count = 1): Promise<StateChange & { t: number }> {
    const deadline = Date.now() + ms
    while (true) {
      const hits = this.changes.filter(c => c.key === key && c.to === state)
      if (hits.length >= count) return hits[count - 1] as StateChange & { t: number }
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${key} to be ${state} (x${count}); saw ${this.states(key).join(' → ')}`)
      await new Promise<void>(resolve => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => { clearTimeout(t); resolve() })
      })
    }
  }
}

/** Whether `pid` is a live process (a zombie awaiting its reaper counts as gone). */
export function alive (pid: number): boolean {
  try { process.kill(pid, 0) } catch { return false }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch { return false }
}

/** Polls a condition that is only visible by inspection (a pid disappearing), with a deadline. */
export async function until (cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}
