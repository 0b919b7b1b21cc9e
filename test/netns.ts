/**
 * Network namespaces as separate test hosts (root only): a bridge in a hub namespace and one veth
 * pair per host, each host with its own address in 10.213.<n>.0/24. Only addresses of these
 * namespaces and loopback ever receive traffic; dispose() deletes everything.
 */
import { execFileSync } from 'node:child_process'

export function netnsAvailable (): string | undefined {
  if (process.getuid?.() !== 0) return 'not root'
  try { execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' }) } catch { return 'ip netns unavailable (install iproute2)' }
  const probe = `sfprobe${process.pid}`
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' })
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' })
  } catch (err) {
    return `cannot create network namespaces here: ${(err as Error).message.split('\n')[0]}`
  }
  return undefined
}

const ip = (...args: string[]): void => { execFileSync('ip', args, { stdio: 'pipe' }) }

export class TestNetwork {
  readonly id: string
  readonly hub: string
  readonly hosts: Array<{ ns: string, addr: string, hostVeth: string }> = []
  private readonly subnet: number

  constructor (count: number) {
    this.subnet = 100 + (process.pid % 100)
    this.id = `sf${process.pid % 100000}`
    this.hub = `${this.id}hub`
    ip('netns', 'add', this.hub)
    ip('-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', this.hub, 'link', 'set', 'br0', 'up')
    for (let i = 0; i < count; i++) {
      const ns = `${this.id}h${i}`
      const hostVeth = `${this.id}v${i}`
      const addr = `10.213.${this.subnet}.${i + 10}`
      ip('netns', 'add', ns)
      ip('link', 'add', hostVeth, 'netns', this.hub, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
      ip('-n', this.hub, 'link', 'set', hostVeth, 'master', 'br0')
      ip('-n', this.hub, 'link', 'set', hostVeth, 'up')
      ip('-n', ns, 'link', 'set', 'lo', 'up')
      ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0')
      ip('-n', ns, 'link', 'set', 'eth0', 'up', 'multicast', 'on')
      ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0')
      this.hosts.push({ ns, addr, hostVeth })
    }
  }

  wrap (i: number): string[] { return ['ip', 'netns', 'exec', (this.hosts[i] as { ns: string }).ns] }

  /** Cuts host i off the bridge (a partition), or reconnects it. */
  setLink (i: number, up: boolean): void {
    ip('-n', this.hub, 'link', 'set', (this.hosts[i] as { hostVeth: string }).hostVeth, up ? 'up' : 'down')
  }

  dispose (): void {
    for (const h of this.hosts) { try { ip('netns', 'del', h.ns) } catch {} }
    try { ip('netns', 'del', this.hub) } catch {}
  }
}
