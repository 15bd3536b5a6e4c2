/**
 * The driver of one HTTP/1.x connection: reads requests off a socket, runs
 * the handler, writes responses, and keeps the connection alive, pipelined,
 * timed and bounded.
 *
 * It is plain synchronous code around a pure parser (like undici's `Parser`
 * and Tornado's `HTTP1Connection`): each read of the socket (from the shared
 * read buffer, or a `data` event on TLS) feeds one input buffer; requests are
 * taken off it one at a time, in order; a handler whose Effect completes at
 * once is answered in the same turn, and the responses of a pipelined batch
 * leave in one write.
 *
 * The state of each side is explicit:
 * - reading: `Head` (waiting for / inside a request head), `Request` (a
 *   request is in flight: its handler runs, or its response streams, or its
 *   unread body is being drained), `Closed`;
 * - keep-alive: decided per response from the request, the options and the
 *   server's state, and final once `Connection: close` is sent.
 *
 * @since 0.1.0
 */
import type * as Net from "node:net"
import { Cause, type Context, Effect, Exit, type Fiber, Stream } from "effect"
import { HTTPServerRequest, type RequestContext } from "../Request/HTTPServerRequest.ts"
import type { Response } from "../Response/Response.ts"
import { ConnectionTimer, type TimeoutKind } from "./ConnectionTimer.ts"
import type { ParserLeniency, RequestHead } from "../Wire/HeadParser.ts"
import { HeadReader } from "../Wire/HeadReader.ts"
import {
  BodyTimeout,
  HeaderTimeout,
  type HttpError,
  isHttpError,
  keepsConnection,
  statusOf
} from "../Wire/HttpErrors.ts"
import { type BodyHost, type BodyLimits, type ContentCoding, RequestBody } from "../Request/RequestBody.ts"
import {
  type ConnectionField,
  CONTINUE,
  encodeChunk,
  LAST_CHUNK,
  reasonPhrase,
  serializeResponse,
  serializeStreamHead
} from "../Wire/ResponseSerializer.ts"

/**
 * The options a connection runs under, resolved once per server (durations
 * in milliseconds).
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionOptions {
  readonly noKeepAlive: boolean
  readonly maxHeaderSize: number
  readonly maxBodySize: number
  readonly maxBufferSize: number
  readonly chunkSize: number
  readonly headerTimeoutMillis: number
  readonly bodyTimeoutMillis: number | undefined
  readonly idleTimeoutMillis: number
  readonly writeTimeoutMillis: number
  readonly xheaders: boolean
  readonly isTrustedDownstream: (ip: string) => boolean
  readonly protocol: "http" | "https" | undefined
  readonly decodedContentEncoding: ((coding: string) => boolean) | undefined
  readonly leniency: ParserLeniency
}

/**
 * What a connection needs from its server.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionHost {
  readonly options: ConnectionOptions
  /** Runs the handler for a request, in the server's context. */
  readonly runHandler: (request: HTTPServerRequest) => Effect.Effect<Response, unknown> | Exit.Exit<Response, unknown>
  /** Forks an effect in the server's context. */
  readonly fork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
  /** Logs a failure the client saw as a 5xx. */
  readonly logFailure: (request: HTTPServerRequest | undefined, cause: Cause.Cause<unknown>) => void
  /** Whether the server is shutting down: answer what is in flight, then close. */
  readonly isShuttingDown: () => boolean
  /**
   * Annotations of the interruption when the client goes away mid-request
   * (the `effect/http` adapter passes its `ClientAbort`, so that such a
   * request is reported as aborted by the client, 499, not as failed).
   */
  readonly clientAbortAnnotations: Context.Context<never> | undefined
  readonly onClose: (connection: HttpConnection) => void
}

/** One request in flight on a connection. */
interface InFlight {
  readonly head: RequestHead
  readonly request: HTTPServerRequest
  readonly body: RequestBody
  fiber: Fiber.Fiber<Response, unknown> | undefined
  continueSent: boolean
  /** The response is out (all of it); what remains is draining the body. */
  responded: boolean
  keepAlive: boolean
}

type ReadState = "Head" | "Request" | "Closed"

