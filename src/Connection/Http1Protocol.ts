/**
 * One HTTP/1.x connection as a pure protocol machine, in the manner of h11's
 * `Connection` and hyper's `proto::h1::Conn`: synchronous, no socket, no
 * timer, no Effect run. Events come in as method calls (bytes received, end
 * of input, the handler's response and its body pieces, output blocked or
 * drained, a deadline reached, shutdown begun, detach); actions go out
 * through its `ProtocolIO` (write bytes, set a deadline, want input or
 * not, open a request and run its handler, run a response stream, close,
 * tell the observers). The socket driver (`HttpConnection`) only carries
 * them; the request corpus, the fuzzer and the socket-free tests drive this
 * same machine.
 *
 * Its state is a `Phase` (the request in flight an `Exchange`, its response
 * side a `Writing`: tagged unions in `ProtocolModel.ts`); every move is held
 * to the transition tables `PHASE_MOVES` and `WRITING_MOVES` by the compiler
 * (the diagram in `docs/ARCHITECTURE.md` is checked against them by a test).
 * Deadlines have a slot per kind ({@link Deadlines}): the first head's runs
 * from the accept; between requests the idle one runs, then a head's own
 * from its first byte; the body's from its first read; the write one while
 * output waits for the peer.
 *
 * @since 0.1.0
 */
import { Cause, type Stream } from "effect"
import { DetachError } from "../Request/Detach.ts"
import { canKeepAlive, inputWanted, switchHead } from "./ExchangeRules.ts"
import { FIRST_REQUEST_GRACE_MILLIS, ShutdownState } from "./ShutdownState.ts"
import type { Response } from "../Response/Response.ts"
import { errorResponse, writeErrorResponse } from "../Wire/ErrorResponse.ts"
import type { RequestHead } from "../Wire/HeadParser.ts"
import { answerOf, BodyTimeout, HeaderTimeout, type HttpError, isHttpError } from "../Wire/HttpErrors.ts"
import { framingAllowsReuse, framingOf, type ResponseFraming, StreamEncoder } from "../Wire/ResponseFraming.ts"
import { type ConnectionField, CONTINUE, serializeResponse, serializeStreamHead } from "../Wire/ResponseSerializer.ts"
import { ConnectionInput } from "./ConnectionInput.ts"
import { type DeadlineKind, Deadlines } from "./Deadlines.ts"
import {
  type Exchange,
  type ExchangeBody,
  type Phase,
  type PhaseMoves,
  type PhaseTag,
  type ProtocolIO,
  type ProtocolOptions,
  type Writing,
  moveWriting
} from "./ProtocolModel.ts"

const AWAITING_FIRST_HEAD = { _tag: "AwaitingHead", first: true } as const satisfies Phase
const AWAITING_HEAD = { _tag: "AwaitingHead", first: false } as const satisfies Phase

const CLOSED = { _tag: "Closed" } as const satisfies Phase
const AWAITING = { _tag: "Awaiting" } as const satisfies Writing
const CONTINUE_SENT = { _tag: "ContinueSent" } as const satisfies Writing
const WRITTEN = { _tag: "Written" } as const satisfies Writing
const EMPTY_BYTES = new Uint8Array(0)
/** The response sides an answer may start from. */
const ANSWERABLE = ["Awaiting", "ContinueSent"] as const


/**
 * @since 0.1.0
 * @category models
 */
export class Http1Protocol {
  private phase: Phase = AWAITING_FIRST_HEAD
  /** The client's FIN came: what the input holds is all there will be. */
  private peer: "Open" | "Ended" = "Open"
  /** Whether written output waits for the peer to read it. */
  private output: "Flowing" | "Blocked" = "Flowing"
  private readonly shutdown: ShutdownState
  /** Re-entry guards: a handler that answers at once, or a reader that asks again while being fed. */
  private advancing = false
  private feeding = false
  /** The earliest deadline the driver was asked to wake the machine by. */
  private wakeAt = Number.POSITIVE_INFINITY
  readonly input: ConnectionInput
  readonly deadlines = new Deadlines()
  private readonly options: ProtocolOptions
  private readonly io: ProtocolIO

