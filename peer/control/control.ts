import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdir, readFile, rm, writeFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../../common/log.ts'
import { SwarmflowError, isSwarmflowError } from '../../common/errors.ts'

/** No peer answers for this data dir. */
export class NoPeerRunningError extends SwarmflowError {
  constructor (dataDir: string, detail?: string) {
    super(`no peer is running for data dir ${dataDir}${detail ? ` (${detail})` : ''}; start one with: peer join --data-dir ${dataDir}`)
  }
}
/** The running peer refused or failed a request; carries the peer's error code. */
export class ControlRequestError extends SwarmflowError {
  readonly status: number
  constructor (message: string, code: string, status: number) {
    super(message, { code })
    this.status = status
  }
}
export class ControlAuthError extends SwarmflowError {}

export type ControlHandler = (req: { query: URLSearchParams, body: unknown, signal: AbortSignal }, res: ServerResponse) => Promise<unknown>

export interface ControlServer {
  readonly url: string
  start(): Promise<void>
  stop(): Promise<void>
}

const MAX_BODY = 16 * 1024 * 1024

/**
 * The local control API: HTTP bound to loopback, every request authenticated by a bearer token kept
 * in `<dataDir>/control.token` (mode 0600). `control.json` tells CLI clients where to connect.
 * Routes are 'GET /status' style keys; a handler returns JSON, or writes a streaming response itself
 * and returns undefined.
 */
export function createControlServer (config: { dataDir: string, listen: string }, deps: { logger: Logger, routes: Record<string, ControlHandler> }): ControlServer {
  const log = deps.logger
  let server: Server | undefined
  let url = ''
  const token = randomBytes(32).toString('hex')
  const tokenBuf = Buffer.from(token)

  const authorized = (req: IncomingMessage): boolean => {
    const h = req.headers.authorization ?? ''
    const given = Buffer.from(h.startsWith('Bearer ') ? h.slice(7) : '')
    return given.length === tokenBuf.length && timingSafeEqual(given, tokenBuf)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const ac = new AbortController()
    res.on('close', () => ac.abort())
    const reply = (status: number, body: unknown): void => {
      if (res.headersSent) { res.end(); return }
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (!authorized(req)) { reply(401, { error: { code: 'ControlAuthError', message: 'missing or wrong control token' } }); return }
    const u = new URL(req.url ?? '/', 'http://localhost')
    const route = deps.routes[`${req.method} ${u.pathname}`]
    if (!route) { reply(404, { error: { code: 'NotFound', message: `no route ${req.method} ${u.pathname}` } }); return }
    let body: unknown
    if (req.method === 'POST') {
      const chunks: Buffer[] = []
      let size = 0
      for await (const c of req) {
        size += (c as Buffer).length
        if (size > MAX_BODY) { reply(413, { error: { code: 'TooLarge', message: `request body over ${MAX_BODY} bytes` } }); return }
        chunks.push(c as Buffer)
      }
      try { body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {} } catch {
        reply(400, { error: { code: 'BadJson', message: 'request body is not JSON' } }); return
      }
      // Every route reads named fields: anything but a JSON object is refused here, once.
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        reply(400, { error: { code: 'BadJson', message: 'request body must be a JSON object' } }); return
      }
    }
    try {
      const result = await route({ query: u.searchParams, body, signal: ac.signal }, res)
      if (result !== undefined) reply(200, result)
      else if (!res.writableEnded) res.end()
    } catch (err) {
      if (isSwarmflowError(err)) reply(400, { error: { code: err.code, message: err.message } })
      else {
        log.error({ err, route: `${req.method} ${u.pathname}` }, 'control request failed')
        reply(500, { error: { code: 'Internal', message: (err as Error).message } })
      }
    }
  }

  return {
    get url () { return url },
    async start () {
      if (server) return
      const [host, portStr] = splitHostPort(config.listen)
      const s = createServer((req, res) => { handle(req, res).catch(err => log.error({ err }, 'control handler crashed')) })
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject)
        s.listen(Number(portStr), host, () => { s.off('error', reject); resolve() })
      })
      server = s
      const addr = s.address()
      if (addr === null || typeof addr === 'string') throw new SwarmflowError('control server has no TCP address')
      url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`
      await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
      await writeAtomic(join(config.dataDir, 'control.token'), token, 0o600)
      await writeAtomic(join(config.dataDir, 'control.json'), JSON.stringify({ url, pid: process.pid, startedAt: Date.now() }), 0o600)
      log.info({ url }, 'control API listening')
    },
    async stop () {
      const s = server
      if (!s) return
      server = undefined
      await rm(join(config.dataDir, 'control.json'), { force: true })
      s.closeAllConnections()
      await new Promise<void>(resolve => s.close(() => resolve()))
    },
  }
}

function splitHostPort (hp: string): [string, string] {
  const i = hp.lastIndexOf(':')
  return [hp.slice(0, i).replace(/^\[|\]$/g, ''), hp.slice(i + 1)]
}

async function writeAtomic (file: string, data: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, data, { mode })
  await rename(tmp, file)
}

async function endpoint (dataDir: string): Promise<{ url: string, token: string, pid: number }> {
  let info: { url?: unknown, pid?: unknown }
  let token: string
  try {
    info = JSON.parse(await readFile(join(dataDir, 'control.json'), 'utf8')) as typeof info
    token = (await readFile(join(dataDir, 'control.token'), 'utf8')).trim()
  } catch {
    throw new NoPeerRunningError(dataDir)
  }
  if (typeof info.url !== 'string' || typeof info.pid !== 'number') throw new NoPeerRunningError(dataDir, 'control.json is unreadable')
  try { process.kill(info.pid, 0) } catch { throw new NoPeerRunningError(dataDir, `the peer that wrote control.json (pid ${info.pid}) has exited`) }
  return { url: info.url, token, pid: info.pid }
}

/** Calls the running peer's control API and returns its JSON reply. */
export async function controlCall<T = unknown> (dataDir: string, method: 'GET' | 'POST', path: string, body?: unknown, opts: { timeoutMs?: number } = {}): Promise<T> {
  const res = await controlRequest(dataDir, method, path, body, opts)
  const text = await readAll(res)
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch { throw new ControlRequestError(`peer answered ${path} with non-JSON`, 'BadReply', res.statusCode ?? 0) }
  if ((res.statusCode ?? 500) >= 400) {
    const e = (parsed as { error?: { code?: string, message?: string } }).error
    throw new ControlRequestError(e?.message ?? `peer answered ${res.statusCode}`, e?.code ?? 'ControlRequestError', res.statusCode ?? 0)
  }
  return parsed as T
}

/** Opens a streaming request (e.g. logs --follow); the caller reads the response. */
export async function controlRequest (dataDir: string, method: 'GET' | 'POST', path: string, body?: unknown, opts: { timeoutMs?: number } = {}): Promise<IncomingMessage> {
  const ep = await endpoint(dataDir)
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(new URL(path, ep.url), {
      method,
      headers: { authorization: `Bearer ${ep.token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
      timeout: opts.timeoutMs ?? 30_000,
    }, resolve)
    req.on('timeout', () => req.destroy(new ControlRequestError(`the peer did not answer ${path} in time`, 'Timeout', 0)))
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') reject(new NoPeerRunningError(dataDir, 'its control API refused the connection'))
      else reject(err)
    })
    req.end(payload)
  })
}

async function readAll (res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of res) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
