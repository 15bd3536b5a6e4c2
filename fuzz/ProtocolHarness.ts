/**
 * The protocol machine (`Http1Protocol`) with no socket: a scripted driver
 * that records every action the machine asks for (the bytes written, the
 * deadlines, input wanted or not, exchanges opened, closes, what observers
 * are told) on a clock the caller moves. The request corpus, the fuzzer and
 * the socket-free tests drive the machine through it: what they test is the
 * loop that runs.
 *
 * Bodies are the caller's choice: a `RequestBody` (the server's, with its
 * limits and Effects), or a {@link FramedBody}, a framer that takes every
 * byte as it comes (what the parser-level drivers read bodies with).
 */
import { Cause, type Stream } from "effect"
import { Http1Protocol } from "../src/Connection/Http1Protocol.ts"
import type { ExchangeBody, ProtocolIO, ProtocolOptions } from "../src/Connection/ProtocolModel.ts"
import type { Response } from "../src/Response/Response.ts"
import { BodyFramer } from "../src/Wire/BodyFramer.ts"
import { defaultLeniency, type RequestHead } from "../src/Wire/HeadParser.ts"
import { DEFAULT_MAX_REQUEST_LINE_SIZE } from "../src/Wire/HeadReader.ts"
import { type BodyError, type HttpError, isHttpError } from "../src/Wire/HttpErrors.ts"

export const defaultProtocolOptions: ProtocolOptions = {
  noKeepAlive: false,
  maxHeaderSize: 65536,
  maxRequestLineSize: DEFAULT_MAX_REQUEST_LINE_SIZE,
  headerTimeoutMillis: 60_000,
  idleTimeoutMillis: 3_600_000,
  writeTimeoutMillis: 60_000,
  leniency: defaultLeniency
}

/** One request the machine opened, and what became of it. */
export interface OpenedExchange {
  readonly head: RequestHead
  readonly body: ExchangeBody
  /** Observers were told it ended: with this response (`undefined`: none) and body byte count. */
  ended: { readonly response: Response | undefined; readonly bodyBytes: number } | undefined
}

export interface HarnessHooks {
  /** Makes an exchange's body (default: a {@link FramedBody}). */
  readonly makeBody?: (head: RequestHead, harness: ProtocolHarness) => ExchangeBody
  /** The handler was asked to run for the exchange just opened (default: nothing; the test answers). */
  readonly onHandler?: (harness: ProtocolHarness, exchange: OpenedExchange) => void
}

export class ProtocolHarness implements ProtocolIO {
  readonly core: Http1Protocol
  /** The clock the machine is told, in milliseconds; tests move it. */
  now = 0
  readonly written: Array<Buffer> = []
  readonly wakes: Array<number> = []
  inputWanted = true
  closed: "AfterOutput" | "AtOnce" | undefined = undefined
  /** The machine said the connection is over (with whether the client left). */
  endedBy: { readonly clientGone: boolean } | undefined = undefined
  detachedCount = 0
  /** The bytes received and not read when the machine closed (it drops them). */
  unread: Buffer | undefined = undefined
  readonly exchanges: Array<OpenedExchange> = []
  /** Streams the machine asked to run (the test feeds their pieces). */
  readonly streams: Array<Stream.Stream<Uint8Array, unknown>> = []
  readonly logged: Array<Cause.Cause<unknown>> = []
  readonly engineErrors: Array<HttpError> = []
  private readonly hooks: HarnessHooks

  constructor(options: Partial<ProtocolOptions> = {}, hooks: HarnessHooks = {}) {
    this.hooks = hooks
    this.core = new Http1Protocol({ ...defaultProtocolOptions, ...options }, this, this.now)
  }

  /** Everything written, as one latin1 string. */
  get output(): string {
    return Buffer.concat(this.written).toString("latin1")
  }

  /** The exchange opened last. */
  get last(): OpenedExchange | undefined {
    return this.exchanges[this.exchanges.length - 1]
  }

  /** Feeds bytes as one read (in a transient buffer that is overwritten afterwards, as the server's shared one). */
  receive(data: string | Buffer): void {
    const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data
    const transient = Buffer.from(bytes)
    this.core.receive(transient, true, this.now)
    transient.fill(0x7e) // "~": bytes that must never be read again
  }

  /** Moves the clock and tells the machine. */
  advanceTo(now: number): void {
    this.now = now
    this.core.deadlineReached(now)
  }

  readonly write = (data: Uint8Array): void => {
    this.written.push(Buffer.from(data))
  }
  readonly wakeBy = (at: number): void => {
    this.wakes.push(at)
  }
  readonly wantInput = (wanted: boolean): void => {
    this.inputWanted = wanted
  }
  readonly openExchange = (head: RequestHead): ExchangeBody => {
    const body = this.hooks.makeBody?.(head, this) ?? new FramedBody(head)
    this.exchanges.push({ head, body, ended: undefined })
    return body
  }
  readonly runHandler = (): void => {
    const exchange = this.last
    if (exchange !== undefined) this.hooks.onHandler?.(this, exchange)
  }
  readonly runStream = (stream: Stream.Stream<Uint8Array, unknown>): void => {
    this.streams.push(stream)
  }
  readonly close = (how: "AfterOutput" | "AtOnce"): void => {
    this.closed ??= how
    const input = this.core.input
    this.unread = Buffer.from(input.buffer.subarray(input.start))
  }
  readonly ended = (clientGone: boolean): void => {
    this.endedBy = { clientGone }
  }
  readonly detached = (): void => {
    this.detachedCount++
  }
  readonly requestEnded = (response: Response | undefined, bodyBytes: number): void => {
    const open = this.exchanges.find((e) => e.ended === undefined)
    if (open !== undefined) open.ended = { response, bodyBytes }
  }
  readonly engineError = (error: HttpError): void => {
    this.engineErrors.push(error)
  }
  readonly logFailure = (cause: Cause.Cause<unknown>): void => {
    this.logged.push(cause)
  }
}

