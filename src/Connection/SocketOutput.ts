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
 * What libuv has not yet handed to the kernel of the write in progress
 * (the handle's `writeQueueSize`). Node's own socket timeout reads it to
 * tell a write in progress from a stalled one (`net.Socket`'s
 * `_onTimeout`); so does the write deadline here (see
 * {@link SocketOutput.progressed}), so a large piece can be written in one
 * go and a slow but steady reader still shows progress while it goes out.
 */
const unsentOfWrite = (socket: Net.Socket): number =>
  (socket as unknown as { _handle?: { writeQueueSize?: number } | null })._handle?.writeQueueSize ?? 0

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
  /** What the socket held, and what of its write in progress was unsent, when last looked at (see {@link progressed}). */
  private lengthAtLook = 0
  private unsentAtLook = 0
  /** Made on first use: most connections never wait for a drain. */
  private drainWaiters: Array<() => void> | undefined = undefined
  private onDrain: (() => void) | undefined = undefined

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
      if (!this.socket.write(data)) this.block()
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
      flowing = socket.write(batch[0] as Uint8Array)
    } else if (size <= COALESCE_MAX_BYTES) {
      // Small responses of a pipelined batch: one copy into one buffer costs
      // less than a vectored write of many small pieces.
      flowing = socket.write(Buffer.concat(batch, size))
    } else {
      // A large body behind its head: one vectored write, no copy.
      socket.cork()
      for (const data of batch) socket.write(data)
      socket.uncork()
      flowing = !socket.writableNeedDrain
    }
    if (!flowing) this.block()
  }

  /**
   * Whether a write not yet taken by the kernel may still read `memory`:
   * a gathered piece on it, or anything the socket still queues.
   */
  holds(memory: ArrayBufferLike): boolean {
    if (this.socket.writableLength > 0) return true
    const batch = this.batch
    if (batch !== undefined) for (const data of batch) if (data.buffer === memory) return true
    return false
  }

  /**
   * Whether the peer read some of what waits since the last look (a slow
   * but steady reader is not one that reads nothing).
   */
  progressed(): boolean {
    const length = this.socket.writableLength
    const unsent = unsentOfWrite(this.socket)
    // A write completed, or the one in progress moved: as Node's socket
    // timeout, any change of the unsent count is activity (a write that
    // completes lets the next, larger or not, start).
    const progressed = length < this.lengthAtLook || unsent !== this.unsentAtLook
    this.lengthAtLook = length
    this.unsentAtLook = unsent
    return progressed
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

  private block(): void {
    if (this.waiting) return
    this.waiting = true
    this.lengthAtLook = this.socket.writableLength
    this.unsentAtLook = unsentOfWrite(this.socket)
    this.socket.on("drain", this.onDrain ??= () => this.checkDrained())
    this.events.blocked()
  }

  /** Output drained when nothing waits in the socket's buffer. */
  private checkDrained(): void {
    if (!this.waiting || this.socket.writableNeedDrain) return
    this.waiting = false
    if (this.onDrain !== undefined) this.socket.off("drain", this.onDrain)
    this.events.drained()
    this.wakeWaiters()
  }
}
