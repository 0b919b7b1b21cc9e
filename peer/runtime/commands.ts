import { hostname } from 'node:os'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { createLogger, type Logger } from '../../common/log.ts'
import { UsageError, SwarmflowError } from '../../common/errors.ts'
import type { PeerConfig } from '../config/index.ts'
import { controlCall, NoPeerRunningError } from '../control/index.ts'
import { createPeerRuntime, NotAMemberError } from './peer.ts'
import { buildTrust, initSwarm, makeInvite, prepareJoin, loadMembershipState, saveMembershipState, loadDeviceIdentity, inviteSwarmId } from './trust-impl.ts'

export interface InitResult { swarm: { id: string, name: string }, id: string, name: string, dataDir: string }

/** `peer init --swarm NAME`: a new swarm root, and this device as its first (admin) member. */
export async function commandInit (config: PeerConfig, swarmName: string): Promise<InitResult> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(swarmName)) throw new UsageError(`swarm name '${swarmName}' must be 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit`)
  return await initSwarm(config, swarmName)
}

/** `peer invite`: a signed, expiring, one-time token; addresses come from the running peer when there is one. */
export async function commandInvite (config: PeerConfig, opts: { name?: string, caps: string[], admin: boolean, ttlMs: number }): Promise<string> {
  let addrs: string[] = []
  try {
    const s = await controlCall<{ listen: string[], id: string }>(config.dataDir, 'GET', '/status', undefined, { timeoutMs: 5000 })
    addrs = s.listen.map(a => a.includes('/p2p/') ? a : `${a}/p2p/${s.id}`)
  } catch (err) {
    if (!(err instanceof NoPeerRunningError)) throw err
  }
  return await makeInvite(config, { ...opts, addrs })
}

/**
 * `peer join`: runs the peer until SIGINT/SIGTERM. With an invite it first obtains its membership
 * from the swarm (nothing is written unless a member admits it); without one it resumes the
 * membership stored in the data dir, with or without a network.
 */
