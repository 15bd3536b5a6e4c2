/**
 * The body of one request, as the handler reads it.
 *
 * Bytes stay in the connection's input buffer until the handler asks for
 * them: a body nobody reads costs nothing, `Expect: 100-continue` is answered
 * only when reading starts, and a slow reader pauses the socket. The
 * connection pushes input through {@link RequestBody.feed}, which applies the
 * framing (a `BodyFramer`: Content-Length or chunked), decodes a compressed
 * body when the server is told to (a `Decompressor`), enforces the size
 * limits on the decoded bytes, and, by the read mode, cuts pieces to
 * `chunkSize` and queues them as views of the input (never copied), gathers
 * the whole body, or drains it. The handler takes them through Effects that
 * complete at once when the bytes are already here.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Stream } from "effect"
import { BodyFramer } from "../Wire/BodyFramer.ts"
import type { BodyFraming } from "../Wire/HeadParser.ts"
import { type BodyError, BodyTooLarge, ConnectionClosed } from "../Wire/HttpErrors.ts"
import { type ContentCoding, Decompressor } from "./BodyDecompression.ts"
import { isLendable, lend, takeBack } from "./LentBodyPool.ts"

/**
 * The limits a body is read under; `maxBodySize` and `bodyTimeoutMillis` can be
 * changed by the handler before it starts reading ({@link RequestBody.changeLimits}).
 * One object serves every request of a connection until a handler changes
 * its own request's: a request costs no object of its own for them.
 *
 * @since 0.1.0
 * @category models
 */
export interface BodyLimits {
  readonly maxBodySize: number
  readonly bodyTimeoutMillis: number | undefined
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
  /** The framing reached the end of the body: stop the body timer. */
  readonly onBodyComplete: (body: RequestBody) => void
}

/**
 * How a body being read is read:
 * - `Pieces`: piece by piece (`next`, `stream`), each at most `chunkSize`,
 *   queued while the reader is behind (and then the socket is paused);
 * - `Whole`: into memory at once (`all`: `body`, `text`, `json`, ...),
 *   bounded by `maxBufferSize`; the reader wakes once, at the end;
 * - `Drain`: the response is out and the rest is read off the wire and
 *   thrown away, so that the next request can follow.
 *
 * A body read in pieces can be asked for whole (`Pieces` → `Whole`); a body
 * drained stays drained.
 *
 * @since 0.1.0
 * @category models
 */
export type ReadMode = "Pieces" | "Whole" | "Drain"

/**
 * Where reading stands, as the reader sees it.
 *
 * - `Unread`: the handler has not asked for the body.
 * - `Reading`: it has (in a {@link ReadMode}); more bytes are to come.
 * - `Complete`: every piece is queued or taken.
 * - `Failed`: a limit, a timeout, bad framing or a closed connection ended it.
 *
 * @since 0.1.0
 * @category models
 */
export type BodyState =
  | { readonly _tag: "Unread" }
  | { readonly _tag: "Reading"; readonly mode: ReadMode }
  | { readonly _tag: "Complete" }
  | { readonly _tag: "Failed"; readonly error: BodyError }

const UNREAD: BodyState = { _tag: "Unread" }
const READING_PIECES: BodyState = { _tag: "Reading", mode: "Pieces" }
const READING_WHOLE: BodyState = { _tag: "Reading", mode: "Whole" }
const DRAINING: BodyState = { _tag: "Reading", mode: "Drain" }
const COMPLETE: BodyState = { _tag: "Complete" }
const EMPTY = new Uint8Array(0)
/** The framer of every body without one: done from the start, it takes nothing and never changes. */
const NO_BODY_FRAMING: BodyFraming = { _tag: "NoBody" }
const NO_BODY = new BodyFramer(NO_BODY_FRAMING)

/** The host of a body without one: it never reads, so it is never told anything. */
const NO_HOST: BodyHost = { onReadStart: () => {}, onDemand: () => {}, onBodyComplete: () => {} }

/** Shared bodies of bodiless requests, by the limits they report (see {@link RequestBody.bodiless}). */
const bodilessByLimits = new WeakMap<BodyLimits, RequestBody>()
let lastBodiless: RequestBody | undefined = undefined

