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
 * The state of the connection is explicit, in three small state machines
 * (in the manner of hyper's `proto/h1/conn.rs`), each a string constant
 * changed in one place per transition; plus the socket's flow control:
 *
 * ```text
 * read:   Idle ──bytes of a head──▶ HeadStarted ──head complete──▶ Body
 *         Idle ──whole head in one read─────────────────────────▶ Body
 *         Body ──response out, body unread──▶ Draining
 *         Body | Draining ──body's framing done, keep-alive──▶ Idle
 *         any ──close / error / client gone──▶ Closed
 *
 * write:  Idle ──handler reads, Expect: 100-continue──▶ ContinueSent
 *         Idle | ContinueSent ──whole response written──▶ Writing
 *         Idle | ContinueSent ──streamed head written──▶ Streaming ──stream ends──▶ Writing
 *         Writing ──request over (next request may start)──▶ Idle
 *         any ──close──▶ Closed
 *
 * keep-alive: Idle ──request starts──▶ Busy ──request over──▶ Idle
 *             Busy ──response says Connection: close──▶ Disabled (final; the connection closes after it)
 *
 * flow:   Reading ⇄ Paused (input held for the request in flight is full)
 *         Reading | Paused ──written output over the socket's high water──▶ AwaitingDrain ──drain──▶ (re-evaluated)
 * ```
 *
 * A request is in flight exactly while read is `Body` or `Draining`
 * (`current` is set); `Draining` is the time between a response and the end
 * of the body the handler left unread.
 *
 * Shutdown ({@link HttpConnection.beginShutdown}) marks a position in the
 * input: requests whose heads end before it are served, the last with
 * `Connection: close`; with none left, the connection closes.
 *
 * @since 0.1.0
 */
import type * as Net from "node:net"
import { Cause, type Context, Effect, Exit, type Fiber, Stream } from "effect"
import { HTTPServerRequest, type RequestContext } from "../Request/HTTPServerRequest.ts"
import { DetachError, type DetachOptions } from "../Request/Detach.ts"
import { DetachedSocketDuplex } from "./DetachedSocketDuplex.ts"
import { isResponse, type Response } from "../Response/Response.ts"
import { ConnectionTimer, type TimeoutKind } from "./ConnectionTimer.ts"
import type { ParserLeniency, RequestHead } from "../Wire/HeadParser.ts"
import { ConnectionInput } from "./ConnectionInput.ts"
import { errorResponse } from "../Wire/ErrorResponse.ts"
import { answerOf, BodyTimeout, HeaderTimeout, type HttpError, isHttpError, NotAResponse, statusOf } from "../Wire/HttpErrors.ts"
import type { ContentCoding } from "../Request/BodyDecompression.ts"
import { type BodyHost, type BodyLimits, RequestBody } from "../Request/RequestBody.ts"
import {
  type ConnectionField,
  CONTINUE,
  encodeChunk,
  LAST_CHUNK,
  serializeResponse,
  serializeStreamHead,
  serializeSwitchHead,
  statusHasNoBody
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
  readonly maxRequestLineSize: number
  readonly maxBodySize: number
  readonly maxBufferSize: number
  readonly chunkSize: number
  readonly headerTimeoutMillis: number
  readonly bodyTimeoutMillis: number | undefined
  readonly idleTimeoutMillis: number
  readonly writeTimeoutMillis: number
  readonly xheaders: boolean
  readonly forwarded: boolean
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
  /** Forks a handler's effect in the server's context (see `ListenOptions.handlersStartUninterruptible`). */
  readonly forkHandler: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
  /** Logs a failure the client saw as a 5xx. */
  readonly logFailure: (request: HTTPServerRequest | undefined, cause: Cause.Cause<unknown>) => void
  /**
   * Annotations of the interruption when the client goes away mid-request
   * (the `effect/http` adapter passes its `ClientAbort`, so that such a
   * request is reported as aborted by the client, 499, not as failed).
   */
  readonly clientAbortAnnotations: Context.Context<never> | undefined
  readonly onClose: (connection: HttpConnection) => void
  /**
   * Told once per request when it is over: its response is all written
   * (`response`, with the body bytes a streamed body sent), or it ended
   * without one (`undefined`: the connection closed first, or a streamed body
   * failed). Absent when nothing observes requests, so that it costs nothing.
   */
  readonly onRequestEnd?:
    | ((request: HTTPServerRequest, response: Response | undefined, streamedBytes: number) => void)
    | undefined
  /** Told of each engine error answered (a limit passed, a malformed request); absent when nothing observes. */
  readonly onEngineError?: ((error: HttpError) => void) | undefined
  /**
   * Told when a request's handler takes the connection away from HTTP, with
   * the switching response it sent (if any); its request is over for
   * `onRequestEnd`. Absent when nothing observes.
   */
  readonly onDetach?: ((request: HTTPServerRequest, response: Response | undefined) => void) | undefined
}

/** One request in flight on a connection. */
interface InFlight {
  readonly head: RequestHead
  readonly request: HTTPServerRequest
  readonly body: RequestBody
  fiber: Fiber.Fiber<Response, unknown> | undefined
}

/** The read side (see the diagram in the module doc). */
type ReadState = "Idle" | "HeadStarted" | "Body" | "Draining" | "Detached" | "Closed"
/** The write side, for the request in flight. */
type WriteState = "Idle" | "ContinueSent" | "Writing" | "Streaming" | "Detached" | "Closed"
/** Whether the connection serves another request after this one. */
type KeepAliveState = "Idle" | "Busy" | "Disabled"
/** Whether the socket is read from. */
type FlowState = "Reading" | "Paused" | "AwaitingDrain"

const EMPTY_BYTES = new Uint8Array(0)
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
  private readonly input: ConnectionInput
  /** What every request on this connection shares. */
  private readonly requestContext: RequestContext

  private read: ReadState = "Idle"
  private writing: WriteState = "Idle"
  private keepAlive: KeepAliveState = "Idle"
  private flow: FlowState = "Reading"
  /** The request in flight: set exactly while `read` is `Body`, `Draining` or `Detached`. */
  private current: InFlight | undefined = undefined
  /** The raw connection a handler took (`read` is `Detached`). */
  private detached: DetachedSocketDuplex | undefined = undefined
  /** Responses waiting for the end of this turn, to leave in one write. */
  private batch: Array<Uint8Array> | undefined = undefined
  private batchBytes = 0
  /** The client's FIN came: what the input holds is all there will be. */
  private readEnded = false
  /** A body is being fed from the input (a re-entry guard, see {@link onDemand}). */
  private feeding = false
  /** The server, not the client, destroyed the socket. */
  private closedByServer = false
  /** Set by {@link disableKeepAlive}: every response from now on ends the connection. */
  private keepAliveDisabled = false
  /** The last request whose end `onRequestEnd` was told of. */
  private reported: HTTPServerRequest | undefined = undefined
  /**
   * Set when the server began to shut down: the position in the byte stream
   * up to which the client's requests are still served (see {@link beginShutdown}).
   */
  private shutdownInputEnd: number | undefined = undefined
  /**
   * The clock when the current run of {@link process} began (for a read:
   * when its bytes arrived): the requests it starts, and their header timers,
   * run from that instant (one clock read per read, not several per request).
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
    this.input = new ConnectionInput(this.options.maxHeaderSize, this.options.leniency, this.options.maxRequestLineSize)
    this.requestContext = new ConnectionContext(socket, this.options, this.detach)
    if (!readsByCallback) socket.on("data", this.onData)
    socket.on("end", this.onEnd)
    socket.on("close", this.onSocketClose)
    socket.on("error", this.onSocketError)
    this.timer.arm("idle", this.options.idleTimeoutMillis)
  }

  /**
   * The server is shutting down. Every request received whole before now
   * is still answered, in order, the last one with `Connection: close`;
   * then the connection closes. A connection with no such request (idle,
   * or holding only part of a head, as a slow client's) closes at once:
   * nothing on it is in flight. A detached connection is left to its
   * handler (the server closes it after `shutdownTimeout`).
   */
  beginShutdown(): void {
    if (this.read === "Closed" || this.read === "Detached" || this.shutdownInputEnd !== undefined) return
    this.shutdownInputEnd = this.input.received
    if (this.current === undefined && !this.holdsRequestFromBeforeShutdown()) this.close()
  }

  /**
   * From now on every response whose head is still to be written says
   * `Connection: close`, and the connection closes after it; nothing else
   * changes (an idle connection stays open and its next request is served).
   * For a server about to shut down (`drainDelay`): clients and load
   * balancers move their next requests to new connections.
   */
  disableKeepAlive(): void {
    this.keepAliveDisabled = true
  }

  /** Shutting down: whether the input holds a whole head that came before the shutdown. */
  private holdsRequestFromBeforeShutdown(): boolean {
    const limit = this.shutdownInputEnd
    return limit !== undefined && this.input.holdsHeadEndBy(limit)
  }

  /** Closes the connection at once, interrupting a handler still running. */
  destroy(): void {
    if (this.read === "Closed") return
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
   * outlives this call is copied at its end (see {@link ConnectionInput}).
   */
  receive(chunk: Buffer, transient: boolean): void {
    if (this.read === "Closed") return
    if (this.detached !== undefined) {
      this.detached.deliver(chunk, transient)
      return
    }
    this.input.receive(chunk, transient)
    this.process(performance.now())
    // `process` may have closed the connection (TypeScript cannot see it).
    if ((this.read as ReadState) === "Closed") this.input.clear()
    else this.input.endTurn()
  }

  private readonly onEnd = (): void => {
    this.readEnded = true
    if (this.detached !== undefined) {
      this.detached.deliverEnd()
      return
    }
    // The client sent all it will. What the input holds is still served
    // (handlers that answer at once reply before we close); a request still
    // in flight is abandoned, as Tornado and nginx do: on a socket a FIN is
    // all a client that went away leaves behind.
    this.process()
    if (this.read !== "Closed") this.close()
  }

  private readonly onSocketError = (): void => {
    // ECONNRESET, EPIPE and the like: the peer is gone; "close" follows.
  }

  private readonly onSocketClose = (): void => {
    if (this.read === "Closed") return
    this.enterClosed()
    this.input.clear()
    this.detached?.socketClosed()
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
    if (current !== undefined && current.request !== this.reported) this.host.onRequestEnd?.(current.request, undefined, 0)
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
  private process(now: number = performance.now()): void {
    if (this.batch !== undefined) return // re-entered from a synchronous handler
    if (this.read === "Detached") return
    this.turnTime = now
    this.startBatch()
    try {
      while (this.read !== "Closed") {
        const current = this.current
        if (current !== undefined) {
          if (!this.feedBody(current)) break
        } else {
          // Responses waiting for the peer to read them: take no more
          // requests until it does (a pipelining client that never reads
          // must not make us hold every response it asked for).
          if (this.batchBytes > COALESCE_MAX_BYTES) this.flushAndContinue()
          if (this.flow === "AwaitingDrain" || this.socket.writableNeedDrain) break
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
    if (this.input.isEmpty) {
      if (this.readEnded) {
        body.closed("client ended the connection mid-body")
        if (this.read === "Draining") this.close()
      }
      return false
    }
    this.feed(body)
    if (this.read === "Draining") {
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
      this.input.feedBody(body)
    } finally {
      this.feeding = false
    }
  }

  /**
   * Reads the next head (the byte logic is the {@link ConnectionInput}'s);
   * `true` when a request was started. The header timeout runs from the
   * first byte of a head that does not arrive whole in one read.
   */
  private nextRequest(): boolean {
    if (this.read === "Closed") return false
    if (this.shutdownInputEnd !== undefined && !this.holdsRequestFromBeforeShutdown()) {
      // Shutting down with no whole request left from before: the
      // connection is over (a streamed response that began before the
      // shutdown, and so could not say `Connection: close`, ends here).
      this.close()
      return false
    }
    const input = this.input
    if (input.isEmpty) {
      if (this.readEnded) this.close()
      return false
    }
    let head: RequestHead | undefined
    try {
      head = input.readHead()
    } catch (error) {
      if (isHttpError(error)) {
        this.failConnection(error)
        return false
      }
      throw error
    }
    if (head === undefined) {
      if (input.headStarted) {
        if (this.read === "Idle") {
          this.read = "HeadStarted"
          this.timer.arm("header", this.options.headerTimeoutMillis, this.turnTime)
        }
        if (this.readEnded) this.close()
      }
      return false
    }
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
    this.read = "Body"
    this.keepAlive = "Busy"
    let request: HTTPServerRequest
    try {
      request = new HTTPServerRequest(head, body, this.requestContext, this.turnTime)
    } catch (error) {
      // Only a bug of ours gets here; the client still gets an answer.
      this.answerDefect(undefined, error, false)
      this.close()
      return
    }
    const current: InFlight = { head, request, body, fiber: undefined }
    this.current = current

    let effect: Effect.Effect<Response, unknown> | Exit.Exit<Response, unknown>
    try {
      effect = this.host.runHandler(request)
    } catch (error) {
      effect = Exit.die(error)
    }
    // The synchronous fast path: an Exit (Effect.succeed is one) is the answer.
    if (Exit.isExit(effect)) {
      this.respond(current, effect, this.sameTurnClock())
      return
    }
    const fiber = this.host.forkHandler(effect)
    current.fiber = fiber
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) {
      this.respond(current, exit, this.sameTurnClock())
    } else if (this.current !== current) {
      // The connection closed while the handler ran its first steps, before
      // the fiber was known here: interrupt it now.
      fiber.interruptUnsafe()
    } else {
      fiber.addObserver((exit) => {
        if (this.current === current) {
          const now = performance.now()
          this.respond(current, exit, now)
          this.process(now)
        }
      })
    }
  }

  /**
   * The clock for a response given in the turn that read its request: the
   * turn's own reading (no clock read per pipelined response), unless
   * something observes request durations, which then get a reading of their own.
   */
  private sameTurnClock(): number | undefined {
    return this.host.onRequestEnd === undefined ? this.turnTime : undefined
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
    // 100 Continue only while no response has begun (RFC 9110 section 10.1.1).
    if (current.head.expectContinue && this.writing === "Idle") {
      this.writing = "ContinueSent"
      this.write(CONTINUE)
    }
    const timeout = body.limits.bodyTimeoutMillis
    if (timeout !== undefined && this.read === "Body" && !body.framingComplete) this.timer.arm("body", timeout)
  }

  /** The body is all read: the body timeout no longer applies. */
  onBodyComplete(body: RequestBody): void {
    const current = this.current
    if (current === undefined || current.body !== body) return
    if (this.timer.armed === "body" && this.read === "Body") this.timer.disarm()
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
      if (!this.input.isEmpty) {
        this.feed(body)
      } else if (this.readEnded) {
        body.closed("client ended the connection mid-body")
      }
    }
  }

  // ---------------------------------------------------------------------------
  // detaching (Tornado's HTTP1Connection.detach)

  /**
   * Lets go of the connection for the request in flight: from now on its
   * bytes go to the returned stream, and the connection writes, times and
   * parses nothing. It stays counted by the server until the socket closes
   * and the handler has ended (see `Request/Detach.ts`).
   */
  private readonly detach = (
    request: HTTPServerRequest,
    options: DetachOptions | undefined
  ): DetachedSocketDuplex | DetachError => {
    const current = this.current
    if (current === undefined || current.request !== request || this.read === "Closed") {
      return new DetachError({ reason: "Closed", description: "the connection is closed or serves another request" })
    }
    if (this.read === "Detached" || (this.writing !== "Idle" && this.writing !== "ContinueSent")) {
      return new DetachError({ reason: "ResponseStarted", description: "a response is already being written" })
    }
    if (!current.body.framingComplete || current.body.state._tag === "Failed") {
      return new DetachError({ reason: "BodyUnread", description: "the request body has not been read to its end" })
    }
    let head: Buffer | undefined
    const response = options?.response
    if (response !== undefined) {
      const status = response.status
      const fits = status === 101 ? current.head.upgrade !== undefined : status >= 200 && status < 300 && current.head.method === "CONNECT"
      if (!fits) {
        return new DetachError({
          reason: "InvalidResponse",
          description: `a ${status} response does not switch a ${current.head.method} request to another protocol`
        })
      }
      try {
        head = serializeSwitchHead(response)
      } catch (cause) {
        return new DetachError({ reason: "InvalidResponse", description: "the response head cannot be sent", cause })
      }
    }
    request.markFinished()
    this.read = "Detached"
    this.writing = "Detached"
    this.keepAlive = "Disabled"
    this.timer.disarm()
    if (head !== undefined) this.write(head)
    // What this turn gathered (and the head) leaves before the new protocol's bytes.
    if (this.batch !== undefined) this.flushAndContinue()
    const input = this.input
    const early = input.isEmpty ? EMPTY_BYTES : Buffer.from(input.buffer.subarray(input.start))
    input.clear()
    const socket = this.socket
    if (this.flow === "AwaitingDrain") socket.off("drain", this.onWriteDrain)
    if (this.flow !== "Reading") socket.resume()
    this.flow = "Reading"
    const detached = new DetachedSocketDuplex(socket, early)
    this.detached = detached
    if (this.readEnded) detached.deliverEnd()
    const onDetach = this.host.onDetach
    if (onDetach !== undefined) {
      this.reported = request
      onDetach(request, response)
    }
    return detached
  }

  // ---------------------------------------------------------------------------
  // output

  private readonly write = (data: Uint8Array): void => {
    if (this.read === "Closed") return
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
    if (batch === undefined || batch.length === 0 || this.read === "Closed") return
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
   * the answer its failure gets from the error table (500 for anything
   * unexpected, logged with the request). A success that is not a
   * `Response` is a failure too ({@link NotAResponse}).
   */
  private respond(current: InFlight, exit: Exit.Exit<Response, unknown>, clock?: number): void {
    if (this.read === "Closed" || this.writing === "Writing" || this.writing === "Streaming") return
    // The connection speaks another protocol now: no HTTP response goes into it.
    if (this.read === "Detached") return
    // One clock reading for the finish time and the idle timer that follows.
    const now = clock ?? performance.now()
    current.request.markFinished(now)
    let response: Response
    let forceClose = false
    if (Exit.isSuccess(exit) && isResponse(exit.value)) {
      response = exit.value
    } else {
      let failure: unknown
      let cause: Cause.Cause<unknown>
      if (Exit.isSuccess(exit)) {
        failure = new NotAResponse({ value: describeValue(exit.value) })
        cause = Cause.fail(failure)
      } else {
        const error = Cause.findErrorOption(exit.cause)
        failure = error._tag === "Some" ? error.value : undefined
        cause = exit.cause
      }
      if (isHttpError(failure)) this.host.onEngineError?.(failure)
      const answer = answerOf(failure)
      if (answer.status === undefined) {
        this.close()
        return
      }
      // A 5xx is the server's (or the handler's) fault: it goes to the log.
      if (answer.status >= 500) this.host.logFailure(current.request, cause)
      forceClose = !answer.keepsConnection
      response = errorResponse(answer.status)
    }
    const keepAlive = !forceClose && this.canKeepAlive(current)
    if (!keepAlive) this.keepAlive = "Disabled"
    const connection: ConnectionField = !keepAlive
      ? "close"
      : current.head.version === "HTTP/1.0"
      ? "keep-alive"
      : "none"
    const isHead = current.head.method === "HEAD"
    const body = response.body
    // No body follows a 1xx, 204 or 304 head, nor the answer to a HEAD
    // (RFC 9110 sections 9.3.2, 15.3.5, 15.4.5; RFC 9112 section 6.3): a
    // stream there is not run, only its head is written.
    if (body._tag === "Stream" && !isHead && !statusHasNoBody(response.status)) {
      this.streamResponse(current, response, body.stream, body.contentLength, connection)
      return
    }
    // Outside a batch (an async handler), the pieces of this response still
    // leave together.
    const ownBatch = this.batch === undefined
    if (ownBatch) this.startBatch()
    this.writing = "Writing"
    try {
      if (body._tag === "Stream") {
        this.write(serializeStreamHead(response, body.contentLength, current.head.version === "HTTP/1.1", connection))
      } else {
        serializeResponse(response, isHead, connection, this.write)
      }
    } catch (error) {
      response = this.answerDefect(current.request, error, isHead)
    }
    if (ownBatch) this.flush()
    this.afterResponse(current, response, 0, now)
  }

  /**
   * A response that cannot be sent (an invalid header or status, a bug of
   * ours): logged, answered with 500 from the error table, and the
   * connection closes after it. Nothing of the response was written: the
   * serializer throws before it writes.
   */
  private answerDefect(request: HTTPServerRequest | undefined, defect: unknown, isHead: boolean): Response {
    this.host.logFailure(request, Cause.die(defect))
    this.keepAlive = "Disabled"
    this.writing = "Writing"
    const response = errorResponse(answerOf(defect).status ?? 500)
    serializeResponse(response, isHead, "close", this.write)
    return response
  }

  /**
   * Whether the connection can serve another request after this one: the
   * client wants it, the server allows it, and the rest of this request's
   * body can be read past (RFC 9112 section 9.3).
   */
  private canKeepAlive(current: InFlight): boolean {
    if (this.options.noKeepAlive || this.keepAliveDisabled || !current.head.keepAlive || this.readEnded) return false
    // A request to switch protocols that the handler answered in HTTP: the
    // client may already be sending in the new protocol, so the connection
    // ends with this response (as Node's server does).
    if (current.head.upgrade !== undefined || current.head.method === "CONNECT") return false
    const body = current.body
    if (body.state._tag === "Failed") return false
    // Shutting down: this response is the last unless another request came
    // whole before the shutdown, past this one's body.
    if (this.shutdownInputEnd !== undefined) return body.framingComplete && this.holdsRequestFromBeforeShutdown()
    if (body.framingComplete) return true
    // The client waits for 100 Continue before sending: it never came.
    if (current.head.expectContinue && this.writing !== "ContinueSent") return false
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
      this.keepAlive = "Disabled"
      connection = "close"
    }
    let head: Buffer
    try {
      head = serializeStreamHead(response, contentLength, chunked, connection)
    } catch (error) {
      const failed = this.answerDefect(current.request, error, false)
      this.afterResponse(current, failed, 0)
      return
    }
    this.writing = "Streaming"
    this.write(head)
    // The head must leave before the chunks, which the stream writes directly.
    if (this.batch !== undefined) this.flushAndContinue()
    const socket = this.socket
    let sent = 0
    const writeChunk = (data: Uint8Array): Effect.Effect<void> => {
      if (data.byteLength === 0 || this.read === "Closed") return Effect.void
      sent += data.byteLength
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
      if (this.read === "Closed" || this.current !== current) return
      if (Exit.isFailure(exit)) {
        // The head is out: the only way to tell the client is to cut the body short.
        if (!Cause.hasInterruptsOnly(exit.cause)) this.host.logFailure(current.request, exit.cause)
        this.destroy()
        return
      }
      if (chunked) this.write(LAST_CHUNK)
      this.writing = "Writing"
      this.afterResponse(current, response, sent)
      this.process()
    }
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) done(exit)
    else fiber.addObserver(done)
  }

  /**
   * The response is written (at `now`, when known): close, drain the unread
   * body, or go on.
   */
  private afterResponse(current: InFlight, response: Response, streamedBytes: number, now?: number): void {
    const onRequestEnd = this.host.onRequestEnd
    if (onRequestEnd !== undefined) {
      this.reported = current.request
      onRequestEnd(current.request, response, streamedBytes)
    }
    if (this.keepAlive === "Disabled") {
      this.close()
      return
    }
    const body = current.body
    if (body.state._tag === "Failed") {
      this.close()
      return
    }
    if (body.framingComplete) {
      this.finishRequest(current, now)
      return
    }
    // Drain what the handler left unread, under the body timeout (or the
    // header timeout, so that a drain never waits forever).
    this.read = "Draining"
    body.startDraining()
    this.timer.arm("body", body.limits.bodyTimeoutMillis ?? this.options.headerTimeoutMillis)
  }

  /** The request is over and the connection stays: wait for the next. */
  private finishRequest(current: InFlight, now: number = performance.now()): void {
    if (this.current !== current) return
    this.current = undefined
    this.read = "Idle"
    this.writing = "Idle"
    this.keepAlive = "Idle"
    this.timer.arm("idle", this.options.idleTimeoutMillis, now)
  }

  // ---------------------------------------------------------------------------
  // flow control, timeouts, closing

  /**
   * Pauses the socket while the input holds more than the request in flight
   * can use, and while responses wait for the peer to read them; resumes
   * otherwise. Memory per connection stays bounded by the limits.
   */
  private updateFlow(): void {
    if (this.read === "Closed" || this.read === "Detached" || this.flow === "AwaitingDrain") return
    if (this.socket.writableNeedDrain) {
      this.awaitWriteDrain()
      return
    }
    const current = this.current
    const inputFull = current !== undefined && !current.body.wantsInput && this.input.size > INPUT_HIGH_WATER
    if (inputFull && this.flow === "Reading") {
      this.flow = "Paused"
      this.socket.pause()
    } else if (!inputFull && this.flow === "Paused") {
      this.flow = "Reading"
      this.socket.resume()
    }
  }

  /**
   * Responses wait in memory for the peer to read them: the socket is not
   * read and no more requests are taken meanwhile, and a peer that reads
   * nothing for `writeTimeout` is cut off, so that it cannot pin a response
   * in memory for ever.
   */
  private awaitWriteDrain(): void {
    if (this.flow === "Reading") this.socket.pause()
    this.flow = "AwaitingDrain"
    this.socket.once("drain", this.onWriteDrain)
    this.timer.arm("write", this.options.writeTimeoutMillis)
  }

  private readonly onWriteDrain = (): void => {
    if (this.read === "Closed" || this.read === "Detached") return
    // The socket is paused: updateFlow resumes it unless the input is full.
    this.flow = "Paused" as FlowState
    if (this.timer.armed === "write") {
      if (this.current === undefined) this.timer.arm("idle", this.options.idleTimeoutMillis)
      else this.timer.disarm()
    }
    this.updateFlow()
    if (this.flow === "Reading" && this.current === undefined) this.process()
  }

  private readonly onTimeout = (kind: TimeoutKind): void => {
    if (this.read === "Closed") return
    switch (kind) {
      case "idle":
        this.close()
        return
      case "header":
        this.failConnection(new HeaderTimeout({ timeoutMillis: this.options.headerTimeoutMillis }))
        return
      case "body": {
        const current = this.current
        if (current === undefined || this.read === "Draining") {
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
    this.host.onEngineError?.(error)
    const status = statusOf(error)
    if (status !== undefined) serializeResponse(errorResponse(status), false, "close", this.write)
    this.close()
  }

  /** Every side of the connection is over. */
  private enterClosed(): void {
    this.read = "Closed"
    this.writing = "Closed"
    this.keepAlive = "Disabled"
    this.timer.dispose()
  }

  /**
   * Ends the connection after what was written: half-close, then a short
   * linger for the peer to close first, so that a final response is not
   * lost to a reset caused by unread input.
   */
  private close(): void {
    if (this.read === "Closed") return
    this.flush()
    this.enterClosed()
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
  readonly forwarded: boolean
  readonly isTrustedDownstream: (ip: string) => boolean
  readonly decodedContentEncoding: ((coding: string) => boolean) | undefined
  readonly detach: RequestContext["detach"]

  constructor(socket: Net.Socket, options: ConnectionOptions, detach: RequestContext["detach"]) {
    this.socket = socket
    this.detach = detach
    this.protocol = options.protocol ?? ((socket as { encrypted?: boolean }).encrypted === true ? "https" : "http")
    this.xheaders = options.xheaders
    this.forwarded = options.forwarded
    this.isTrustedDownstream = options.isTrustedDownstream
    this.decodedContentEncoding = options.decodedContentEncoding
  }

  get remoteIp(): string {
    this.address ??= normalizeIp(this.socket.remoteAddress)
    return this.address
  }
}

/** A value a handler succeeded with, for the log: its kind, never its contents. */
const describeValue = (value: unknown): string => {
  if (value === null) return "null"
  if (typeof value !== "object") return typeof value === "undefined" ? "undefined" : `a ${typeof value}`
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name === "string" && name !== "Object" ? `an object (${name})` : "a plain object"
}

/** The peer's IP as Tornado reports it; IPv4-mapped IPv6 as plain IPv4. */
const normalizeIp = (address: string | undefined): string => {
  if (address === undefined || address === "") return "0.0.0.0"
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address
}