  /** @param now the accept (after the TLS handshake): the first head's deadline runs from here */
  constructor(options: ProtocolOptions, io: ProtocolIO, now: number) {
    this.options = options
    this.io = io
    this.input = new ConnectionInput(options.maxHeaderSize, options.leniency, options.maxRequestLineSize)
    this.shutdown = new ShutdownState(this.input)
    // A client that connects and stays silent is a slow head (RFC 9112
    // section 9.5 leaves the timeout to us): it gets the header deadline.
    this.setDeadline("header", now + options.headerTimeoutMillis)
    this.setDeadline("idle", now + options.idleTimeoutMillis)
  }

  /** The phase, for drivers and tests. */
  get state(): Phase {
    return this.phase
  }

  /** Whether the client sent its FIN. */
  get peerEnded(): boolean {
    return this.peer === "Ended"
  }

  /** Whether the exchange in flight waits for its handler's answer. */
  get awaitsAnswer(): boolean {
    return this.answerable() !== undefined
  }

  /** The exchange in flight (also while detached). */
  get exchange(): Exchange | undefined {
    const phase = this.phase
    return phase._tag === "InFlight" ? phase : phase._tag === "Detached" ? phase.exchange : undefined
  }

  /** Bytes read; `transient` ones live in a read buffer the next read overwrites (see {@link ConnectionInput}). */
  receive(chunk: Buffer, transient: boolean, now: number): void {
    if (this.phase._tag === "Closed" || this.phase._tag === "Detached") return
    this.input.receive(chunk, transient)
    this.advance(now)
    // `advance` may have closed the connection (TypeScript cannot see it).
    if ((this.phase as Phase)._tag === "Closed") this.input.clear()
    else this.input.endTurn()
  }

  /**
   * The client's FIN. What the input holds is still served (handlers that
   * answer at once reply before the close); a request still in flight is
   * abandoned, as Tornado and nginx do: a FIN is all a client that went away
   * leaves behind.
   */
  inputEnded(now: number): void {
    if (this.phase._tag === "Closed" || this.phase._tag === "Detached") return
    this.peer = "Ended"
    this.advance(now)
    this.close()
  }

  /** The socket closed (`clientGone`: not by us). */
  socketClosed(clientGone: boolean): void {
    if (this.phase._tag === "Closed") return
    this.input.clear()
    this.enterClosed("client closed the connection", clientGone)
  }

  /** The handler started reading its body: `100 Continue`, and the body deadline. */
  bodyReadStarted(body: ExchangeBody, now: number): void {
    const exchange = this.exchangeOf(body)
    if (exchange === undefined) return
    // 100 Continue only while no response has begun (RFC 9110 section 10.1.1).
    if (exchange.head.expectContinue && exchange.writing._tag === "Awaiting") {
      moveWriting(exchange, "Awaiting", "continue", CONTINUE_SENT)
      this.io.write(CONTINUE)
    }
    const timeout = body.limits.bodyTimeoutMillis
    if (timeout !== undefined && exchange.writing._tag !== "Written" && !body.framingComplete) {
      this.setDeadline("body", now + timeout)
    }
  }

  /** The body's framing is complete: its deadline no longer applies. */
  bodyFramingComplete(body: ExchangeBody): void {
    if (this.exchangeOf(body) !== undefined) this.deadlines.clear("body")
  }

  /** The body's reader wants more input. */
  bodyDemand(body: ExchangeBody, now: number): void {
    // While a feed runs, the reader it woke may ask again: the feed in
    // progress hands over all there is.
    if (this.exchangeOf(body) === undefined || this.feeding) return
    if (!this.advancing) {
      this.advance(now)
      return
    }
    if (!body.wantsInput) return
    if (!this.input.isEmpty) this.feed(body)
    else if (this.peer === "Ended") body.closed("client ended the connection mid-body")
  }

  /** The handler answered. */
  respond(response: Response, now: number): void {
    const exchange = this.answerable()
    if (exchange !== undefined) this.send(exchange, response, false, now)
    this.advance(now)
  }