/** Decoded bytes queued before a decompressor is paused. */
const DECODED_HIGH_WATER = 256 * 1024

/**
 * @since 0.1.0
 * @category models
 */
export class RequestBody {
  /**
   * The body of every request without one (most of them) under the same
   * limits: done from the start, it takes nothing and never changes, so one
   * object serves them all. A handler that changes its request's limits
   * gets a body of its own first (`HTTPServerRequest`), as {@link changeLimits}
   * must not touch a shared one.
   *
   * @since 0.1.0
   */
  static bodiless(limits: BodyLimits): RequestBody {
    const last = lastBodiless
    if (last !== undefined && last.limits === limits) return last
    let body = bodilessByLimits.get(limits)
    if (body === undefined) {
      body = new RequestBody(NO_BODY_FRAMING, limits, NO_HOST)
      body.shared = true
      bodilessByLimits.set(limits, body)
    }
    return lastBodiless = body
  }

  /** Whether this is a {@link bodiless} body, shared by requests. */
  shared = false
  state: BodyState = UNREAD
  /**
   * Whether the framing reached the end of the body on the wire: from here
   * on, the input belongs to the next request.
   */
  framingComplete: boolean
  /** Body bytes received so far, after decoding (queued or taken). */
  received = 0
  private readonly queue: Array<Uint8Array> = []
  private queuedBytes = 0
  /** Where this body's bytes end on the wire (Content-Length or chunked). */
  private readonly framer: BodyFramer
  private readonly coding: ContentCoding | undefined
  private decompressor: Decompressor | undefined = undefined
  private waiter: (() => void) | undefined = undefined
  /**
   * The bytes being fed live in a read buffer reused after this feed: a
   * piece kept beyond it must be a copy.
   */
  private transientInput = false
  /** The buffer a body of known length is gathered into (see `gather`). */
  private whole: Buffer | undefined = undefined
  private buffered: Uint8Array | undefined = undefined
  /** The body is being read whole on lent memory ({@link lent}). */
  private lending = false
  /** The pooled memory a body read with {@link lent} sits in, until {@link takeBackLent}. */
  private lentWhole: Buffer | undefined = undefined
  /** The lent memory went back: the bytes read on it are gone. */
  private tookBack = false
  /** The limits in force: the connection's, until {@link changeLimits}. */
  limits: BodyLimits
  /** @internal */
  readonly host: BodyHost
  readonly framing: BodyFraming

  constructor(framing: BodyFraming, limits: BodyLimits, host: BodyHost, coding?: ContentCoding) {
    this.framing = framing
    this.limits = limits
    this.host = host
    this.coding = coding
    this.framer = framing._tag === "NoBody" ? NO_BODY : new BodyFramer(framing)
    this.framingComplete = framing._tag === "NoBody"
    if (this.framingComplete) this.state = COMPLETE
  }

  /** Changes this request's limits only (the object it was given is shared: it is replaced, not changed). */
  changeLimits(changes: Partial<Pick<BodyLimits, "maxBodySize" | "bodyTimeoutMillis">>): void {
    if (this.shared) throw new Error("the limits of a shared bodiless body cannot change")
    const { bodyTimeoutMillis, chunkSize, maxBodySize, maxBufferSize } = this.limits
    this.limits = { maxBodySize, bodyTimeoutMillis, maxBufferSize, chunkSize, ...changes }
  }

  /** Whether the connection should feed input now. */
  get wantsInput(): boolean {
    const state = this.state
    if (this.framingComplete || state._tag !== "Reading") return false
    if (state.mode !== "Pieces") return true
    return this.queue.length === 0 && (this.decompressor === undefined || !this.decompressor.backlogged)
  }

  /**
   * Takes body bytes from `input[start, end)` as the framing allows; returns
   * where the body's bytes end (the rest is the next request's). Never
   * throws: a framing error or a limit fails the body.
   */
  feed(input: Uint8Array, start: number, end: number, transient = false): number {
    if (this.framingComplete || this.state._tag !== "Reading") return start
    this.transientInput = transient
    try {
      const framer = this.framer
      const stop = framer.feed(input, start, end, this.wireSink ??= (data) => this.onWireData(data))
      if (framer.done) this.endOfFraming()
      return stop
    } catch (error) {
      this.fail(error as BodyError)
      return end
    } finally {
      this.transientInput = false
    }
  }

