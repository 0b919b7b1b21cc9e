import { BenchSwarm } from './swarm.ts'

export interface BenchContext {
  quick: boolean
  /** The run's shared swarm of real peer processes, grown to at least `n` peers. */
  swarm(n: number): Promise<BenchSwarm>
  /** Stops the shared swarm; the next `swarm(n)` forms a new one (new swarm, new document). */
  resetSwarm(): Promise<void>
  /** Progress line on stderr. */
  log(msg: string): void
}

export function createContext (quick: boolean): BenchContext & { dispose(): Promise<void> } {
  let swarm: BenchSwarm | undefined
  let forming: Promise<BenchSwarm> | undefined
  return {
    quick,
    log: (msg) => { process.stderr.write(`  ${msg}\n`) },
    async swarm (n) {
      if (swarm === undefined) {
        forming ??= BenchSwarm.form(Math.max(2, n))
        swarm = await forming
      }
      const live = swarm.peers.length
      if (live < n) await swarm.grow(n)
      return swarm
    },
    async resetSwarm () {
      await swarm?.dispose()
      swarm = undefined
      forming = undefined
    },
    async dispose () {
      await swarm?.dispose()
      swarm = undefined
      forming = undefined
    },
  }
}
