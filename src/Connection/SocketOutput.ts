/**
 * The output side of a connection's socket, for its driver: writes gathered
 * while events nest leave in one write when the outermost event ends (the
 * responses of a pipelined batch together, small ones joined into one
 * buffer), and the peer's reading is watched: the output is blocked when
 * the socket's buffer passes its high water, progresses while the peer
 * reads some of it, and drains when the peer has read it all.
 *
 * @since 0.1.0
 */
import type * as Net from "node:net"
import { Effect } from "effect"

/** Pieces of one event's output up to this size are joined before writing. */
const COALESCE_MAX_BYTES = 64 * 1024
/**
 * Larger pieces are written in slices of this size (views, not copies):
 * the socket's buffer then shrinks as the peer reads each one, so a slow
 * but steady reader shows progress before the whole piece is out.
 */
const SLICE_BYTES = 256 * 1024

/**
 * What the output tells its driver.
 *
 * @since 0.1.0
 * @category models
 */
export interface OutputEvents {
  /** Written output waits for the peer to read it. */
  readonly blocked: () => void
  /** The peer read all that waited. */
  readonly drained: () => void
}

/**
 * @since 0.1.0
 * @category models
 */
export class SocketOutput {
  private readonly socket: Net.Socket
  private readonly events: OutputEvents
  private batch: Array<Uint8Array> | undefined = undefined
  private batchBytes = 0
  private depth = 0
  /** Output waits for the peer (`drain` not yet seen). */
  waiting = false
  /** What waited in the socket's buffer when last looked at (see {@link progressed}). */
  private waitingBytes = 0
  private readonly drainWaiters = new Set<() => void>()

  constructor(socket: Net.Socket, events: OutputEvents) {
    this.socket = socket
    this.events = events
  }

  /** An event begins: its writes are gathered. */
  enter(): void {
    if (this.depth++ === 0) this.batch = []
  }

  /** An event ends: the outermost writes out what was gathered. */
  leave(): void {
    if (--this.depth === 0) this.flush(false)
  }

  readonly write = (data: Uint8Array): void => {
    if (this.socket.destroyed) return
    const batch = this.batch
    if (batch === undefined) {
      if (!this.writeOut(data)) this.block()
      return
    }
    batch.push(data)
    this.batchBytes += data.byteLength
    if (this.batchBytes > COALESCE_MAX_BYTES) this.flush(true)
  }

  /** Writes out what was gathered now (and goes on gathering, with `more`). */
  flush(more: boolean): void {
    const batch = this.batch
    const size = this.batchBytes
    this.batch = more ? [] : undefined
    this.batchBytes = 0
    const socket = this.socket
    if (batch === undefined || batch.length === 0 || socket.destroyed) return
    let flowing: boolean
    if (batch.length === 1) {
      flowing = this.writeOut(batch[0] as Uint8Array)
    } else if (size <= COALESCE_MAX_BYTES) {
      // Small responses of a pipelined batch: one copy into one buffer costs
      // less than a vectored write of many small pieces.
      flowing = socket.write(Buffer.concat(batch, size))
    } else {
      socket.cork()
      for (const data of batch) this.writeOut(data)
      socket.uncork()
      flowing = !socket.writableNeedDrain
    }
    if (!flowing) this.block()
  }

  /**
   * Whether the peer read some of what waits since the last look (a slow
   * but steady reader is not one that reads nothing).
   */
  progressed(): boolean {
    const now = this.socket.writableLength
    const progressed = now < this.waitingBytes
    this.waitingBytes = now
    return progressed
  }

  /** Resolves once nothing waits for the peer; `undefined` when nothing does now. */
  drained(): Effect.Effect<void> | undefined {
    if (!this.waiting) return undefined
    return Effect.callback<void>((resume) => {
      const wake = () => {
        this.drainWaiters.delete(wake)
        resume(Effect.void)
      }
      this.drainWaiters.add(wake)
      return Effect.sync(() => this.drainWaiters.delete(wake))
    })
  }

  /** The socket is no longer this output's (closed, or detached): wake whoever waits, watch no more. */
  release(): void {
    if (this.waiting) this.socket.off("drain", this.onDrain)
    this.waiting = false
    for (const wake of this.drainWaiters) wake()
  }

  private writeOut(data: Uint8Array): boolean {
    if (data.byteLength <= SLICE_BYTES) return this.socket.write(data)
    let flowing = true
    for (let at = 0; at < data.byteLength; at += SLICE_BYTES) {
      flowing = this.socket.write(data.subarray(at, at + SLICE_BYTES))
    }
    return flowing
  }

  private block(): void {
    if (this.waiting) return
    this.waiting = true
    this.waitingBytes = this.socket.writableLength
    this.socket.once("drain", this.onDrain)
    this.events.blocked()
  }

  private readonly onDrain = (): void => {
    this.waiting = false
    this.events.drained()
    for (const wake of this.drainWaiters) wake()
  }
}