  /**
   * The transport says the body's bytes are all in (HTTP/2: END_STREAM),
   * told once all were fed, while the body is being read. A body whose
   * `content-length` was not met fails (nghttp2 resets such a stream
   * first; this is the backstop).
   */
  endOfStream(): void {
    if (this.framingComplete || this.state._tag !== "Reading") return
    if (this.framing._tag === "ContentLength") {
      this.fail(new ConnectionClosed({ reason: "the stream ended before its content-length" }))
      return
    }
    this.endOfFraming()
  }

  /** Stops the body with an error; a waiting reader wakes to it. */
  fail(error: BodyError): void {
    // A body read whole stays read, whatever happens to the connection after.
    if (this.state._tag === "Failed" || this.state._tag === "Complete") return
    this.state = { _tag: "Failed", error }
    this.discardQueued()
    this.dropDecompressor()
    this.wakeReader()
  }

  /** The client went away: whoever reads learns it. */
  closed(reason: string): void {
    if (this.state._tag !== "Complete") this.fail(new ConnectionClosed({ reason }))
    this.dropDecompressor()
  }

  /**
   * The response is out and the body unread (or partly read): read the rest
   * off the wire and throw it away, so the next request can follow.
   */
  startDraining(): void {
    this.dropDecompressor()
    this.discardQueued()
    if (this.state._tag === "Unread" || this.state._tag === "Reading") this.state = DRAINING
  }

  private discardQueued(): void {
    this.queue.length = 0
    this.queuedBytes = 0
    this.whole = undefined
  }

  /** {@link onWireData} for the framer: made when a body is first fed (most requests have none). */
  private wireSink: ((data: Uint8Array) => void) | undefined = undefined

  /** Body bytes as they come off the wire (still encoded, if they are). */
  private onWireData(data: Uint8Array): void {
    const state = this.state
    if (data.byteLength === 0 || state._tag !== "Reading") return
    if (state.mode === "Drain") {
      this.received += data.byteLength
      if (this.received > this.limits.maxBodySize) {
        throw new BodyTooLarge({ limit: this.limits.maxBodySize, limitName: "maxBodySize" })
      }
      return
    }
    if (this.coding !== undefined) {
      this.startDecompressor(this.coding).write(this.owned(data))
      return
    }
    this.accept(data)
  }

  /** Decoded bytes: limits, piece size, queue. */
  private accept(data: Uint8Array): void {
    const state = this.state
    if (data.byteLength === 0 || state._tag !== "Reading") return
    this.received += data.byteLength
    if (this.received > this.limits.maxBodySize) {
      throw new BodyTooLarge({ limit: this.limits.maxBodySize, limitName: "maxBodySize" })
    }
    if (state.mode === "Whole") {
      if (this.received > this.limits.maxBufferSize) {
        throw new BodyTooLarge({ limit: this.limits.maxBufferSize, limitName: "maxBufferSize" })
      }
      this.gather(data)
      return // the reader of a whole body wakes once, at its end
    }
    // Pieces never exceed chunkSize, and HTTP chunk boundaries stay visible.
    data = this.owned(data)
    const size = this.limits.chunkSize
    if (data.byteLength <= size) {
      this.queue.push(data)
    } else {
      for (let i = 0; i < data.byteLength; i += size) this.queue.push(data.subarray(i, i + size))
    }
    this.queuedBytes += data.byteLength
    this.wakeReader()
  }