/**
 * A body read as it comes, whole: a framer (Content-Length or chunked) that
 * takes every byte the machine feeds it and keeps copies of the pieces. Bad
 * chunked framing fails it with the framer's tagged error.
 */
export class FramedBody implements ExchangeBody {
  readonly head: RequestHead
  readonly framer: BodyFramer
  readonly parts: Array<Buffer> = []
  state: { readonly _tag: "Reading" } | { readonly _tag: "Complete" } | { readonly _tag: "Failed"; readonly error: BodyError }
  readonly limits = { maxBodySize: Number.MAX_SAFE_INTEGER, bodyTimeoutMillis: undefined as number | undefined }

  constructor(head: RequestHead) {
    this.head = head
    this.framer = new BodyFramer(head.framing)
    this.state = this.framer.done ? { _tag: "Complete" } : { _tag: "Reading" }
  }

  get wantsInput(): boolean {
    return this.state._tag === "Reading"
  }
  get framingComplete(): boolean {
    return this.framer.done
  }
  /** The body's bytes so far. */
  get bytes(): Buffer {
    return Buffer.concat(this.parts)
  }

  feed(input: Uint8Array, start: number, end: number): number {
    if (this.state._tag !== "Reading") return start
    try {
      const stop = this.framer.feed(input, start, end, (data) => this.parts.push(Buffer.from(data)))
      if (this.framer.done) this.state = { _tag: "Complete" }
      return stop
    } catch (error) {
      if (!isHttpError(error)) throw error
      this.fail(error as BodyError)
      return end
    }
  }
  startDraining(): void {}
  closed(): void {
    if (this.state._tag === "Reading") this.state = { _tag: "Failed", error: { _tag: "ConnectionClosed" } as BodyError }
  }
  fail(error: BodyError): void {
    if (this.state._tag === "Reading") this.state = { _tag: "Failed", error }
  }
}

/** What a connection made of its bytes: the requests read whole, the error that ended it, whether it waits for more. */
export interface ReadResult {
  readonly requests: Array<{ readonly head: RequestHead; readonly body: Buffer }>
  readonly error: HttpError | undefined
  /** Stopped in the middle of a head or a body, waiting for bytes. */
  readonly pending: boolean
  readonly harness: ProtocolHarness
}

const OK: Response = { status: 200, headers: {}, body: { _tag: "Text", text: "ok" } }

/**
 * Reads the requests out of `pieces` (the reads of one connection, in
 * order) through the machine, as a server whose handler reads every body
 * whole and answers each request once its body is in: pipelined requests
 * are read one after the other, a body's error is answered from the error
 * table as the server answers it, and the first engine error ends the
 * connection. Bytes after a request that ends its connection are read on a
 * fresh machine (the parser-level drivers compare every request the bytes
 * hold; the differential run cuts at such a request itself).
 */
export const readRequests = (
  pieces: ReadonlyArray<Uint8Array>,
  options: Partial<ProtocolOptions> = {},
  makeBody: (head: RequestHead, harness: ProtocolHarness) => FramedBody = (head) => new FramedBody(head)
): ReadResult => {
  const requests: Array<{ readonly head: RequestHead; readonly body: Buffer }> = []
  /** Answers the exchange in flight if its body is over; `true` when it did. */
  const answer = (harness: ProtocolHarness): boolean => {
    const exchange = harness.core.exchange
    if (exchange === undefined || !harness.core.awaitsAnswer) return false
    const body = exchange.body as FramedBody
    if (body.state._tag === "Complete") {
      requests.push({ head: exchange.head, body: body.bytes })
      harness.core.respond(OK, harness.now)
      return true
    }
    if (body.state._tag === "Failed") {
      const error = body.state.error
      harness.core.respondWithFailure(error, Cause.fail(error), harness.now)
      return true
    }
    return false
  }
  const open = () =>
    new ProtocolHarness(options, {
      makeBody,
      onHandler: (h) => {
        answer(h)
      }
    })
  let harness = open()
  const feed = (piece: Uint8Array) => {
    harness.receive(Buffer.from(piece.buffer, piece.byteOffset, piece.length))
    while (answer(harness)) {
      // an answer lets the next pipelined request in
    }
    // The machine closed after a response that ends the connection
    // (`Connection: close`, HTTP/1.0): the bytes it did not read are read
    // as a new connection's, so that every request the bytes hold is read.
    const unread = harness.unread
    if (harness.closed !== undefined && harness.engineErrors.length === 0 && unread !== undefined && unread.length > 0) {
      harness = open()
      feed(unread)
    }
  }
  for (const piece of pieces) {
    if (harness.closed !== undefined && harness.engineErrors.length > 0) break
    if (harness.closed !== undefined) harness = open()
    if (piece.length > 0) feed(piece)
  }
  const error = harness.engineErrors[0]
  const pending = error === undefined && (harness.core.exchange !== undefined || !harness.core.input.isEmpty)
  return { requests, error, pending, harness }
}
