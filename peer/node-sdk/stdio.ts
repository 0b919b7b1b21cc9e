/**
 * Framing of the stdio node protocol (STDIO.md): executables in any language are nodes by reading
 * frames on stdin and writing frames on stdout.
 *
 *   frame := u32le headerLength, header (UTF-8 JSON object), u32le bodyLength, body (bytes)
 */
import { StdioFrameError } from './errors.ts'

export const MAX_HEADER_BYTES = 64 * 1024
/** Largest body accepted (one Arrow IPC stream). */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024

export interface StdioHeader {
  type: string
  id?: string
  [k: string]: unknown
}

export interface StdioFrame {
  header: StdioHeader
  body: Uint8Array
}

export function encodeFrame (header: StdioHeader, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = Buffer.from(JSON.stringify(header))
  const out = Buffer.allocUnsafe(8 + h.length + body.length)
  out.writeUInt32LE(h.length, 0)
  h.copy(out, 4)
  out.writeUInt32LE(body.length, 4 + h.length)
  out.set(body, 8 + h.length)
  return out
}

/**
 * Incremental decoder. `push` returns the frames completed by a chunk and the number of frames
 * dropped because their header was not a JSON object with a string `type` (framing stays intact).
 * A length beyond the limits throws StdioFrameError: the stream cannot be resynchronized.
 */
export class FrameDecoder {
  private chunks: Buffer[] = []
  private buffered = 0

  push (chunk: Uint8Array): { frames: StdioFrame[], bad: number } {
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    this.buffered += chunk.byteLength
    const frames: StdioFrame[] = []
    let bad = 0
    while (true) {
      if (this.buffered < 4) break
      let buf = this.flatten()
      const hl = buf.readUInt32LE(0)
      if (hl > MAX_HEADER_BYTES) throw new StdioFrameError(`header length ${hl} exceeds ${MAX_HEADER_BYTES}`)
      if (this.buffered < 8 + hl) break
      const bl = buf.readUInt32LE(4 + hl)
      if (bl > MAX_FRAME_BYTES) throw new StdioFrameError(`body length ${bl} exceeds ${MAX_FRAME_BYTES}`)
      const total = 8 + hl + bl
      if (this.buffered < total) break
      buf = this.flatten()
      let header: unknown
      try { header = JSON.parse(buf.subarray(4, 4 + hl).toString('utf8')) } catch { header = undefined }
      // Copy the body: the chunk it lives in is reused by the stream.
      const body = new Uint8Array(buf.subarray(8 + hl, total))
      this.chunks = buf.length > total ? [buf.subarray(total)] : []
      this.buffered -= total
      if (header !== null && typeof header === 'object' && !Array.isArray(header) && typeof (header as StdioHeader).type === 'string') frames.push({ header: header as StdioHeader, body })
      else bad++
    }
    return { frames, bad }
  }

  private flatten (): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks)]
    return this.chunks[0] as Buffer
  }
}