  /**
   * Keeps a piece of a body read whole. A body whose length is known and
   * that does not arrive in one piece is copied into one buffer of that
   * length as it comes, so the socket's read buffers are freed at once and
   * nothing is copied twice; a body that arrives whole stays a view.
   */
  private gather(data: Uint8Array): void {
    const framing = this.framing
    if (this.whole === undefined && this.queue.length === 0 && this.coding === undefined &&
      framing._tag === "ContentLength" && (data.byteLength < framing.length || this.transientInput))
    {
      // A lent body is copied into pooled memory, also when it came whole
      // in a read buffer (where any other is copied into a buffer of its own).
      if (this.lending && isLendable(framing.length)) this.whole = this.lentWhole = lend(framing.length)
      else if (data.byteLength < framing.length) this.whole = Buffer.allocUnsafe(framing.length)
    }
    if (this.whole !== undefined) {
      this.whole.set(data, this.queuedBytes)
    } else {
      this.queue.push(this.owned(data))
    }
    this.queuedBytes += data.byteLength
  }

  /** `data`, or a copy of it when it lives in a transient read buffer. */
  private owned(data: Uint8Array): Uint8Array {
    return this.transientInput ? Buffer.from(data) : data
  }

  private endOfFraming(): void {
    this.framingComplete = true
    this.host.onBodyComplete(this)
    // A decompressor completes the body once all is decoded; without one
    // (none needed, or an empty compressed body, which decodes to nothing)
    // the body is complete now.
    if (this.decompressor !== undefined) this.decompressor.end()
    else this.complete()
  }

  private complete(): void {
    if (this.state._tag !== "Reading") return
    this.state = COMPLETE
    this.wakeReader()
  }

  /**
   * The decompressor, made on the first compressed byte (see
   * `BodyDecompression`): its output is checked and queued as any body's,
   * and it pauses while a reader of pieces is behind.
   */
  private startDecompressor(coding: ContentCoding): Decompressor {
    if (this.decompressor !== undefined) return this.decompressor
    const decompressor = new Decompressor(coding, this.limits.chunkSize, {
      onDecoded: (data) => {
        try {
          this.accept(data)
          const state = this.state
          if (state._tag === "Reading" && state.mode === "Pieces" && this.queuedBytes > DECODED_HIGH_WATER) {
            decompressor.pause()
          }
        } catch (error) {
          this.fail(error as BodyError)
        }
      },
      onDecodedAll: () => {
        this.decompressor = undefined
        this.complete()
      },
      onDecodeError: (error) => this.fail(error),
      // The reader may be waiting for input the decompressor had no room
      // for: now it has.
      onInputTaken: () => {
        if (this.waiter !== undefined && this.decompressor === decompressor) this.host.onDemand(this)
      }
    })
    this.decompressor = decompressor
    return decompressor
  }

  private dropDecompressor(): void {
    const decompressor = this.decompressor
    if (decompressor === undefined) return
    this.decompressor = undefined
    decompressor.destroy()
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
   * asks the client to send it). The declared length of a compressed body
   * says nothing of its decoded size, so only the decoded bytes are checked.
   */
  private begin(mode: "Pieces" | "Whole"): BodyError | undefined {
    const state = this.state
    if (state._tag === "Reading") {
      if (mode === "Whole" && state.mode === "Pieces") this.state = READING_WHOLE
      return undefined
    }
    if (state._tag !== "Unread") return undefined
    const buffering = mode === "Whole"
    const declared = this.framing._tag === "ContentLength" && this.coding === undefined ? this.framing.length : undefined
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
    this.state = buffering ? READING_WHOLE : READING_PIECES
    this.host.onReadStart(this)
    return undefined
  }

  // The Effects below are built when a handler reads the body, not per request.

