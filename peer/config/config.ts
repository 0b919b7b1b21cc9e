import { homedir, hostname } from 'node:os'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseEnv } from 'node:util'
import { UsageError } from '../../common/errors.ts'

/** Every setting a peer reads, after precedence: flags > environment (.env) > defaults. */
export interface PeerConfig {
  dataDir: string
  name: string
  listen: string[]
  bootstrap: string[]
  caps: string[]
  labels: Record<string, string>
  mdns: boolean
  /** Address of the local zenoh-ts endpoint (host:port, port 0 = any). */
  zenohListen: string
  /** Optional zenohd remote-api to join as a backbone. */
  zenohRouter: string | undefined
  /** Key prefix bridged with the backbone. */
  zenohPrefix: string
  /** MQTT broker to bridge with (mqtt://HOST:PORT), if any. */
  mqtt: string | undefined
  /** Zenoh key prefix bridged with MQTT; default swarmflow/<swarm id>. */
  mqttKeyPrefix: string | undefined
  /** MQTT topic prefix; default the key prefix. */
  mqttTopicPrefix: string | undefined
  /** Control API address: loopback host:port (port 0 = any). */
  control: string
  heartbeatMs: number
  suspectMs: number
  deadMs: number
  logLevel: string
}

/** One entry per setting: its flag, its environment variable, its default and its parser. */
interface Setting<K extends keyof PeerConfig> {
  key: K
  flag: string
  env: string
  describe: string
  default: () => PeerConfig[K]
  parse: (raw: string, from: string) => PeerConfig[K]
}