export async function commandJoin (config: PeerConfig, opts: { invite?: string, create: boolean, demo: boolean, nameGiven: boolean }): Promise<number> {
  const log = createLogger({ level: config.logLevel })
  let state = await loadMembershipState(config.dataDir)
  if (!state && opts.invite === undefined && !opts.create) {
    throw new NotAMemberError(`this device (data dir ${config.dataDir}) is not a member of any swarm. Start a new swarm with 'peer init --swarm NAME', or join one with 'peer join --invite TOKEN' (ask an admin member for a token: 'peer invite')`)
  }
  const identity = await loadDeviceIdentity(config.dataDir)
  let pendingJoin: Awaited<ReturnType<typeof prepareJoin>> | undefined

  if (opts.invite !== undefined && state) {
    // Re-running the same join line (a service unit, a boot script) resumes the membership.
    const swarmOfInvite = inviteSwarmId(opts.invite)
    if (swarmOfInvite !== state.swarmId) {
      throw new UsageError(`data dir ${config.dataDir} already belongs to swarm '${state.swarmName}' (${state.swarmId}) but the invite is for swarm ${swarmOfInvite ?? '(unreadable)'}; use another --data-dir for a new membership`)
    }
    log.info({ swarm: state.swarmId }, 'already a member of the invite\'s swarm; resuming the stored membership and ignoring the invite')
  } else if (opts.invite !== undefined) {
    pendingJoin = await prepareJoin(config, identity, opts.invite)
    state = pendingJoin.state
    config = { ...config, bootstrap: [...new Set([...config.bootstrap, ...pendingJoin.bootstrap])] }
    if (!opts.nameGiven && pendingJoin.invitedName) config = { ...config, name: pendingJoin.invitedName }
  } else if (!state) {
    if (!opts.create) {
      throw new NotAMemberError(`this device (data dir ${config.dataDir}) is not a member of any swarm. Start a new swarm with 'peer init --swarm NAME', or join one with 'peer join --invite TOKEN' (ask an admin member for a token: 'peer invite')`)
    }
    const r = await initSwarm(config, `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 40) || 'device'}-swarm`)
    log.info({ swarm: r.swarm }, 'created a one-device swarm')
    state = await loadMembershipState(config.dataDir)
    if (!state) throw new SwarmflowError('membership was not written by init')
  }

  if (!opts.nameGiven && !pendingJoin && state.memberName) config = { ...config, name: state.memberName }
  // A device advertises the capabilities its certificate grants unless told otherwise.
  if (config.caps.length === 0 && state.certificate.caps.length > 0) config = { ...config, caps: [...state.certificate.caps] }
  const trust = buildTrust(identity, state)
  const runtime = await createPeerRuntime({ config, trust, logger: log })
  // Loaded here so the read commands stay fast (the data plane pulls in zenoh-ts and Arrow).
  const { startFlowLayer } = await import('./flows.ts')
  const flows = await startFlowLayer({ config, runtime, logger: log, demo: opts.demo })

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await flows.stop().catch(err => log.warn({ err }, 'flow layer stop failed'))
      await runtime.stop()
    })()
    return stopping
  }
  const done = Promise.withResolvers<number>()
  const onSignal = (sig: string): void => {
    log.info({ signal: sig }, 'stopping')
    stop().then(() => done.resolve(0), () => done.resolve(1))
  }
  // A long-running peer logs a stray rejection instead of dying from it (Node's default is to exit);
  // each one is a bug to fix, so it is logged at error level with its stack.
  let strayRejections = 0
  process.on('unhandledRejection', (reason) => {
    strayRejections++
    log.error({ err: reason, strayRejections }, 'unhandled promise rejection (bug): logged, peer keeps running')
  })
  process.once('SIGINT', () => onSignal('SIGINT'))
  process.once('SIGTERM', () => onSignal('SIGTERM'))

  try {
    await runtime.start()
    await flows.start()
  } catch (err) {
    await stop().catch(() => {})
    throw err
  }

  if (pendingJoin) {
    const joined = await awaitAdmission(runtime, log, config.bootstrap)
    if (joined instanceof Error) {
      await stop().catch(() => {})
      // Nothing half-written: the refused device keeps only its identity key.
      await rm(join(config.dataDir, 'doc'), { recursive: true, force: true })
      await rm(join(config.dataDir, 'peers.json'), { force: true })
      console.error(`peer: could not join swarm '${state.swarmName}': ${joined.message}`)
      return 1
    }
    await saveMembershipState(config.dataDir, { ...state, memberName: config.name })
    console.error(`joined swarm '${state.swarmName}' (${state.swarmId}) as '${config.name}' (${runtime.peerId})`)
  } else {
    console.error(`peer '${config.name}' (${runtime.peerId}) running in swarm '${state.swarmName}' (${state.swarmId}); control API ${runtime.control.url}; stop with Ctrl-C`)
  }
  return await done.promise
}

/** Waits until some member admits us; the first refusal with a verdict about our certificate is final. */
async function awaitAdmission (runtime: Awaited<ReturnType<typeof createPeerRuntime>>, log: Logger, bootstrap: string[]): Promise<true | Error> {
  if (bootstrap.length === 0 && runtime.membership.admitted().size === 0) {
    // mDNS may still find members on the LAN; give it the same deadline.
    log.warn('joining with an invite but no bootstrap address: relying on mDNS discovery')
  }
  // The handshake may have completed while the peer was still starting.
  if (runtime.membership.admitted().size > 0) return true
  return await new Promise<true | Error>((resolve) => {
    const timer = setTimeout(() => {
      cleanup()
      resolve(new SwarmflowError(`no member answered within 30 s (tried ${bootstrap.length ? bootstrap.join(', ') : 'mDNS only'}); check that a member is running and reachable, then retry`))
    }, 30_000)
    const offA = runtime.membership.onAdmitted(() => { cleanup(); resolve(true) })
    const offR = runtime.membership.onRefused((_peer, err, byRemote) => {
      if (byRemote) { cleanup(); resolve(err) }
    })
    const cleanup = (): void => { clearTimeout(timer); offA(); offR() }
    if (runtime.membership.admitted().size > 0) { cleanup(); resolve(true); return }
    // Members dial us back with the lower id only; we knock ourselves on every connection.
    for (const peer of runtime.host.connectedPeers()) void runtime.membership.handshake(peer).catch(() => {})
    runtime.host.onConnect((peer) => { void runtime.membership.handshake(peer).catch(() => {}) })
  })
}
