/**
 * The `peer` command: one binary every device runs. `peer join` runs the peer in the foreground;
 * every other command either works on the data dir offline (init, invite) or talks to the running
 * peer through its local control API.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { isSwarmflowError, UsageError } from '../common/errors.ts'
import { resolveConfig, loadDotEnv, SETTINGS } from './config/index.ts'
import { controlCall } from './control/index.ts'
import { table, duration, ago, parseDuration } from './cli/format.ts'
import { tuneHeapForRelaying } from './runtime/v8-heap.ts'

// Command modules are loaded on use: read commands then start in a fraction of the time a peer takes.
const runtimeCommands = async (): Promise<typeof import('./runtime/commands.ts')> => await import('./runtime/commands.ts')
const flowCommands = async (): Promise<typeof import('./runtime/flow-commands.ts')> => await import('./runtime/flow-commands.ts')

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

const configOptions: NonNullable<ParseArgsConfig['options']> = Object.fromEntries(SETTINGS.map(s => [s.flag, { type: 'string', multiple: s.flag === 'bootstrap' || s.flag === 'listen' }]))

const COMMANDS: Record<string, { summary: string, usage: string, options?: NonNullable<ParseArgsConfig['options']> }> = {
  init: { summary: 'create a new swarm with this device as its first (admin) member', usage: 'peer init --swarm NAME [--name N] [--data-dir DIR]', options: { swarm: { type: 'string' } } },
  invite: { summary: 'print a signed, expiring, one-time invite token (admin members)', usage: 'peer invite [--name N] [--caps a,b] [--admin] [--ttl 1h]', options: { admin: { type: 'boolean' }, ttl: { type: 'string' } } },
  join: { summary: 'run the peer in the foreground (with --invite: join a swarm first)', usage: 'peer join [--invite TOKEN] [--bootstrap MULTIADDR]... [--listen MULTIADDR] [--name N] [--caps a,b] [--labels k=v,...] [--create] [--demo]', options: { invite: { type: 'string' }, create: { type: 'boolean' }, demo: { type: 'boolean' } } },
  status: { summary: 'this peer: id, name, swarm, listen addresses, data dir, uptime', usage: 'peer status [--json]' },
  members: { summary: 'the swarm roster with liveness', usage: 'peer members [--json]' },
  metrics: { summary: "this peer's counters (drops, refusals, sessions, …) as JSON", usage: 'peer metrics' },
  revoke: { summary: 'revoke a member (admin): every peer drops and refuses it', usage: 'peer revoke PEER [--reason TEXT]', options: { reason: { type: 'string' } } },
  deploy: { summary: 'validate a dataflow and write it into the swarm document', usage: 'peer deploy FILE [--name NAME]' },
  plan: { summary: 'what would run where right now, and why', usage: 'peer plan FILE [--name NAME] [--json]' },
  stop: { summary: 'stop a dataflow everywhere (kept in the document)', usage: 'peer stop NAME' },
  start: { summary: 'start a stopped dataflow', usage: 'peer start NAME' },
  rm: { summary: 'remove a dataflow from the swarm', usage: 'peer rm NAME' },
  ps: { summary: 'dataflows and their node instances across the swarm', usage: 'peer ps [--json]' },
  logs: { summary: "a node's output, from whichever peer runs it", usage: 'peer logs NAME [NODE] [--follow] [--tail N] [--timestamps]', options: { follow: { type: 'boolean', short: 'f' }, tail: { type: 'string' }, timestamps: { type: 'boolean' } } },
  inspect: { summary: 'a dataflow or node in detail', usage: 'peer inspect NAME|NAME/NODE [--json]' },
}

function help (): string {
  const lines = [`swarmflow peer ${VERSION} — a coordinator-free dataflow runtime for robot swarms`, '', 'Commands:']
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(8)} ${c.summary}`)
  lines.push('', 'Settings (flag, environment variable; flags win over the environment and .env):')
  for (const s of SETTINGS) lines.push(`  --${s.flag.padEnd(14)} ${s.env.padEnd(24)} ${s.describe}`)
  lines.push('', 'Read commands accept --json. Run `peer <command> --help` for its usage.')
  return lines.join('\n')
}

async function main (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') { console.log(help()); return command === undefined ? 2 : 0 }
  if (command === 'version' || command === '--version') { console.log(VERSION); return 0 }
  const spec = COMMANDS[command]
  if (!spec) throw new UsageError(`unknown command '${command}'; run 'peer --help' for the list`)
  let parsed
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: { ...configOptions, ...spec.options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    })
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${spec.usage}`)
  }
  const { positionals } = parsed
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>
  if (values.help) { console.log(`usage: ${spec.usage}\n\n${spec.summary}`); return 0 }
  const env = loadDotEnv(process.env)
  const config = resolveConfig(values as Record<string, string | string[] | boolean | undefined>, env)
  const json = values.json === true
  const dataDir = config.dataDir
  const str = (k: string): string | undefined => typeof values[k] === 'string' ? values[k] as string : undefined
  const one = (what: string): string => {
    if (positionals.length !== 1) throw new UsageError(`expected ${what}\nusage: ${spec.usage}`)
    return positionals[0] as string
  }
  if (command !== 'logs' && command !== 'deploy' && command !== 'plan' && command !== 'inspect' && !['revoke', 'stop', 'start', 'rm'].includes(command) && positionals.length > 0) {
    throw new UsageError(`unexpected argument '${positionals[0]}'\nusage: ${spec.usage}`)
  }

  switch (command) {
    case 'init': {
      const swarm = str('swarm')
      if (!swarm) throw new UsageError(`--swarm NAME is required\nusage: ${spec.usage}`)
      const r = await (await runtimeCommands()).commandInit(config, swarm)
      if (json) console.log(JSON.stringify(r, null, 2))
      else console.log(`created swarm '${r.swarm.name}' (${r.swarm.id}); this device is member '${r.name}' (${r.id}) with role admin\nnext: peer join --data-dir ${dataDir}`)
      return 0
    }
    case 'invite': {
      const ttlRaw = str('ttl') ?? '1h'
      const ttlMs = parseDuration(ttlRaw)
      if (ttlMs === undefined || ttlMs <= 0) throw new UsageError(`--ttl '${ttlRaw}' is not a duration (examples: 30m, 1h, 2d)`)
      const explicitName = values.name !== undefined ? String(values.name) : (env.SWARMFLOW_INVITE_NAME ?? undefined)
      const token = await (await runtimeCommands()).commandInvite(config, { name: explicitName, caps: config.caps, admin: values.admin === true, ttlMs })
      console.error(`invite for ${explicitName ?? 'a new member'}${values.admin ? ' (admin)' : ''}, valid ${ttlRaw}, usable once. On the new device run:\n  peer join --invite <token>`)
      console.log(token)
      return 0
    }
    case 'join': {
      tuneHeapForRelaying()
      return await (await runtimeCommands()).commandJoin(config, { invite: str('invite'), create: values.create === true, demo: values.demo === true, nameGiven: values.name !== undefined || env.SWARMFLOW_NAME !== undefined })
    }
    case 'status': {
      const s = await controlCall<Record<string, unknown> & { swarm: { id: string, name: string }, listen: string[], uptimeMs: number }>(dataDir, 'GET', '/status')
      if (json) { console.log(JSON.stringify(s, null, 2)); return 0 }
      console.log([
        `id:        ${String(s.id)}`,
        `name:      ${String(s.name)}`,
        `swarm:     ${s.swarm.name} (${s.swarm.id})`,
        `listen:    ${s.listen.join('\n           ')}`,
        `zenoh:     ${String(s.zenoh ?? '-')}`,
        `data dir:  ${String(s.dataDir)}`,
        `uptime:    ${duration(s.uptimeMs)}`,
        `members:   ${String(s.membersAlive ?? '-')} alive of ${String(s.membersTotal ?? '-')}`,
      ].join('\n'))
      return 0
    }
    case 'members': {
      const ms = await controlCall<Array<{ name: string, id: string, state: string, caps: string[], labels: Record<string, string>, lastSeen: number | null, addresses: string[], self?: boolean }>>(dataDir, 'GET', '/members')
      if (json) { console.log(JSON.stringify(ms, null, 2)); return 0 }
      console.log(table(['name', 'id', 'state', 'caps', 'labels', 'last seen', 'addresses'], ms.map(m => [m.self ? `${m.name} (self)` : m.name, m.id, m.state, m.caps, m.labels, m.self ? 'now' : ago(m.lastSeen), m.addresses])))
      return 0
    }
    case 'metrics': {
      console.log(JSON.stringify(await controlCall(dataDir, 'GET', '/metrics'), null, 2))
      return 0
    }
    case 'revoke': {
      const target = one('the peer to revoke (its name or id)')
      const r = await controlCall<{ id: string, name: string }>(dataDir, 'POST', '/revoke', { peer: target, reason: str('reason') ?? 'revoked by admin' })
      if (json) console.log(JSON.stringify(r))
      else console.log(`revoked ${r.name} (${r.id}); every peer drops and refuses it from now on`)
      return 0
    }
    case 'deploy': return await (await flowCommands()).commandDeploy(config, { file: resolve(one('a dataflow file')), name: str('name'), json })
    case 'plan': return await (await flowCommands()).commandPlan(config, { file: resolve(one('a dataflow file')), name: str('name'), json })
    case 'stop':
    case 'start':
    case 'rm': {
      const name = one('a dataflow name')
      const r = await controlCall<{ name: string, state?: string }>(dataDir, 'POST', `/flows/${command}`, { name })
      if (json) console.log(JSON.stringify(r))
      else console.log(command === 'rm' ? `removed dataflow ${name}` : `dataflow ${name}: ${r.state ?? command}`)
      return 0
    }
    case 'ps': return await (await flowCommands()).commandPs(config, { json })
    case 'logs': {
      if (positionals.length < 1 || positionals.length > 2) throw new UsageError(`expected a dataflow name and optionally a node\nusage: ${spec.usage}`)
      const tailRaw = str('tail')
      const tail = tailRaw === undefined ? undefined : Number(tailRaw)
      if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new UsageError(`--tail must be a whole number, got '${tailRaw}'`)
      return await (await flowCommands()).commandLogs(config, { flow: positionals[0] as string, node: positionals[1], follow: values.follow === true, tail, timestamps: values.timestamps === true })
    }
    case 'inspect': return await (await flowCommands()).commandInspect(config, { target: one('a dataflow or NAME/NODE'), json })
  }
  return 2
}

main(process.argv.slice(2)).then(code => { process.exitCode = code }, (err: unknown) => {
  if (isSwarmflowError(err)) console.error(`peer: ${err.message}`)
  else console.error(`peer: unexpected error: ${(err as Error)?.stack ?? String(err)}`)
  process.exitCode = 1
})