const list = (raw: string): string[] => raw.split(',').map(s => s.trim()).filter(Boolean)
const int = (raw: string, from: string): number => {
  const n = Number(raw)
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${from} must be a positive whole number of milliseconds, got '${raw}'`)
  return n
}
const bool = (raw: string, from: string): boolean => {
  if (/^(1|true|yes|on)$/i.test(raw)) return true
  if (/^(0|false|no|off)$/i.test(raw)) return false
  throw new UsageError(`${from} must be true or false, got '${raw}'`)
}
export function parseLabels (raw: string, from = '--labels'): Record<string, string> {
  const out: Record<string, string> = {}
  for (const item of list(raw)) {
    const eq = item.indexOf('=')
    if (eq <= 0) throw new UsageError(`${from}: '${item}' is not key=value (example: --labels zone=a,arm=ur5)`)
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim()
  }
  return out
}
const hostPort = (raw: string, from: string): string => {
  if (!/^[^\s:]+:\d{1,5}$/.test(raw) && !/^\[[0-9a-f:]+\]:\d{1,5}$/i.test(raw)) throw new UsageError(`${from} must be host:port (e.g. 127.0.0.1:7447), got '${raw}'`)
  return raw
}

export const SETTINGS = [
  { key: 'dataDir', flag: 'data-dir', env: 'SWARMFLOW_DATA_DIR', describe: 'Where this device keeps its identity, membership, swarm document and logs', default: () => join(homedir(), '.swarmflow'), parse: (r: string) => resolve(r) },
  { key: 'name', flag: 'name', env: 'SWARMFLOW_NAME', describe: 'Human name of this device in the swarm', default: () => hostname(), parse: (r: string) => r },
  { key: 'listen', flag: 'listen', env: 'SWARMFLOW_LISTEN', describe: 'Mesh listen multiaddrs, comma-separated', default: () => ['/ip4/0.0.0.0/tcp/0'], parse: list },
  { key: 'bootstrap', flag: 'bootstrap', env: 'SWARMFLOW_BOOTSTRAP', describe: 'Multiaddrs of peers to dial, comma-separated', default: () => [], parse: list },
  { key: 'caps', flag: 'caps', env: 'SWARMFLOW_CAPS', describe: 'Capabilities this device offers (e.g. camera,gpu)', default: () => [], parse: list },
  { key: 'labels', flag: 'labels', env: 'SWARMFLOW_LABELS', describe: 'Labels k=v,... matched by deploy.labels', default: () => ({}), parse: parseLabels },
  { key: 'mdns', flag: 'mdns', env: 'SWARMFLOW_MDNS', describe: 'Discover peers on the LAN with mDNS (true/false)', default: () => true, parse: bool },
  { key: 'zenohListen', flag: 'zenoh-listen', env: 'SWARMFLOW_ZENOH_LISTEN', describe: 'host:port of the local zenoh-ts (remote-api) endpoint; port 0 = any free port', default: () => '127.0.0.1:0', parse: hostPort },
  { key: 'zenohRouter', flag: 'zenoh-router', env: 'SWARMFLOW_ZENOH_ROUTER', describe: 'ws://HOST:PORT of a zenohd remote-api to join as a backbone', default: () => undefined, parse: (r: string) => r },
  { key: 'zenohPrefix', flag: 'zenoh-prefix', env: 'SWARMFLOW_ZENOH_PREFIX', describe: 'Key prefix bridged with the backbone', default: () => 'swarmflow/**', parse: (r: string) => r },
  { key: 'mqtt', flag: 'mqtt', env: 'SWARMFLOW_MQTT', describe: 'mqtt://HOST:PORT of a broker to bridge the swarm\'s data with', default: () => undefined, parse: (r: string) => r },
  { key: 'mqttKeyPrefix', flag: 'mqtt-key-prefix', env: 'SWARMFLOW_MQTT_KEY_PREFIX', describe: 'Zenoh key prefix bridged with MQTT (default swarmflow/<swarm id>)', default: () => undefined, parse: (r: string) => r },
  { key: 'mqttTopicPrefix', flag: 'mqtt-topic-prefix', env: 'SWARMFLOW_MQTT_TOPIC_PREFIX', describe: 'MQTT topic prefix (default: the key prefix)', default: () => undefined, parse: (r: string) => r },
  { key: 'control', flag: 'control', env: 'SWARMFLOW_CONTROL', describe: 'Loopback host:port of the local control API; port 0 = any free port', default: () => '127.0.0.1:0', parse: hostPort },
  { key: 'heartbeatMs', flag: 'heartbeat-ms', env: 'SWARMFLOW_HEARTBEAT_MS', describe: 'Heartbeat period on every mesh link', default: () => 250, parse: int },
  { key: 'suspectMs', flag: 'suspect-ms', env: 'SWARMFLOW_SUSPECT_MS', describe: 'Silence before a member is suspect', default: () => 750, parse: int },
  { key: 'deadMs', flag: 'dead-ms', env: 'SWARMFLOW_DEAD_MS', describe: 'Silence before a member is dead', default: () => 1500, parse: int },
  { key: 'logLevel', flag: 'log-level', env: 'SWARMFLOW_LOG_LEVEL', describe: 'trace, debug, info, warn, error', default: () => 'info', parse: (r: string, from: string) => {
    if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(r)) throw new UsageError(`${from} must be one of trace, debug, info, warn, error, got '${r}'`)
    return r
  } },
] as const satisfies ReadonlyArray<Setting<keyof PeerConfig>>

/**
 * Reads `.env` (from the working directory, or `envFile`) without overriding variables already set:
 * the real environment wins over the file.
 */
export function loadDotEnv (env: NodeJS.ProcessEnv, envFile = resolve('.env')): NodeJS.ProcessEnv {
  if (!existsSync(envFile)) return env
  let parsed: Record<string, string>
  try {
    parsed = parseEnv(readFileSync(envFile, 'utf8')) as Record<string, string>
  } catch (err) {
    throw new UsageError(`could not read ${envFile}: ${(err as Error).message}; fix or remove the file`, { cause: err })
  }
  return { ...parsed, ...env }
}

/**
 * Resolves the configuration: a flag given on the command line wins, then the environment
 * (including .env), then the default. `flags` holds raw strings (or string[] for repeatable flags).
 */
export function resolveConfig (flags: Record<string, string | string[] | boolean | undefined>, env: NodeJS.ProcessEnv): PeerConfig {
  const out: Record<string, unknown> = {}
  for (const s of SETTINGS) {
    const f = flags[s.flag]
    const fromFlag = Array.isArray(f) ? f.join(',') : typeof f === 'boolean' ? String(f) : f
    if (fromFlag !== undefined) out[s.key] = s.parse(fromFlag, `--${s.flag}`)
    else if (env[s.env] !== undefined && env[s.env] !== '') out[s.key] = s.parse(env[s.env] as string, s.env)
    else out[s.key] = s.default()
  }
  const cfg = out as unknown as PeerConfig
  if (cfg.suspectMs >= cfg.deadMs) throw new UsageError(`suspect time (${cfg.suspectMs} ms) must be shorter than dead time (${cfg.deadMs} ms)`)
  return cfg
}
