/**
 * The body of one request, as the handler reads it.
 *
 * Bytes stay in the connection's input buffer until the handler asks for
 * them: a body nobody reads costs nothing, `Expect: 100-continue` is answered
 * only when reading starts, and a slow reader pauses the socket. The
 * connection pushes input through {@link RequestBody.feed}, which applies the
 * framing (Content-Length or chunked), the size limit and the piece size,
 * and queues the pieces as views of the input (never copied); the handler
 * takes them through Effects that complete at once when the bytes are
 * already here.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Stream } from "effect"
import { ChunkedDecoder } from "./ChunkedDecoder.ts"
import type { BodyFraming } from "./HeadParser.ts"
import { type BodyError, BodyTooLarge, ConnectionClosed } from "./HttpErrors.ts"

/**
 * The limits a body is read under; `maxBodySize` and `bodyTimeoutMillis` can be
 * changed by the handler before it starts reading.
 *
 * @since 0.1.0
 * @category models
 */
export interface BodyLimits {
  maxBodySize: number
  bodyTimeoutMillis: number | undefined
  readonly maxBufferSize: number
  readonly chunkSize: number
}

/**
 * What the body needs from its connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface BodyHost {
  /** The handler started reading: send `100 Continue`, start the body timer. */
  readonly onReadStart: (body: RequestBody) => void
  /** The reader wants more: feed what input there is, resume the socket. */
  readonly onDemand: (body: RequestBody) => void
}

/**
 * Where reading stands.
 *
 * - `Unread`: the handler has not asked for the body.
 * - `Reading`: it has; more pieces are to come.
 * - `Complete`: the framing says the body is over (pieces may still be queued).
 * - `Failed`: a limit, a timeout, bad framing or a closed connection ended it.
 *
 * @since 0.1.0
 * @category models
 */
export type BodyState =
  | { readonly _tag: "Unread" }
  | { readonly _tag: "Reading" }
  | { readonly _tag: "Complete" }
  | { readonly _tag: "Failed"; readonly error: BodyError }

const UNREAD: BodyState = { _tag: "Unread" }
const READING: BodyState = { _tag: "Reading" }
const COMPLETE: BodyState = { _tag: "Complete" }
const EMPTY = new Uint8Array(0)

/**
 * @since 0.1.0
 * @category models
 */
export class RequestBody {
  state: BodyState = UNREAD
  /** Decoded body bytes received so far (queued or taken). */
  received = 0
  /** Whether the whole body is wanted in memory (`body`, `text`, ...). */
  private buffering = false
  private readonly queue: Array<Uint8Array> = []
  private queuedBytes = 0
  /** Bytes of a Content-Length body still on the wire. */
  private remaining: number
  private readonly decoder: ChunkedDecoder | undefined
  private waiter: (() => void) | undefined = undefined
  private buffered: Uint8Array | undefined = undefined
  readonly limits: BodyLimits
  private readonly host: BodyHost
  readonly framing: BodyFraming

  constructor(framing: BodyFraming, limits: BodyLimits, host: BodyHost) {
    this.framing = framing
    this.limits = limits
    this.host = host
    this.remaining = framing._tag === "ContentLength" ? framing.length : 0
    this.decoder = framing._tag === "Chunked" ? new ChunkedDecoder() : undefined
    if (framing._tag === "NoBody") this.state = COMPLETE
  }

  /** Whether the framing has reached the end of the body. */
  get framingDone(): boolean {
    return this.state._tag === "Complete"
  }

  /** Whether the connection should feed input now. */
  get wantsInput(): boolean {
    return this.state._tag === "Reading" && (this.buffering || this.queue.length === 0)
  }

  /**
   * Takes body bytes from `input[start, end)` as the framing allows; returns
   * where the body's bytes end (the rest is the next request's). Never
   * throws: a framing error or a limit fails the body.
   */
  feed(input: Uint8Array, start: number, end: number): number {
    if (this.state._tag !== "Reading") return start
    try {
      if (this.decoder !== undefined) {
        const stop = this.decoder.decode(input, start, end, this.onData)
        if (this.decoder.done) this.complete()
        return stop
      }
      const n = Math.min(this.remaining, end - start)
      if (n > 0) {
        this.remaining -= n
        this.onData(input.subarray(start, start + n))
      }
      if (this.remaining === 0 && this.state._tag === "Reading") this.complete()
      return start + n
    } catch (error) {
      this.fail(error as BodyError)
      return end
    }
  }

  /** Stops the body with an error; a waiting reader wakes to it. */
  fail(error: BodyError): void {
    if (this.state._tag === "Failed") return
    this.state = { _tag: "Failed", error }
    this.queue.length = 0
    this.queuedBytes = 0
    this.wakeReader()
  }

  /** Starts reading as if the handler had asked, to discard the body. */
  startDraining(): void {
    this.buffering = false
    if (this.state._tag === "Unread") this.state = READING
  }

  /** Drops queued pieces (when draining). */
  discardQueued(): void {
    this.queue.length = 0
    this.queuedBytes = 0
  }