const EMPTY = Buffer.alloc(0)
/** Pieces of one turn's output up to this size are joined before writing. */
const COALESCE_MAX_BYTES = 64 * 1024
/** Input held for a request in flight before the socket is paused. */
const INPUT_HIGH_WATER = 64 * 1024
/** How long a closing connection may linger for its peer to close first. */
const LINGER_MILLIS = 2_000

/**
 * @since 0.1.0
 * @category models
 */
export class HttpConnection implements BodyHost {
  private readonly socket: Net.Socket
  private readonly host: ConnectionHost
  private readonly options: ConnectionOptions
  private readonly timer: ConnectionTimer
  private readonly headReader: HeadReader
  /** What every request on this connection shares. */
  private readonly requestContext: RequestContext

  private state: ReadState = "Head"
  /** Unconsumed input is `input[inputStart, input.length)`. */
  private input: Buffer = EMPTY
  /** The input is a shared read buffer, valid only during this turn. */
  private inputTransient = false
  private inputStart = 0
  /** Where the search for the end of the head resumes. */
  private scanFrom = 0
  private current: InFlight | undefined = undefined
  /** Responses waiting for the end of this turn, to leave in one write. */
  private batch: Array<Uint8Array> | undefined = undefined
  private batchBytes = 0
  private readEnded = false
  private paused = false
  /** Part of the next request head has arrived, not all of it (the header timer runs). */
  private headStarted = false
  /** A body is being fed from the input (see {@link onDemand}). */
  private feeding = false
  /** The server, not the client, destroyed the socket. */
  private closedByServer = false
  /** Written responses wait for the peer to read them. */
  private waitingForDrain = false
  /**
   * The clock when the current batch of input arrived: the requests of one
   * read start, and their header timers run, from that instant (one clock
   * read per read, not several per request).
   */
  private turnTime = 0

  /**
   * @param socket the connection's socket
   * @param host the server
   * @param readsByCallback the server delivers the socket's bytes through
   *   {@link receive} (from a shared read buffer: see `HTTPServer`), rather
   *   than the socket's `data` events
   */
  constructor(socket: Net.Socket, host: ConnectionHost, readsByCallback = false) {
    this.socket = socket
    this.host = host
    this.options = host.options
    this.timer = new ConnectionTimer(this.onTimeout)
    this.headReader = new HeadReader(this.options.maxHeaderSize, this.options.leniency)
    this.requestContext = new ConnectionContext(socket, this.options)
    if (!readsByCallback) socket.on("data", this.onData)
    socket.on("end", this.onEnd)
    socket.on("close", this.onSocketClose)
    socket.on("error", this.onSocketError)
    this.timer.arm("idle", this.options.idleTimeoutMillis)
  }

  /** Whether nothing is in flight: no request, no partial head. */
  get isIdle(): boolean {
    return this.current === undefined && this.inputStart >= this.input.length
  }

  /**
   * Closes the connection now if it is idle; otherwise it closes after the
   * response in flight (which then says `Connection: close`).
   */
  closeIfIdle(): void {
    if (this.state !== "Closed" && this.isIdle) this.close()
  }

  /** Closes the connection at once, interrupting a handler still running. */
  destroy(): void {
    if (this.state === "Closed") return
    this.closedByServer = true
    this.socket.destroy()
    this.onSocketClose()
  }

  // ---------------------------------------------------------------------------
  // input

  private readonly onData = (chunk: Buffer): void => this.receive(chunk, false)

  /**
   * Takes bytes read from the socket. `transient` bytes live in a read
   * buffer that the next read of any connection overwrites: whatever of them
   * outlives this call (a partial head, body pieces, a body not read yet) is
   * copied first, so that reading itself allocates nothing.
   */
  receive(chunk: Buffer, transient: boolean): void {
    if (this.state === "Closed") return
    this.turnTime = performance.now()
    if (this.inputStart >= this.input.length) {
      this.input = chunk
      this.inputTransient = transient
      this.inputStart = 0
      this.scanFrom = 0
    } else {
      // Only a partial head or partial framing is ever carried over. Buffers
      // handed out as body pieces are never written to again, so a fresh one.
      this.input = Buffer.concat([this.input.subarray(this.inputStart), chunk])
      this.inputTransient = false
      this.scanFrom = Math.max(0, this.scanFrom - this.inputStart)
      this.inputStart = 0
    }
    this.process()
    if (this.inputTransient) this.keepRestOfInput()
  }

