/**
 * Bounded outbound queue in front of a sink that reports when it has flushed (a WebSocket's
 * send callback, a FramedChannel's send promise). Named policy: **drop-newest for droppable
 * frames** (samples, replies) once `maxFrames` or `maxBytes` is reached; control frames (acks,
 * finals) are always queued, and when even they exceed twice the budget the owner is told the
 * peer is too slow (`onOverflow`) and closes it — memory stays bounded either way.
 */
export interface OutboxLimits {
  maxFrames: number
  maxBytes: number
  /** Bytes handed to the sink and not yet flushed above which frames wait in the queue. */
  highWaterBytes: number
}

export interface OutboxSink<F extends { byteLength: number } = Uint8Array> {
  /** Hands one frame over; calls `done` once it left our process (or failed). */
  write(frame: F, done: () => void): void
}

/** `F`: a frame — bytes, or the pieces of one frame (Uint8ArrayList) for a sink that takes them. */
export class Outbox<F extends { byteLength: number } = Uint8Array> {
  /**
   * Routing and declaration frames overtake queued data: a subscriber declared while a bulk
   * publisher fills the queue must not wait behind thousands of samples (measured: a liveliness
   * token took > 15 s to cross a link still draining a throughput test's backlog under load).
   * Only frames whose order relative to data does not matter go here (never query finals, which
   * must follow their replies).
   */
  private urgent: F[] = []
  private frames: F[] = []
  private droppable: boolean[] = []
  private head = 0
  private queuedBytes = 0
  private inflight = 0
  private closed = false
  dropped = 0
  written = 0
  writtenBytes = 0

  constructor (
    private readonly sink: OutboxSink<F>,
    private readonly limits: OutboxLimits,
    private readonly onOverflow: () => void,
    private readonly onPressure?: (high: boolean) => void,
  ) {}

  get queued (): number { return this.frames.length - this.head + this.urgent.length }
  get bytes (): number { return this.queuedBytes }
  /** True while the queue holds more than half its budget: the owner should stop reading from its peer. */
  get underPressure (): boolean { return this.queued * 2 > this.limits.maxFrames || this.queuedBytes * 2 > this.limits.maxBytes }

  /** Returns false when the frame was dropped. `urgent` frames (never droppable) jump the data queue. */
  push (frame: F, droppable: boolean, urgent = false): boolean {
    if (this.closed) return false
    if (this.queued === 0 && this.inflight < this.limits.highWaterBytes) {
      this.write(frame)
      return true
    }
    if (urgent && !droppable) {
      if (this.queued >= this.limits.maxFrames * 2 || this.queuedBytes + frame.byteLength > this.limits.maxBytes * 2) {
        this.close()
        this.onOverflow()
        return false
      }
      this.urgent.push(frame)
      this.queuedBytes += frame.byteLength
      return true
    }
    const full = this.queued >= this.limits.maxFrames || this.queuedBytes + frame.byteLength > this.limits.maxBytes
    if (full) {
      if (droppable) { this.dropped++; return false }
      if (this.queued >= this.limits.maxFrames * 2 || this.queuedBytes + frame.byteLength > this.limits.maxBytes * 2) {
        this.close()
        this.onOverflow()
        return false
      }
    }
    const wasPressured = this.underPressure
    this.frames.push(frame)
    this.droppable.push(droppable)
    this.queuedBytes += frame.byteLength
    if (!wasPressured && this.underPressure) this.onPressure?.(true)
    return true
  }

  private write (frame: F): void {
    const n = frame.byteLength
    this.inflight += n
    this.written++
    this.writtenBytes += n
    this.sink.write(frame, () => {
      this.inflight -= n
      this.flush()
    })
  }

  private flush (): void {
    if (this.closed) return
    const wasPressured = this.underPressure
    while (this.urgent.length > 0 && this.inflight < this.limits.highWaterBytes) {
      const f = this.urgent.shift() as F
      this.queuedBytes -= f.byteLength
      this.write(f)
    }
    while (this.urgent.length === 0 && this.head < this.frames.length && this.inflight < this.limits.highWaterBytes) {
      const f = this.frames[this.head] as F
      this.frames[this.head] = undefined as unknown as F
      this.head++
      this.queuedBytes -= f.byteLength
      this.write(f)
    }
    if (this.head === this.frames.length) { this.frames = []; this.droppable = []; this.head = 0 } else if (this.head > 1024) {
      this.frames = this.frames.slice(this.head)
      this.droppable = this.droppable.slice(this.head)
      this.head = 0
    }
    if (wasPressured && !this.underPressure) this.onPressure?.(false)
  }

  close (): void {
    this.closed = true
    this.urgent = []
    this.frames = []
    this.droppable = []
    this.head = 0
    this.queuedBytes = 0
  }
}
