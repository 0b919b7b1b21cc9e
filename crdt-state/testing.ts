/**
 * Test support for crdt-state (not exported by index.ts): an in-memory FramedChannel pair for pure
 * adapter tests, and an authz with real ed25519 signatures standing in for mesh/admission.
 */
import nacl from 'tweetnacl'
import type { FramedChannel } from '../mesh/interfaces.ts'
import type { ActorCertVerdict, SwarmDocumentAuthz } from './interfaces.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** Two connected in-memory channels: what A writes, B reads (remotePeer = the other side). */
interface MemoryChannel extends FramedChannel {
  deliver(f: Uint8Array): void
  end(): void
  other?: MemoryChannel
}

export function memoryChannelPair (peerA: string, peerB: string, protocol = '/swarmflow/doc/1.0.0'): [FramedChannel, FramedChannel] {
  const make = (remotePeer: string): MemoryChannel => {
    const inbox: Uint8Array[] = []
    let wake: (() => void) | undefined
    let isClosed = false
    let resolveClosed!: () => void
    const closed = new Promise<void>(resolve => { resolveClosed = resolve })
    const ch: MemoryChannel = {
      remotePeer,
      protocol,
      closed,
      deliver (f: Uint8Array) { if (!isClosed) { inbox.push(f); wake?.() } },
      end () { if (!isClosed) { isClosed = true; wake?.(); resolveClosed() } },
      async send (frame: Uint8Array) {
        if (isClosed) throw new TypeError('memory channel closed')
        // Copy, like a real transport: the receiver must not see later mutations of the sender's buffer.
        const copy = new Uint8Array(frame)
        queueMicrotask(() => ch.other?.deliver(copy))
      },
      [Symbol.asyncIterator] (): AsyncIterator<Uint8Array> {
        return {
          next: async () => {
            while (true) {
              const f = inbox.shift()
              if (f !== undefined) return { done: false, value: f }
              if (isClosed) return { done: true, value: undefined }
              await new Promise<void>(resolve => { wake = resolve })
            }
          },
        }
      },
      async close () { ch.end(); ch.other?.end() },
      abort () { ch.end(); ch.other?.end() },
    }
    return ch
  }
  const a = make(peerB)
  const b = make(peerA)
  a.other = b
  b.other = a
  return [a, b]
}

export interface TestMember {
  publicKeyHex: string
  secretKey: Uint8Array
}

export function newTestMember (): TestMember {
  const kp = nacl.sign.keyPair()
  return { publicKeyHex: hex(kp.publicKey), secretKey: kp.secretKey }
}

/**
 * A roster of member keys, and an authz for one of them. Actor certificate = base64url JSON
 * { pub, actor, sig } where sig signs "swarmflow-actor:<actor>" with the member key.
 */
export class TestRoster {
  readonly members = new Set<string>()
  readonly revoked = new Set<string>()

  add (m: TestMember): TestMember { this.members.add(m.publicKeyHex); return m }

  static certify (m: TestMember, actorId: string): string {
    const sig = nacl.sign.detached(new TextEncoder().encode(`swarmflow-actor:${actorId}`), m.secretKey)
    return Buffer.from(JSON.stringify({ pub: m.publicKeyHex, actor: actorId, sig: hex(sig) })).toString('base64url')
  }

  authzFor (m: TestMember): SwarmDocumentAuthz {
    return {
      certifyActor: actorId => TestRoster.certify(m, actorId),
      verifyActorCert: (cert, actorId): ActorCertVerdict => {
        let parsed: { pub?: unknown, actor?: unknown, sig?: unknown }
        try { parsed = JSON.parse(Buffer.from(cert, 'base64url').toString('utf8')) } catch { return { ok: false, reason: 'not JSON' } }
        if (typeof parsed.pub !== 'string' || typeof parsed.sig !== 'string' || parsed.actor !== actorId) return { ok: false, reason: 'wrong shape or actor' }
        if (!this.members.has(parsed.pub)) return { ok: false, reason: 'not a member key' }
        const ok = nacl.sign.detached.verify(new TextEncoder().encode(`swarmflow-actor:${actorId}`), Buffer.from(parsed.sig, 'hex'), Buffer.from(parsed.pub, 'hex'))
        return ok ? { ok: true, memberPublicKeyHex: parsed.pub } : { ok: false, reason: 'bad signature' }
      },
      isCurrentMember: pub => this.members.has(pub),
      isRevoked: pub => this.revoked.has(pub),
    }
  }
}

/** Resolves when `pred` holds, polling on a short interval, or rejects after `ms` naming `what`. */
export async function until (what: string, pred: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!pred()) {
    if (Date.now() > deadline) throw new TypeError(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

/**
 * Resolves when `pred()` holds, re-checking on every change of `doc`; rejects after `ms`.
 * Event driven: no polling of document state.
 */
export function waitForChange (doc: { onChange(cb: () => void): () => void }, what: string, pred: () => boolean, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let unsubscribe = (): void => {}
    const timer = setTimeout(() => { unsubscribe(); reject(new TypeError(`timed out after ${ms} ms waiting for ${what}`)) }, ms)
    const check = (): void => {
      let ok = false
      try { ok = pred() } catch { ok = false }
      if (ok) { clearTimeout(timer); unsubscribe(); resolve() }
    }
    unsubscribe = doc.onChange(check)
    check()
  })
}