  /**
   * The handler failed (or succeeded with something that is not a
   * response): answered from the error table, 500 for anything unexpected
   * (logged with its cause).
   */
  respondWithFailure(failure: unknown, cause: Cause.Cause<unknown>, now: number): void {
    const exchange = this.answerable()
    if (exchange !== undefined) {
      if (isHttpError(failure)) this.io.engineError(failure)
      const answer = answerOf(failure)
      if (answer.status === undefined) {
        this.close()
        return
      }
      // A 5xx is the server's (or the handler's) fault: it goes to the log.
      if (answer.status >= 500) this.io.logFailure(cause)
      this.send(exchange, errorResponse(answer.status), !answer.keepsConnection, now)
    }
    this.advance(now)
  }

  /**
   * A piece of the streamed body. `false`: take no more (the stream is
   * over for the connection: it gave more than it declared, or the
   * connection is gone).
   */
  sendPiece(piece: Uint8Array, now: number): boolean {
    const writing = this.streaming()?.writing
    if (writing?._tag !== "Streaming") return false
    const bytes = writing.encoder.encode(piece)
    if (bytes.byteLength > 0) this.io.write(bytes)
    if (writing.encoder.overrun === 0) return true
    this.endStream(now)
    return false
  }

  /** The streamed body ended. */
  endStream(now: number): void {
    const exchange = this.streaming()
    const writing = exchange?.writing
    if (exchange === undefined || writing?._tag !== "Streaming") return
    const { last, mismatch } = writing.encoder.finish()
    if (last !== undefined) this.io.write(last)
    if (mismatch !== undefined) {
      // The head promised a length the body broke: only closing tells the client.
      this.io.logFailure(Cause.fail(mismatch))
      exchange.last = true
    }
    moveWriting(exchange, "Streaming", "streamEnd", WRITTEN)
    this.afterResponse(exchange, writing.response, writing.encoder.sent, now)
    this.advance(now)
  }

  /** The streamed body failed: its head is out, so the only way to tell the client is to cut it short. */
  abortStream(cause: Cause.Cause<unknown>): void {
    if (this.streaming() === undefined) return
    if (!Cause.hasInterruptsOnly(cause)) this.io.logFailure(cause)
    this.close("AtOnce")
  }

  /** Written output waits for the peer: no more requests are taken, and the peer has `writeTimeout` to read. */
  outputBlocked(now: number): void {
    if (this.output === "Blocked" || this.phase._tag === "Closed") return
    this.output = "Blocked"
    this.setDeadline("write", now + this.options.writeTimeoutMillis)
    this.updateInput()
  }

  /** The peer read some of what waits: its write deadline runs from now. */
  outputProgressed(now: number): void {
    if (this.output === "Blocked") this.setDeadline("write", now + this.options.writeTimeoutMillis)
  }

  /** The peer read what waited. */
  outputDrained(now: number): void {
    if (this.output === "Flowing") return
    this.output = "Flowing"
    this.deadlines.clear("write")
    this.advance(now)
  }

  /** A deadline may be due. */
  deadlineReached(now: number): void {
    for (let kind = this.deadlines.takeDue(now); kind !== undefined; kind = this.deadlines.takeDue(now)) {
      if (this.phase._tag === "Closed" || this.phase._tag === "Detached") return
      this.onDeadline(kind)
    }
    const next = this.deadlines.earliest
    this.wakeAt = next ?? Number.POSITIVE_INFINITY
    if (next !== undefined && this.phase._tag !== "Closed") this.io.wakeBy(next)
  }

  /**
   * The server is shutting down. Every request received whole before now
   * is still answered, in order, the last one with `Connection: close`;
   * then the connection closes. A connection with no such request (idle,
   * or holding only part of a head) closes at once. A detached connection
   * is its handler's.
   */
  beginShutdown(now: number): void {
    const phase = this.phase
    if (phase._tag === "Closed" || phase._tag === "Detached" || this.shutdown.shuttingDown) return
    const firstPending = phase._tag === "AwaitingHead" && phase.first && this.input.received === 0
    if (this.shutdown.begin(phase._tag === "AwaitingHead", firstPending)) return this.close()
    const grace = now + FIRST_REQUEST_GRACE_MILLIS
    if (firstPending && grace < (this.deadlines.get("header") ?? grace + 1)) this.setDeadline("header", grace)
  }

