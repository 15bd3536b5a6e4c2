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
 * Larger pieces are written in slices of this size (views, not copies), one
 * after the other, each once the socket took the one before: a slow but
 * steady reader then shows progress before the whole piece is out (as
 * nginx's `send_timeout` runs between two writes, not over a response). What
 * is written meanwhile waits behind them, in order.
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
  /** What waited in the socket's buffer, and how many slices were written, when last looked at (see {@link progressed}). */
  private waitingBytes = 0
  private slicesAtLook = 0
  /** Slices of large pieces the socket took. */
  private slicesWritten = 0
  /** A slice is being written; what is in `backlog` follows it, in order. */
  private sliceInFlight = false
  /** Made on first use: most connections never write a piece this large, nor wait for a drain. */
  private backlog: Array<Uint8Array> | undefined = undefined
  private drainWaiters: Array<() => void> | undefined = undefined

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
    const progressed = now < this.waitingBytes || this.slicesWritten !== this.slicesAtLook
    this.waitingBytes = now
    this.slicesAtLook = this.slicesWritten
    return progressed
  }

  /**
   * Hands whatever waits behind a slice to the socket now (the connection
   * ends after it, or the socket is handed over): order is kept, progress
   * is no longer watched.
   */
  handOver(): void {
    const socket = this.socket
    const backlog = this.backlog
    if (backlog === undefined || backlog.length === 0 || socket.destroyed) return
    for (const data of backlog.splice(0)) socket.write(data)
  }

  /** Resolves once nothing waits for the peer; `undefined` when nothing does now. */
  drained(): Effect.Effect<void> | undefined {
    if (!this.waiting) return undefined
    return Effect.callback<void>((resume) => {
      const wake = () => resume(Effect.void)
      const waiters = this.drainWaiters ??= []
      waiters.push(wake)
      return Effect.sync(() => {
        const at = waiters.indexOf(wake)
        if (at !== -1) waiters.splice(at, 1)
      })
    })
  }

  /** The socket is no longer this output's (closed, or detached): wake whoever waits, watch no more. */
  release(): void {
    this.handOver()
    if (this.waiting && this.onDrain !== undefined) this.socket.off("drain", this.onDrain)
    this.waiting = false
    this.wakeWaiters()
  }

  /**
   * Wakes whoever waits for the output to drain: those waiting now only (a
   * woken writer that writes and waits again waits for the next drain).
   */
  private wakeWaiters(): void {
    const waiters = this.drainWaiters
    if (waiters === undefined || waiters.length === 0) return
    this.drainWaiters = undefined
    for (const wake of waiters) wake()
  }

  /** Writes `data` after what waits; `false` when output now waits for the peer. */
  private writeOut(data: Uint8Array): boolean {
    if (this.sliceInFlight) {
      ;(this.backlog ??= []).push(data)
      return false
    }
    if (data.byteLength <= SLICE_BYTES) return this.socket.write(data)
    this.writeSlice(data)
    return false
  }

  private writeSlice(data: Uint8Array): void {
    this.sliceInFlight = true
    if (data.byteLength > SLICE_BYTES) (this.backlog ??= []).unshift(data.subarray(SLICE_BYTES))
    this.socket.write(data.subarray(0, SLICE_BYTES), this.onSliceWritten ??= (error) => this.sliceWritten(error))
  }

  /** The socket took a slice: the next one goes, then what waited behind them. */
  /** Made on first use, as `onDrain`: most connections never need them. */
  private onSliceWritten: ((error?: Error | null) => void) | undefined = undefined
  private onDrain: (() => void) | undefined = undefined

  private sliceWritten(error?: Error | null): void {
    this.sliceInFlight = false
    if (error != null || this.socket.destroyed) return
    this.slicesWritten++
    const backlog = this.backlog
    while (!this.sliceInFlight && backlog !== undefined && backlog.length > 0) {
      const next = backlog.shift() as Uint8Array
      if (next.byteLength > SLICE_BYTES) this.writeSlice(next)
      else this.socket.write(next)
    }
    this.checkDrained()
  }

  private block(): void {
    if (this.waiting) return
    this.waiting = true
    this.waitingBytes = this.socket.writableLength
    this.slicesAtLook = this.slicesWritten
    this.socket.on("drain", this.onDrain ??= () => this.checkDrained())
    this.events.blocked()
  }

  /** Output drained when nothing waits behind a slice nor in the socket's buffer. */
  private checkDrained(): void {
    if (!this.waiting || this.sliceInFlight || (this.backlog?.length ?? 0) > 0 || this.socket.writableNeedDrain) return
    this.waiting = false
    if (this.onDrain !== undefined) this.socket.off("drain", this.onDrain)
    this.events.drained()
    this.wakeWaiters()
  }
}