  /** Asks for input and waits until something changed (a piece, the end, an error). */
  private waitForChange(): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      this.waiter = () => resume(Effect.void)
      this.decompressor?.resume()
      this.host.onDemand(this)
      return Effect.sync(() => {
        this.waiter = undefined
      })
    })
  }

  /**
   * The next piece of the body (at most `chunkSize` bytes, never empty), or
   * `undefined` at its end.
   *
   * @since 0.1.0
   */
  get next(): Effect.Effect<Uint8Array | undefined, BodyError> {
    return Effect.suspend(() => {
      const error = this.begin("Pieces")
      if (error !== undefined) return Effect.fail(error)
      return this.takePiece()
    })
  }

  private takePiece(): Effect.Effect<Uint8Array | undefined, BodyError> {
    const state = this.state
    if (state._tag === "Failed") return Effect.fail(state.error)
    if (this.queue.length > 0) {
      const piece = this.queue.shift() as Uint8Array
      this.queuedBytes -= piece.byteLength
      return Effect.succeed(piece)
    }
    if (state._tag === "Complete") return Effect.succeed(undefined)
    return Effect.flatMap(this.waitForChange(), () => this.takePiece())
  }

  /**
   * The whole body in memory, bounded by `maxBufferSize`. Read once; later
   * calls give the same bytes.
   *
   * @since 0.1.0
   */
  get all(): Effect.Effect<Uint8Array, BodyError> {
    return Effect.suspend(() => {
      const buffered = this.buffered
      if (buffered !== undefined) {
        // Read lent before: the caller owns what it gets, so it gets a copy.
        if (this.lentWhole === undefined || buffered.buffer !== this.lentWhole.buffer) return Effect.succeed(buffered)
        return Effect.succeed(this.buffered = Buffer.from(buffered))
      }
      return this.readWhole()
    })
  }

  /**
   * The whole body, as {@link all}, but lent: a body of more than 4 KiB and
   * a known length sits in pooled memory that the server takes back when
   * the request is over (`LentBodyPool`); after that, every view of it reads
   * as empty. Read whole before (with {@link all}), it is the same bytes.
   *
   * @since 0.1.0
   */
  get lent(): Effect.Effect<Uint8Array, BodyError> {
    return Effect.suspend(() => {
      if (this.buffered !== undefined) return Effect.succeed(this.buffered)
      if (this.state._tag === "Unread") this.lending = true
      return this.readWhole()
    })
  }

  /** The pooled memory this body was read on, if it was read lent. */
  get lentMemory(): ArrayBufferLike | undefined {
    return this.lentWhole?.buffer
  }

  /**
   * The request is over: lent memory goes back to the pool, unless a write
   * in progress still reads it (`stillWritten`: a response that echoes the
   * body); it is then left to the garbage collector, views and all. Bytes
   * read on it can no longer be read.
   */
  takeBackLent(stillWritten: boolean): void {
    const lent = this.lentWhole
    if (lent === undefined) return
    this.lentWhole = undefined
    if (this.buffered !== undefined && this.buffered.buffer === lent.buffer) {
      this.buffered = undefined
      this.tookBack = true
    }
    this.whole = undefined
    if (!stillWritten) takeBack(lent)
  }

  private readWhole(): Effect.Effect<Uint8Array, BodyError> {
    if (this.tookBack) return Effect.fail(new ConnectionClosed({ reason: "the request is over: its lent body was taken back" }))
    const error = this.begin("Whole")
    if (error !== undefined) return Effect.fail(error)
    return this.collect()
  }

  private collect(): Effect.Effect<Uint8Array, BodyError> {
    const state = this.state
    if (state._tag === "Failed") return Effect.fail(state.error)
    if (state._tag === "Reading") return Effect.flatMap(this.waitForChange(), () => this.collect())
    const bytes = this.whole !== undefined
      ? this.whole.subarray(0, this.queuedBytes)
      : this.queue.length === 0
      ? EMPTY
      : this.queue.length === 1
      ? this.queue[0] as Uint8Array
      : Buffer.concat(this.queue, this.queuedBytes)
    this.discardQueued()
    this.buffered = bytes
    return Effect.succeed(bytes)
  }

  /**
   * The body as a stream of pieces of at most `chunkSize` bytes, read as
   * they are pulled: a slow consumer pauses the socket. Once the body was
   * read whole with {@link all}, the stream gives those bytes.
   *
   * @since 0.1.0
   */
  get stream(): Stream.Stream<Uint8Array, BodyError> {
    return Stream.suspend(() => {
      if (this.buffered !== undefined) {
        return this.buffered.byteLength === 0 ? Stream.empty : Stream.succeed(this.buffered)
      }
      const pull = Effect.flatMap(
        this.next,
        (piece) => piece === undefined ? Cause.done() : Effect.succeed([piece] as const)
      )
      return Stream.fromPull(Effect.succeed(pull))
    })
  }
}