  /**
   * The server drains before it shuts down (`drainDelay`): every response
   * from now on says `Connection: close` and ends its connection; an idle
   * connection stays open for the request it may still bring.
   */
  disableKeepAlive(): void {
    this.shutdown.drain()
  }

  /**
   * Lets go of the connection for the exchange in flight (Tornado's
   * `HTTP1Connection.detach`): the switching response's head, if any, goes
   * out with what is buffered; the bytes read past the request are
   * returned, and from now on the socket is the driver's.
   */
  detach(response: Response | undefined): Uint8Array | DetachError {
    const phase = this.phase
    if (phase._tag !== "InFlight") {
      return new DetachError({ reason: "Closed", description: "the connection is closed or serves another request" })
    }
    const exchange = phase
    const head = switchHead(exchange, response)
    if (head instanceof DetachError) return head
    this.movePhase("InFlight", "detach", { _tag: "Detached", exchange })
    exchange.last = true
    exchange.reported = true
    this.deadlines.clearAll()
    if (head !== undefined) this.io.write(head)
    const input = this.input
    const early = input.isEmpty ? EMPTY_BYTES : Buffer.from(input.buffer.subarray(input.start))
    input.clear()
    this.io.detached()
    return early
  }

  /**
   * Takes whatever the input allows: feeds the body in flight, or reads and
   * starts the next request. Runs until it has to wait.
   */
  private advance(now: number): void {
    if (this.advancing) return
    this.advancing = true
    try {
      for (;;) {
        const phase = this.phase
        if (phase._tag === "InFlight") {
          if (!this.feedExchange(phase, now)) break
        } else if (phase._tag === "AwaitingHead") {
          // Responses waiting for the peer to read them: take no more
          // requests until it does (a pipelining client that never reads
          // must not make us hold every response it asked for).
          if (this.output === "Blocked" || !this.nextRequest(now)) break
        } else {
          break
        }
      }
    } finally {
      this.advancing = false
    }
    this.updateInput()
  }

  /** Feeds the exchange's body; `true` when the loop should go on. */
  private feedExchange(exchange: Exchange, now: number): boolean {
    const body = exchange.body
    if (!body.wantsInput) return false
    const draining = exchange.writing._tag === "Written"
    if (this.input.isEmpty) {
      if (this.peer === "Ended") {
        body.closed("client ended the connection mid-body")
        if (draining) this.close()
      }
      return false
    }
    this.feed(body)
    if (!draining) return false
    if (body.state._tag === "Failed") this.close()
    else if (body.framingComplete) this.finishExchange(exchange, now)
    else return false
    return true
  }

  private feed(body: ExchangeBody): void {
    this.feeding = true
    try {
      this.input.feedBody(body)
    } finally {
      this.feeding = false
    }
  }

  /** Reads the next head; `true` when a request was started. */
  private nextRequest(now: number): boolean {
    if (this.shutdown.shuttingDown && !this.shutdown.holdsRequestFromBefore()) {
      // Nothing left from before the shutdown: the connection is over (a
      // streamed response that began before it, and so could not say
      // `Connection: close`, ends here).
      this.close()
      return false
    }
    const input = this.input
    if (input.isEmpty) {
      if (this.peer === "Ended") this.close()
      return false
    }
    let head: RequestHead | undefined
    try {
      head = input.readHead()
    } catch (error) {
      if (!isHttpError(error)) throw error
      this.failConnection(error)
      return false
    }
    if (head === undefined) {
      if (input.headStarted) {
        // The idle wait is over: the head has its own deadline, from its first byte.
        this.deadlines.clear("idle")
        if (this.deadlines.get("header") === undefined) this.setDeadline("header", now + this.options.headerTimeoutMillis)
        if (this.peer === "Ended") this.close()
      }
      return false
    }
    this.startExchange(head, now)
    return true
  }