  /** Copies what is left of transient input into a buffer of our own. */
  private keepRestOfInput(): void {
    this.inputTransient = false
    if (this.state === "Closed" || this.inputStart >= this.input.length) {
      this.input = EMPTY
      this.inputStart = 0
      this.scanFrom = 0
      return
    }
    this.input = Buffer.from(this.input.subarray(this.inputStart))
    this.scanFrom = Math.max(0, this.scanFrom - this.inputStart)
    this.inputStart = 0
  }

  private readonly onEnd = (): void => {
    this.readEnded = true
    // The client sent all it will. What the input holds is still served
    // (handlers that answer at once reply before we close); a request still
    // in flight is abandoned, as Tornado and nginx do: on a socket a FIN is
    // all a client that went away leaves behind.
    this.process()
    if (this.state !== "Closed") this.close()
  }

  private readonly onSocketError = (): void => {
    // ECONNRESET, EPIPE and the like: the peer is gone; "close" follows.
  }

  private readonly onSocketClose = (): void => {
    if (this.state === "Closed") return
    this.state = "Closed"
    this.timer.dispose()
    this.input = EMPTY
    this.inputStart = 0
    this.abandonRequest("client closed the connection", !this.closedByServer)
  }

  /**
   * The connection is closed with a request in flight: its body read fails,
   * its handler is interrupted, and the server hears of the close once the
   * handler's finalizers have run (so a server scope closing waits for them).
   */
  private abandonRequest(reason: string, clientGone: boolean): void {
    const current = this.current
    this.current = undefined
    const fiber = current?.fiber
    current?.body.closed(reason)
    if (fiber !== undefined && fiber.pollUnsafe() === undefined) {
      fiber.addObserver(() => this.host.onClose(this))
      fiber.interruptUnsafe(undefined, clientGone ? this.host.clientAbortAnnotations : undefined)
    } else {
      this.host.onClose(this)
    }
  }

  /**
   * Takes whatever the input allows: feeds the body of the request in
   * flight, or parses and starts the next request. Runs until it has to
   * wait; the responses produced meanwhile leave in one write.
   */
  private process(): void {
    if (this.batch !== undefined) return // re-entered from a synchronous handler
    this.startBatch()
    try {
      while (this.state !== "Closed") {
        const current = this.current
        if (current !== undefined) {
          if (!this.feedBody(current)) break
        } else {
          // Responses waiting for the peer to read them: take no more
          // requests until it does (a pipelining client that never reads
          // must not make us hold every response it asked for).
          if (this.batchBytes > COALESCE_MAX_BYTES) this.flushAndContinue()
          if (this.waitingForDrain || this.socket.writableNeedDrain) break
          if (!this.nextRequest()) break
        }
      }
    } finally {
      this.flush()
    }
    this.updateFlow()
  }

  /** Output is gathered to leave in one write at the end of the turn. */
  private startBatch(): void {
    this.batch = []
    this.batchBytes = 0
  }

  /** Writes out what the batch holds and goes on batching. */
  private flushAndContinue(): void {
    this.flush()
    this.startBatch()
  }

  /** Feeds the body in flight; `true` when the loop should go on. */
  private feedBody(current: InFlight): boolean {
    const body = current.body
    if (!body.wantsInput) return false
    if (this.inputStart >= this.input.length) {
      if (this.readEnded) {
        body.closed("client ended the connection mid-body")
        if (current.responded) this.close()
      }
      return false
    }
    this.feed(body)
    if (current.responded) {
      // Draining a body the handler did not read.
      if (body.state._tag === "Failed") this.close()
      else if (body.framingComplete) this.finishRequest(current)
      else return false
      return true
    }
    return false
  }

  /** Hands the input to the body, guarded against re-entry from a woken reader. */
  private feed(body: RequestBody): void {
    this.feeding = true
    try {
      this.inputStart = body.feed(this.input, this.inputStart, this.input.length, this.inputTransient)
    } finally {
      this.feeding = false
    }
  }

