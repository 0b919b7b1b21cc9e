/**
 * Contracts of the mesh layer. Types only; implementations live beside this file.
 *
 * Every component that talks to other peers (swarm-document sync, the Zenoh router, admission)
 * does so over a FramedChannel: one libp2p stream on one protocol between this peer and one
 * Noise-authenticated remote peer, carrying length-prefixed frames.
 */

import type { Uint8ArrayList } from 'uint8arraylist'

/** Peer ids are libp2p peer ids in their string form (base58btc, "12D3Koo…" for ed25519). */
export type PeerIdString = string

export interface FramedChannel {
  /** The Noise-authenticated remote peer. Anything a frame claims about its sender is checked against this. */
  readonly remotePeer: PeerIdString
  readonly protocol: string
  /**
   * Sends one frame. Resolves once the frame is accepted by the stream; waits on the stream's
   * 'drain' when its buffer is full (backpressure). Rejects with ChannelClosedError once closed,
   * and with FrameTooLargeError when the frame exceeds the channel's maximum. A frame given as a
   * Uint8ArrayList (pieces of one frame) is sent without joining its pieces.
   */
  send(frame: Uint8Array | Uint8ArrayList, options?: { signal?: AbortSignal }): Promise<void>
  /** Incoming frames in order. Ends when the channel closes. Oversized frames are dropped, counted and close the channel. */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array>
  /** Graceful close; idempotent. */
  close(): Promise<void>
  /** Immediate close; idempotent. */
  abort(err?: Error): void
  /** Resolves (never rejects) when the channel is closed for any reason. */
  readonly closed: Promise<void>
}

/** Handles one inbound channel on a registered protocol. Must not throw; errors are its own to log. */
export type ChannelHandler = (channel: FramedChannel) => void

export type MemberState = 'alive' | 'suspect' | 'dead'
