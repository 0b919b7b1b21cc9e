import { describe, it, expect } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'node:http'
import { createControlServer, controlCall, NoPeerRunningError, ControlRequestError } from './control.ts'
import { silentLogger } from '../../common/log.ts'

function post (url: string, token: string, body: string): Promise<{ status: number, text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/echo', url), { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.on('data', (d: Buffer) => { text += d.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('control API', () => {
  it('answers authenticated JSON calls and refuses bad tokens, non-object bodies and unknown routes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-control-'))
    const server = createControlServer({ dataDir: dir, listen: '127.0.0.1:0' }, {
      logger: silentLogger(),
      routes: { 'POST /echo': async ({ body }) => ({ got: body }) },
    })
    await server.start()
    try {
      expect(await controlCall(dir, 'POST', '/echo', { a: 1 })).toEqual({ got: { a: 1 } })
      const { readFileSync } = await import('node:fs')
      const token = readFileSync(join(dir, 'control.token'), 'utf8')
      expect((await post(server.url, 'wrong', '{}')).status).toBe(401)
      for (const bad of ['null', '42', '[1]', '"x"', '{not json']) {
        const r = await post(server.url, token, bad)
        expect(r.status, bad).toBe(400)
        expect(JSON.parse(r.text).error.code).toBe('BadJson')
      }
      await expect(controlCall(dir, 'GET', '/nope')).rejects.toBeInstanceOf(ControlRequestError)
    } finally {
      await server.stop()
    }
    // stopped: the CLI is told no peer runs, and how to start one
    await expect(controlCall(dir, 'GET', '/status')).rejects.toBeInstanceOf(NoPeerRunningError)
    writeFileSync(join(dir, 'control.json'), JSON.stringify({ url: 'http://127.0.0.1:9', pid: 999_999_999 }))
    await expect(controlCall(dir, 'GET', '/status')).rejects.toThrow(/has exited/)
  })
})