  /**
   * Reads the next head (the byte logic is the {@link HeadReader}'s); `true`
   * when a request was started. The header timeout runs from the first byte
   * of a head that does not arrive whole in one read.
   */
  private nextRequest(): boolean {
    if (this.state === "Closed") return false
    const end = this.input.length
    if (this.inputStart >= end) {
      if (this.readEnded) this.close()
      return false
    }
    const reader = this.headReader
    let head: RequestHead | undefined
    try {
      head = reader.read(this.input, this.inputStart, end, this.scanFrom)
    } catch (error) {
      if (isHttpError(error)) {
        this.failConnection(error)
        return false
      }
      throw error
    }
    if (head === undefined) {
      this.inputStart = reader.start
      this.scanFrom = reader.scanFrom
      if (reader.started) {
        if (!this.headStarted) {
          this.headStarted = true
          this.timer.arm("header", this.options.headerTimeoutMillis, this.turnTime)
        }
        if (this.readEnded) this.close()
      }
      return false
    }
    this.inputStart = reader.headEnd
    this.scanFrom = reader.headEnd
    this.headStarted = false
    this.timer.disarm()
    this.startRequest(head)
    return true
  }

  private startRequest(head: RequestHead): void {
    const options = this.options
    const limits: BodyLimits = {
      maxBodySize: options.maxBodySize,
      maxBufferSize: options.maxBufferSize,
      chunkSize: options.chunkSize,
      bodyTimeoutMillis: options.bodyTimeoutMillis
    }
    const body = new RequestBody(head.framing, limits, this, this.contentCoding(head))
    this.state = "Request"
    let request: HTTPServerRequest
    try {
      request = new HTTPServerRequest(head, body, this.requestContext, this.turnTime)
    } catch (error) {
      // Only a bug of ours gets here; the client still gets an answer.
      this.host.logFailure(undefined, Cause.die(error))
      this.failConnectionWithStatus(500)
      return
    }
    const current: InFlight = {
      head,
      request,
      body,
      fiber: undefined,
      continueSent: false,
      responded: false,
      keepAlive: false
    }
    this.current = current

    let effect: Effect.Effect<Response, unknown> | Exit.Exit<Response, unknown>
    try {
      effect = this.host.runHandler(request)
    } catch (error) {
      effect = Exit.die(error)
    }
    // The synchronous fast path: an Exit (Effect.succeed is one) is the answer.
    if (Exit.isExit(effect)) {
      this.respond(current, effect)
      return
    }
    const fiber = this.host.fork(effect)
    current.fiber = fiber
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) {
      this.respond(current, exit)
    } else if (this.current !== current) {
      // The connection closed while the handler ran its first steps, before
      // the fiber was known here: interrupt it now.
      fiber.interruptUnsafe()
    } else {
      fiber.addObserver((exit) => {
        if (this.current === current) {
          this.respond(current, exit)
          this.process()
        }
      })
    }
  }

  /** The content coding to decode the body from, when the server decodes it. */
  private contentCoding(head: RequestHead): ContentCoding | undefined {
    const decodes = this.options.decodedContentEncoding
    if (decodes === undefined || head.framing._tag === "NoBody") return undefined
    const raw = head.rawHeaders
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string
      if (name.length === 16 && name.toLowerCase() === "content-encoding") {
        const coding = (raw[i + 1] as string).trim().toLowerCase()
        if (!decodes(coding)) return undefined
        return coding === "deflate" ? "deflate" : "gzip"
      }
    }
    return undefined
  }

  // ---------------------------------------------------------------------------
  // BodyHost

  /** The handler started reading its body. */
  onReadStart(body: RequestBody): void {
    const current = this.current
    if (current === undefined || current.body !== body) return
    if (current.head.expectContinue && !current.continueSent && !current.responded) {
      current.continueSent = true
      this.write(CONTINUE)
    }
    const timeout = body.limits.bodyTimeoutMillis
    if (timeout !== undefined && !current.responded && !body.framingComplete) this.timer.arm("body", timeout)
  }

  /** The body is all read: the body timeout no longer applies. */
  onBodyComplete(body: RequestBody): void {
    const current = this.current
    if (current === undefined || current.body !== body) return
    if (this.timer.armed === "body" && !current.responded) this.timer.disarm()
  }

  /** The reader wants more input. */
  onDemand(body: RequestBody): void {
    const current = this.current
    // While a feed runs, the reader it woke may ask again: the feed in
    // progress hands over all there is, so there is nothing to do.
    if (current === undefined || current.body !== body || this.feeding) return
    if (this.batch === undefined) {
      this.process()
      return
    }
    if (body.wantsInput) {
      if (this.inputStart < this.input.length) {
        this.feed(body)
      } else if (this.readEnded) {
        body.closed("client ended the connection mid-body")
      }
    }
  }

  // ---------------------------------------------------------------------------
  // output

  private readonly write = (data: Uint8Array): void => {
    if (this.state === "Closed") return
    if (this.batch !== undefined) {
      this.batch.push(data)
      this.batchBytes += data.byteLength
    } else {
      this.socket.write(data)
    }
  }

  private flush(): void {
    const batch = this.batch
    this.batch = undefined
    if (batch === undefined || batch.length === 0 || this.state === "Closed") return
    if (batch.length === 1) {
      this.socket.write(batch[0] as Uint8Array)
      return
    }
    const size = this.batchBytes
    if (size <= COALESCE_MAX_BYTES) {
      // Small responses of a pipelined batch: one copy into one buffer costs
      // less than a vectored write of many small pieces.
      this.socket.write(Buffer.concat(batch, size))
    } else {
      this.socket.cork()
      for (const data of batch) this.socket.write(data)
      this.socket.uncork()
    }
  }

  /**
   * Answers the request in flight from the handler's exit: the response, or
   * the status its failure maps to (500 for anything unexpected, logged).
   */
  private respond(current: InFlight, exit: Exit.Exit<Response, unknown>): void {
    if (this.state === "Closed" || current.responded) return
    current.request.markFinished()
    let response: Response
    let forceClose = false
    if (Exit.isSuccess(exit)) {
      response = exit.value
    } else {
      const error = Cause.findErrorOption(exit.cause)
      const failure = error._tag === "Some" ? error.value : undefined
      if (isHttpError(failure)) {
        const status = statusOf(failure)
        if (status === undefined) {
          this.close()
          return
        }
        forceClose = !keepsConnection(failure)
        response = errorResponse(status)
      } else {
        this.host.logFailure(current.request, exit.cause)
        response = errorResponse(500)
      }
    }
    const keepAlive = !forceClose && this.canKeepAlive(current)
    current.keepAlive = keepAlive
    const connection: ConnectionField = !keepAlive
      ? "close"
      : current.head.version === "HTTP/1.0"
      ? "keep-alive"
      : "none"
    const isHead = current.head.method === "HEAD"
    const body = response.body
    if (body._tag === "Stream" && !isHead) {
      this.streamResponse(current, response, body.stream, body.contentLength, connection)
      return
    }
    // Outside a batch (an async handler), the pieces of this response still
    // leave together.
    const ownBatch = this.batch === undefined
    if (ownBatch) this.startBatch()
    try {
      if (body._tag === "Stream") {
        this.write(serializeStreamHead(response, body.contentLength, current.head.version === "HTTP/1.1", connection))
      } else {
        serializeResponse(response, isHead, connection, this.write)
      }
    } catch (error) {
      this.host.logFailure(current.request, Cause.die(error))
      current.keepAlive = false
      serializeResponse(errorResponse(500), isHead, "close", this.write)
    }
    if (ownBatch) this.flush()
    this.afterResponse(current)
  }

  /**
   * Whether the connection can serve another request after this one: the
   * client wants it, the server allows it, and the rest of this request's
   * body can be read past (RFC 9112 section 9.3).
   */
  private canKeepAlive(current: InFlight): boolean {
    if (this.options.noKeepAlive || !current.head.keepAlive || this.readEnded) return false
    if (this.host.isShuttingDown()) return false
    const body = current.body
    if (body.state._tag === "Failed") return false
    if (body.framingComplete) return true
    // The client waits for 100 Continue before sending: it never came.
    if (current.head.expectContinue && !current.continueSent) return false
    // A declared length past the limit is not worth draining.
    const framing = current.head.framing
    return framing._tag !== "ContentLength" || framing.length <= body.limits.maxBodySize
  }

  private streamResponse(
    current: InFlight,
    response: Response,
    stream: Stream.Stream<Uint8Array, unknown>,
    contentLength: number | undefined,
    connection: ConnectionField
  ): void {
    // Without chunked coding (HTTP/1.0) an unknown length ends with the connection.
    const chunked = contentLength === undefined && current.head.version === "HTTP/1.1"
    if (contentLength === undefined && !chunked) {
      current.keepAlive = false
      connection = "close"
    }
    let head: Buffer
    try {
      head = serializeStreamHead(response, contentLength, chunked, connection)
    } catch (error) {
      this.host.logFailure(current.request, Cause.die(error))
      current.keepAlive = false
      serializeResponse(errorResponse(500), false, "close", this.write)
      this.afterResponse(current)
      return
    }
    this.write(head)
    // The head must leave before the chunks, which the stream writes directly.
    if (this.batch !== undefined) this.flushAndContinue()
    const socket = this.socket
    const writeChunk = (data: Uint8Array): Effect.Effect<void> => {
      if (data.byteLength === 0 || this.state === "Closed") return Effect.void
      const ok = socket.write(chunked ? encodeChunk(data) : data)
      if (ok) return Effect.void
      // Backpressure: wait for the peer to read, but not for ever.
      this.timer.arm("write", this.options.writeTimeoutMillis)
      return Effect.callback<void>((resume) => {
        const onDrain = () => {
          socket.off("close", onDrain)
          if (this.timer.armed === "write") this.timer.disarm()
          resume(Effect.void)
        }
        socket.once("drain", onDrain)
        socket.once("close", onDrain)
        return Effect.sync(() => {
          socket.off("drain", onDrain)
          socket.off("close", onDrain)
        })
      })
    }
    const fiber = this.host.fork(Stream.runForEach(stream, writeChunk))
    current.fiber = fiber as Fiber.Fiber<unknown, unknown> as Fiber.Fiber<Response, unknown>
    const done = (exit: Exit.Exit<void, unknown>) => {
      if (this.state === "Closed" || this.current !== current) return
      if (Exit.isFailure(exit)) {
        // The head is out: the only way to tell the client is to cut the body short.
        if (!Cause.hasInterruptsOnly(exit.cause)) this.host.logFailure(current.request, exit.cause)
        this.destroy()
        return
      }
      if (chunked) this.write(LAST_CHUNK)
      this.afterResponse(current)
      this.process()
    }
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) done(exit)
    else fiber.addObserver(done)
  }

  /** The response is written: close, drain the unread body, or go on. */
  private afterResponse(current: InFlight): void {
    current.responded = true
    if (!current.keepAlive) {
      this.close()
      return
    }
    const body = current.body
    if (body.state._tag === "Failed") {
      this.close()
      return
    }
    if (body.framingComplete) {
      this.finishRequest(current)
      return
    }
    // Drain what the handler left unread, under the body timeout (or the
    // header timeout, so that a drain never waits forever).
    body.startDraining()
    this.timer.arm("body", body.limits.bodyTimeoutMillis ?? this.options.headerTimeoutMillis)
  }

  /** The request is over and the connection stays: wait for the next. */
  private finishRequest(current: InFlight): void {
    if (this.current !== current) return
    this.current = undefined
    this.state = "Head"
    this.timer.arm("idle", this.options.idleTimeoutMillis)
  }

  // ---------------------------------------------------------------------------
  // flow control, timeouts, closing

  /**
   * Pauses the socket while the input holds more than the request in flight
   * can use, and while responses wait for the peer to read them; resumes
   * otherwise. Memory per connection stays bounded by the limits.
   */
  private updateFlow(): void {
    if (this.state === "Closed") return
    const buffered = this.input.length - this.inputStart
    const current = this.current
    const inputFull = current !== undefined && !current.body.wantsInput && buffered > INPUT_HIGH_WATER
    const needDrain = this.socket.writableNeedDrain
    if (needDrain) this.awaitWriteDrain()
    const shouldPause = inputFull || needDrain
    if (shouldPause && !this.paused) {
      this.paused = true
      this.socket.pause()
    } else if (!shouldPause && this.paused) {
      this.paused = false
      this.socket.resume()
    }
  }

  /**
   * Responses wait in memory for the peer to read them: no more requests
   * are taken meanwhile, and a peer that reads nothing for `writeTimeout` is
   * cut off, so that it cannot pin a response in memory for ever.
   */
  private awaitWriteDrain(): void {
    if (this.waitingForDrain) return
    this.waitingForDrain = true
    this.socket.once("drain", this.onWriteDrain)
    this.timer.arm("write", this.options.writeTimeoutMillis)
  }

  private readonly onWriteDrain = (): void => {
    this.waitingForDrain = false
    if (this.timer.armed === "write") {
      if (this.current === undefined) this.timer.arm("idle", this.options.idleTimeoutMillis)
      else this.timer.disarm()
    }
    this.updateFlow()
    if (!this.paused && this.current === undefined) this.process()
  }

  private readonly onTimeout = (kind: TimeoutKind): void => {
    if (this.state === "Closed") return
    switch (kind) {
      case "idle":
        this.close()
        return
      case "header":
        this.failConnection(new HeaderTimeout({ timeoutMillis: this.options.headerTimeoutMillis }))
        return
      case "body": {
        const current = this.current
        if (current === undefined || current.responded) {
          this.close()
          return
        }
        const timeoutMillis = current.body.limits.bodyTimeoutMillis ?? 0
        current.body.fail(new BodyTimeout({ timeoutMillis }))
        return
      }
      case "write":
        this.destroy()
        return
    }
  }

  /** Answers a protocol error that ends the connection, then closes. */
  private failConnection(error: HttpError): void {
    const status = statusOf(error)
    if (status === undefined) this.close()
    else this.failConnectionWithStatus(status)
  }

  private failConnectionWithStatus(status: number): void {
    serializeResponse(errorResponse(status), false, "close", this.write)
    this.close()
  }

  /**
   * Ends the connection after what was written: half-close, then a short
   * linger for the peer to close first, so that a final response is not
   * lost to a reset caused by unread input.
   */
  private close(): void {
    if (this.state === "Closed") return
    this.flush()
    this.state = "Closed"
    this.timer.dispose()
    const socket = this.socket
    socket.off("data", this.onData)
    socket.resume() // discard whatever else arrives
    socket.end()
    const linger = setTimeout(() => socket.destroy(), LINGER_MILLIS)
    linger.unref()
    socket.once("close", () => clearTimeout(linger))
    // After the client's FIN the request is abandoned because the client left.
    this.abandonRequest("connection closed", this.readEnded)
  }
}