  private startExchange(head: RequestHead, now: number): void {
    this.deadlines.clear("header")
    this.deadlines.clear("idle")
    let body: ExchangeBody
    try {
      body = this.io.openExchange(head, now)
    } catch (error) {
      // Only a bug of ours gets here; the client still gets an answer.
      this.io.logFailure(Cause.die(error))
      writeErrorResponse(500, head.method === "HEAD", this.io.write)
      this.close()
      return
    }
    this.shutdown.headRead()
    this.movePhase("AwaitingHead", "headRead", { _tag: "InFlight", head, body, writing: AWAITING, last: false, reported: false })
    this.io.runHandler(now)
  }

  /** The exchange whose body streams now. */
  private streaming(): Exchange | undefined {
    const phase = this.phase
    return phase._tag === "InFlight" && phase.writing._tag === "Streaming" ? phase : undefined
  }

  /** The exchange a response may answer now: in flight, nothing written yet. */
  private answerable(): Exchange | undefined {
    const phase = this.phase
    if (phase._tag !== "InFlight") return undefined
    const writing = phase.writing._tag
    return writing === "Awaiting" || writing === "ContinueSent" ? phase : undefined
  }

  /**
   * Sends a response: its framing is decided here, once ({@link framingOf});
   * a whole body goes out in one piece, a streamed one through its encoder.
   */
  private send(exchange: Exchange, response: Response, forceClose: boolean, now: number): void {
    const head = exchange.head
    const body = response.body
    const streamed = body._tag === "Stream"
    const framing = framingOf(
      response.status,
      !streamed || body.contentLength !== undefined,
      head.method === "HEAD",
      head.version === "HTTP/1.1"
    )
    exchange.last = forceClose || !framingAllowsReuse(framing) || !canKeepAlive(exchange, this.shutdown.keepAliveFacts(this.options.noKeepAlive, this.peer === "Ended"))
    const connection: ConnectionField = exchange.last ? "close" : head.version === "HTTP/1.0" ? "keep-alive" : "none"
    if (streamed && framing.sendsBody) {
      this.startStream(exchange, response, body.stream, framing, body.contentLength ?? 0, connection, now)
      return
    }
    let sent = 0
    try {
      // A stream whose body is not sent (HEAD, 204, 304) is not run: only its head goes out.
      if (streamed) this.io.write(serializeStreamHead(response, framing, body.contentLength ?? 0, connection))
      else sent = serializeResponse(response, framing, connection, this.io.write)
    } catch (error) {
      response = this.answerDefect(exchange, error)
    }
    moveWriting(exchange, ANSWERABLE, "whole", WRITTEN)
    this.afterResponse(exchange, response, sent, now)
  }

  private startStream(
    exchange: Exchange,
    response: Response,
    stream: Stream.Stream<Uint8Array, unknown>,
    framing: ResponseFraming,
    declared: number,
    connection: ConnectionField,
    now: number
  ): void {
    let head: Buffer
    try {
      head = serializeStreamHead(response, framing, declared, connection)
    } catch (error) {
      const failed = this.answerDefect(exchange, error)
      moveWriting(exchange, ANSWERABLE, "whole", WRITTEN)
      this.afterResponse(exchange, failed, 0, now)
      return
    }
    moveWriting(exchange, ANSWERABLE, "streamHead", { _tag: "Streaming", response, encoder: new StreamEncoder(framing, declared) })
    this.io.write(head)
    this.io.runStream(stream)
  }

  /**
   * A response that cannot be sent (an invalid header or status, a bug of
   * ours): logged, answered with 500 from the error table, and the
   * connection closes after it. Nothing of the response was written: the
   * serializer throws before it writes.
   */
  private answerDefect(exchange: Exchange, defect: unknown): Response {
    this.io.logFailure(Cause.die(defect))
    exchange.last = true
    return writeErrorResponse(answerOf(defect).status ?? 500, exchange.head.method === "HEAD", this.io.write)
  }

  /** The response is all written: close, drain the unread body, or go on. */
  private afterResponse(exchange: Exchange, response: Response, bodyBytes: number, now: number): void {
    if (!exchange.reported) {
      exchange.reported = true
      this.io.requestEnded(response, bodyBytes)
    }
    const body = exchange.body
    // Draining or shutting down, an unread body is not worth reading past:
    // what follows it cannot be a request from before the shutdown we know of.
    if (exchange.last || body.state._tag === "Failed" || (!this.shutdown.serving && !body.framingComplete)) {
      this.close()
    } else if (body.framingComplete) {
      this.finishExchange(exchange, now)
    } else {
      // Drain what the handler left unread, under the body timeout (or the
      // header timeout, so that a drain never waits for ever).
      body.startDraining()
      this.setDeadline("body", now + (body.limits.bodyTimeoutMillis ?? this.options.headerTimeoutMillis))
    }
  }