  private readonly onData = (data: Uint8Array): void => {
    if (data.byteLength === 0 || this.state._tag !== "Reading") return
    this.received += data.byteLength
    if (this.received > this.limits.maxBodySize) {
      throw new BodyTooLarge({ limit: this.limits.maxBodySize, limitName: "maxBodySize" })
    }
    if (this.buffering && this.received > this.limits.maxBufferSize) {
      throw new BodyTooLarge({ limit: this.limits.maxBufferSize, limitName: "maxBufferSize" })
    }
    // Pieces never exceed chunkSize, and HTTP chunk boundaries stay visible.
    const size = this.limits.chunkSize
    if (data.byteLength <= size || this.buffering) {
      this.queue.push(data)
    } else {
      for (let i = 0; i < data.byteLength; i += size) this.queue.push(data.subarray(i, i + size))
    }
    this.queuedBytes += data.byteLength
    this.wakeReader()
  }

  private complete(): void {
    this.state = COMPLETE
    this.wakeReader()
  }

  private wakeReader(): void {
    const waiter = this.waiter
    if (waiter !== undefined) {
      this.waiter = undefined
      waiter()
    }
  }

  /**
   * Moves from `Unread` to `Reading`, checking a declared length against
   * the limits first (so an oversized body is refused before `100 Continue`
   * asks the client to send it).
   */
  private begin(buffering: boolean): BodyError | undefined {
    if (buffering) this.buffering = true
    if (this.state._tag !== "Unread") return undefined
    const declared = this.framing._tag === "ContentLength" ? this.framing.length : undefined
    if (declared !== undefined) {
      const error = declared > this.limits.maxBodySize
        ? new BodyTooLarge({ limit: this.limits.maxBodySize, limitName: "maxBodySize", contentLength: declared })
        : buffering && declared > this.limits.maxBufferSize
        ? new BodyTooLarge({ limit: this.limits.maxBufferSize, limitName: "maxBufferSize", contentLength: declared })
        : undefined
      if (error !== undefined) {
        this.fail(error)
        return error
      }
    }
    this.state = READING
    this.host.onReadStart(this)
    return undefined
  }

  /** Waits until something changed (a piece, the end, an error). */
  private readonly waitForChange: Effect.Effect<void> = Effect.callback<void>((resume) => {
    this.waiter = () => resume(Effect.void)
    this.host.onDemand(this)
    // Feeding may have completed the wait synchronously.
    return Effect.sync(() => {
      this.waiter = undefined
    })
  })

  /**
   * The next piece of the body (at most `chunkSize` bytes, never empty), or
   * `undefined` at its end.
   *
   * @since 0.1.0
   */
  readonly next: Effect.Effect<Uint8Array | undefined, BodyError> = Effect.suspend(() => {
    const error = this.begin(false)
    if (error !== undefined) return Effect.fail(error)
    return this.takePiece
  })

  private readonly takePiece: Effect.Effect<Uint8Array | undefined, BodyError> = Effect.suspend(() => {
    const state = this.state
    if (state._tag === "Failed") return Effect.fail(state.error)
    if (this.queue.length > 0) {
      const piece = this.queue.shift() as Uint8Array
      this.queuedBytes -= piece.byteLength
      return Effect.succeed(piece)
    }
    if (state._tag === "Complete") return Effect.succeed(undefined)
    this.host.onDemand(this)
    if (this.queue.length > 0 || this.state !== state) return this.takePiece
    return Effect.flatMap(this.waitForChange, () => this.takePiece)
  })

  /**
   * The whole body in memory, bounded by `maxBufferSize`. Read once; later
   * calls give the same bytes.
   *
   * @since 0.1.0
   */
  readonly all: Effect.Effect<Uint8Array, BodyError> = Effect.suspend(() => {
    if (this.buffered !== undefined) return Effect.succeed(this.buffered)
    const error = this.begin(true)
    if (error !== undefined) return Effect.fail(error)
    return this.collect
  })

  private readonly collect: Effect.Effect<Uint8Array, BodyError> = Effect.suspend(() => {
    const state = this.state
    if (state._tag === "Failed") return Effect.fail(state.error)
    if (state._tag === "Reading") {
      this.host.onDemand(this)
      if (this.state._tag === "Reading") return Effect.flatMap(this.waitForChange, () => this.collect)
      return this.collect
    }
    const bytes = this.queue.length === 0
      ? EMPTY
      : this.queue.length === 1
      ? this.queue[0] as Uint8Array
      : Buffer.concat(this.queue, this.queuedBytes)
    this.queue.length = 0
    this.queuedBytes = 0
    this.buffered = bytes
    return Effect.succeed(bytes)
  })

  /**
   * The body as a stream of pieces of at most `chunkSize` bytes, read as
   * they are pulled: a slow consumer pauses the socket.
   *
   * @since 0.1.0
   */
  readonly stream: Stream.Stream<Uint8Array, BodyError> = Stream.fromPull(
    Effect.succeed(
      Effect.flatMap(
        Effect.suspend(() => (this.buffered !== undefined ? Effect.succeed(this.takeBuffered()) : this.next)),
        (piece) => (piece === undefined ? Cause.done() : Effect.succeed([piece] as const))
      )
    )
  )

  private takeBuffered(): Uint8Array | undefined {
    const bytes = this.buffered
    this.buffered = EMPTY
    return bytes !== undefined && bytes.byteLength > 0 ? bytes : undefined
  }

  /** The client went away: whoever reads learns it. */
  closed(reason: string): void {
    if (this.state._tag === "Reading" || this.state._tag === "Unread") this.fail(new ConnectionClosed({ reason }))
  }
}