/**
 * What the requests of one connection share; the peer's address is asked of
 * the socket (a system call) only when a request wants it.
 */
class ConnectionContext implements RequestContext {
  private readonly socket: Net.Socket
  private address: string | undefined = undefined
  readonly protocol: string
  readonly xheaders: boolean
  readonly isTrustedDownstream: (ip: string) => boolean
  readonly decodedContentEncoding: ((coding: string) => boolean) | undefined

  constructor(socket: Net.Socket, options: ConnectionOptions) {
    this.socket = socket
    this.protocol = options.protocol ?? ((socket as { encrypted?: boolean }).encrypted === true ? "https" : "http")
    this.xheaders = options.xheaders
    this.isTrustedDownstream = options.isTrustedDownstream
    this.decodedContentEncoding = options.decodedContentEncoding
  }

  get remoteIp(): string {
    this.address ??= normalizeIp(this.socket.remoteAddress)
    return this.address
  }
}

const errorResponses = new Map<number, Response>()

/** The plain-text response for an error status. */
const errorResponse = (status: number): Response => {
  let response = errorResponses.get(status)
  if (response === undefined) {
    const text = `${status} ${reasonPhrase(status)}`
    response = {
      status,
      headers: { "Content-Type": "text/plain; charset=utf-8" },
      body: { _tag: "Text", text }
    }
    errorResponses.set(status, response)
  }
  return response
}

/** The peer's IP as Tornado reports it; IPv4-mapped IPv6 as plain IPv4. */
const normalizeIp = (address: string | undefined): string => {
  if (address === undefined || address === "") return "0.0.0.0"
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address
}