  /** The exchange is over and the connection stays: wait for the next head. */
  private finishExchange(exchange: Exchange, now: number): void {
    if (this.phase !== exchange) return
    this.deadlines.clear("body")
    this.movePhase("InFlight", "exchangeDone", AWAITING_HEAD)
    this.setDeadline("idle", now + this.options.idleTimeoutMillis)
  }

  private setDeadline(kind: DeadlineKind, at: number): void {
    this.deadlines.set(kind, at)
    // The driver is woken by the earliest deadline asked for: a later one is asked for then.
    if (at < this.wakeAt) {
      this.wakeAt = at
      this.io.wakeBy(at)
    }
  }

  private onDeadline(kind: DeadlineKind): void {
    switch (kind) {
      case "idle":
        this.close()
        return
      case "header":
        // Nothing of a head arrived (a silent connection): there is nothing to answer.
        if (this.phase._tag === "AwaitingHead" && !this.input.headStarted) this.close()
        else this.failConnection(new HeaderTimeout({ timeoutMillis: this.options.headerTimeoutMillis }))
        return
      case "body": {
        const exchange = this.exchange
        if (exchange === undefined || exchange.writing._tag === "Written") {
          this.close()
          return
        }
        exchange.body.fail(new BodyTimeout({ timeoutMillis: exchange.body.limits.bodyTimeoutMillis ?? 0 }))
        return
      }
      case "write":
        this.close("AtOnce")
        return
    }
  }

  private updateInput(): void {
    const phase = this.phase
    if (phase._tag === "InFlight" || phase._tag === "AwaitingHead") {
      this.io.wantInput(inputWanted(phase, this.output === "Blocked", this.input.size))
    }
  }

  /** Answers a protocol error that ends the connection, then closes. */
  private failConnection(error: HttpError): void {
    this.io.engineError(error)
    const status = answerOf(error).status
    if (status !== undefined) writeErrorResponse(status, false, this.io.write)
    this.close()
  }

  /** Ends the connection: after what was written, or at once (a stream that failed, a peer that reads nothing). */
  private close(how: "AfterOutput" | "AtOnce" = "AfterOutput"): void {
    if (this.phase._tag === "Closed") return
    this.io.close(how)
    // After the client's FIN, the request is abandoned because the client left.
    this.enterClosed("connection closed", how === "AfterOutput" && this.peer === "Ended")
  }

  /**
   * Every side is over. An exchange in flight is abandoned: its body read
   * fails, observers hear it ended without a response, its handler is stopped.
   */
  private enterClosed(reason: string, clientGone: boolean): void {
    const exchange = this.exchange
    const from = this.phase._tag
    if (from === "Closed") throw new Error("no move Closed --close-->")
    this.movePhase(from, "close", CLOSED)
    this.deadlines.clearAll()
    if (exchange !== undefined) {
      exchange.body.closed(reason)
      if (!exchange.reported) {
        exchange.reported = true
        this.io.requestEnded(undefined, 0)
      }
    }
    this.io.ended(clientGone)
  }

  private exchangeOf(body: ExchangeBody): Exchange | undefined {
    const phase = this.phase
    return phase._tag === "InFlight" && phase.body === body ? phase : undefined
  }

  /** A move of the phase, held to `PHASE_MOVES` by the compiler (as `moveWriting` to `WRITING_MOVES`). */
  private movePhase<From extends PhaseTag, Event extends keyof PhaseMoves[From] & string>(
    from: From,
    event: Event,
    next: Extract<Phase, { readonly _tag: PhaseMoves[From][Event] }>
  ): void {
    if (this.phase._tag !== from) throw new Error(`no move ${this.phase._tag} --${event}-->`)
    this.phase = next
  }
}
