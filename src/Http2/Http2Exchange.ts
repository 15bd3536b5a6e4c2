/**
 * One request on one HTTP/2 stream: the request model over the stream (the
 * same {@link HTTPServerRequest} and {@link RequestBody} as HTTP/1.1), its
 * handler's fiber, and the response written with `stream.respond` and
 * `write`/`end`, under the stream's flow control.
 *
 * The body is read only when the handler asks for it: the stream stays
 * paused until then, so nghttp2's flow control holds the client back (RFC
 * 9113 section 5.2), and a reader that falls behind pauses it again. Every
 * failure stays on its stream: a limit or a handler's failure is answered
 * with its status from the one error table, then, when the client is still
 * sending, `RST_STREAM` with `NO_ERROR` (section 8.1: "a server MAY request
 * that the client abort transmission"); the session and its other streams
 * go on.
 *
 * @since 0.1.0
 */
import * as Http2 from "node:http2"
import { Cause, Effect, Exit, type Fiber, Stream } from "effect"
import type { ConnectionHost } from "../Connection/ConnectionHost.ts"
import { contentCodingOf } from "../Request/BodyDecompression.ts"
import { HTTPServerRequest, type RequestContext } from "../Request/HTTPServerRequest.ts"
import { type BodyHost, RequestBody } from "../Request/RequestBody.ts"
import { isResponse, type Response } from "../Response/Response.ts"
import { errorResponse } from "../Wire/ErrorResponse.ts"
import {
  answerOf,
  BodyTimeout,
  HeaderTooLarge,
  isHttpError,
  NotAResponse,
  ResponseLengthMismatch
} from "../Wire/HttpErrors.ts"
import { statusHasNoBody } from "../Wire/ResponseFraming.ts"
import { responseHeaderBlock } from "./Http2ResponseHead.ts"
import { headerListSize, requestHeadOf } from "./Http2RequestHead.ts"

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR } = Http2.constants

/** `stream.respond`'s options, read only by Node: one object each, not one per response. */
const HEADERS_ONLY: Http2.ServerStreamResponseOptions = { endStream: true }
const HEADERS_THEN_BODY: Http2.ServerStreamResponseOptions = { endStream: false }

/**
 * What a stream's end needs: its exchange, or, once a request without a
 * body has had its response handed to the stream whole and nothing observes
 * requests, its connection's {@link SentStreams}, one object for all such
 * streams. The request, its body and the response are then garbage at once
 * rather than when the client has read the response: under load, per-stream
 * objects held that long survive young-generation collections, which then
 * cost more (and V8 may start allocating such objects in the old
 * generation, where only the slower full collections free them).
 */
interface StreamEnd {
  /** Response bytes wait for the client to read (its flow-control window, or the socket, full). */
  waitingForPeer(stream: Http2.ServerHttp2Stream): boolean
  /** The stream closed. */
  streamClosed(stream: Http2.ServerHttp2Stream): void
}

/**
 * Where a stream keeps its {@link StreamEnd}, so that every stream's
 * listeners are the same three functions (none made per stream).
 */
const END: unique symbol = Symbol("Http2StreamEnd")
type TrackedStream = Http2.ServerHttp2Stream & { [END]: StreamEnd }
/** A stream whose input is still read: its end is its exchange's. */
type ExchangeStream = Http2.ServerHttp2Stream & { [END]: Http2Exchange }

/**
 * Whether the response on a stream given to an exchange waits for the client to read.
 *
 * @since 0.1.0
 * @category getters
 */
export const waitingForPeer = (stream: Http2.ServerHttp2Stream): boolean =>
  (stream as TrackedStream)[END].waitingForPeer(stream)

/**
 * A connection's streams whose responses were given to them whole: all that
 * is left is telling the connection when each closes. One per connection.
 *
 * @since 0.1.0
 * @category models
 */
export class SentStreams implements StreamEnd {
  private readonly onEnd: (stream: Http2.ServerHttp2Stream) => void

  constructor(onEnd: (stream: Http2.ServerHttp2Stream) => void) {
    this.onEnd = onEnd
  }

  waitingForPeer(stream: Http2.ServerHttp2Stream): boolean {
    return stream.writableLength > 0
  }

  streamClosed(stream: Http2.ServerHttp2Stream): void {
    this.onEnd(stream)
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export class Http2Exchange implements BodyHost, StreamEnd {
  readonly request: HTTPServerRequest
  private readonly stream: Http2.ServerHttp2Stream
  private readonly host: ConnectionHost<never>
  private readonly body: RequestBody
  private readonly sent: SentStreams
  /** The handler's fiber, then the response stream's. */
  private fiber: Fiber.Fiber<unknown, unknown> | undefined = undefined
  /** Body bytes the body did not take yet (it was not reading, or is behind). */
  private pending: Uint8Array | undefined = undefined
  private inputEnded = false
  /** The answer is out: what the client still sends is read and dropped. */
  private discarding = false
  private reading = false
  private bodyTimer: ReturnType<typeof setTimeout> | undefined = undefined
  /** The response given to the stream (headers sent), if any. */
  private response: Response | undefined = undefined
  private bodyBytes = 0
  /** The stream is closed (sent, reset or gone): nothing more is written. */
  private over = false
  /** A streamed piece waits for `drain`. */
  private waitingForDrain = false
  /** `Expect: 100-continue`, not answered yet: the 100 goes when the handler starts reading. */
  private expectContinue: boolean
  /** The header list passed `maxHeaderSize`: answered 431 without running the handler. */
  private readonly headerTooLarge: boolean

  constructor(
    stream: Http2.ServerHttp2Stream,
    rawBlock: ReadonlyArray<string>,
    context: RequestContext,
    host: ConnectionHost<never>,
    sent: SentStreams
  ) {
    this.stream = stream
    this.host = host
    this.sent = sent
    const head = requestHeadOf(rawBlock, stream.endAfterHeaders)
    // The options are the body's limits (shared until a handler changes its own).
    const options = host.options
    this.body = head.framing._tag === "NoBody"
      ? RequestBody.bodiless(options)
      : new RequestBody(head.framing, options, this, contentCodingOf(head, options.decodedContentEncoding))
    this.request = new HTTPServerRequest(head, this.body, context, performance.now())
    this.inputEnded = stream.endAfterHeaders
    this.expectContinue = head.expectContinue
    this.headerTooLarge = headerListSize(rawBlock) > host.options.maxHeaderSize
    ;(stream as TrackedStream)[END] = this
    stream.on("error", ignore) // a reset by the peer, a session torn down: "close" follows
    // A stream's END_STREAM came with its HEADERS (a GET, most often): no body, no "end" to wait for.
    if (!this.inputEnded) stream.on("end", Http2Exchange.onInputEnd)
    // "close" is emitted once: `on`, not `once` (which wraps the listener).
    stream.on("close", Http2Exchange.onStreamClose)
  }

  /** Response bytes wait for the client to read (its flow-control window, or the socket, full). */
  waitingForPeer(): boolean {
    return this.waitingForDrain || (!this.over && this.stream.writableLength > 0)
  }

  /** Runs the handler (at once when it is an `Exit`). */
  start(): void {
    // Node resets a stream past SETTINGS_MAX_HEADER_LIST_SIZE only once the
    // client has acknowledged the SETTINGS; before, it is answered here
    // (RFC 9113 section 10.5.1: 431).
    if (this.headerTooLarge) {
      const error = new HeaderTooLarge({ limit: this.host.options.maxHeaderSize })
      return this.respondWithFailure(error, Cause.fail(error))
    }
    let effect: Effect.Effect<Response, unknown> | Exit.Exit<Response, unknown>
    try {
      effect = this.host.runHandler(this.request)
    } catch (error) {
      effect = Exit.die(error)
    }
    if (Exit.isExit(effect)) return this.settle(effect)
    const fiber = this.host.forkHandler(effect)
    this.fiber = fiber
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) return this.settle(exit)
    fiber.addObserver((exit) => this.settle(exit))
  }

  // BodyHost: the handler reads the body

  onReadStart(): void {
    if (this.expectContinue) {
      this.expectContinue = false
      if (!this.stream.headersSent && !this.stream.destroyed) this.stream.additionalHeaders({ ":status": 100 })
    }
    const millis = this.body.limits.bodyTimeoutMillis
    if (millis !== undefined) {
      this.bodyTimer = setTimeout(() => {
        const error = new BodyTimeout({ timeoutMillis: millis })
        this.host.onEngineError?.(error)
        this.body.fail(error)
      }, millis)
      this.bodyTimer.unref()
    }
    this.pump()
  }

  onDemand(): void {
    this.pump()
  }

  onBodyComplete(): void {
    this.clearBodyTimer()
  }

  /** Feeds what is pending, then lets the stream flow while the body wants input. */
  private pump(): void {
    if (this.discarding) return
    const body = this.body
    const pending = this.pending
    if (pending !== undefined) {
      this.pending = undefined
      this.take(pending)
    }
    if (this.pending === undefined && this.inputEnded) return body.endOfStream()
    if (this.pending === undefined && body.wantsInput) {
      if (!this.reading) {
        this.reading = true
        this.stream.on("data", Http2Exchange.onData)
      }
      this.stream.resume()
    }
  }

  private static onData(this: ExchangeStream, chunk: Buffer): void {
    this[END].data(chunk)
  }

  private data(chunk: Buffer): void {
    this.take(chunk)
    // Taking may have ended the exchange (a limit answered): its input is discarded then.
    if (this.discarding) return
    if (this.pending !== undefined || !this.body.wantsInput) this.stream.pause()
  }

  /** Gives the body what it takes of `chunk`; the rest waits in `pending`. */
  private take(chunk: Uint8Array): void {
    const stop = this.body.feed(chunk, 0, chunk.byteLength)
    // A failed body takes nothing more: the rest is dropped (the stream is reset once answered).
    if (stop < chunk.byteLength && this.body.state._tag !== "Failed") {
      this.pending = chunk.subarray(stop)
    }
  }

  private static onInputEnd(this: ExchangeStream): void {
    this[END].inputEnd()
  }

  private inputEnd(): void {
    this.inputEnded = true
    if (this.pending === undefined) this.body.endOfStream()
  }

  private clearBodyTimer(): void {
    if (this.bodyTimer !== undefined) clearTimeout(this.bodyTimer)
    this.bodyTimer = undefined
  }

  // the answer

  /** The handler's exit: its response, or a failure answered from the error table. */
  private settle(exit: Exit.Exit<unknown, unknown>): void {
    if (this.over || this.response !== undefined) return
    this.request.markFinished()
    if (Exit.isFailure(exit)) {
      const error = Cause.findErrorOption(exit.cause)
      return this.respondWithFailure(error._tag === "Some" ? error.value : undefined, exit.cause)
    }
    if (isResponse(exit.value)) return this.respond(exit.value)
    const failure = new NotAResponse({ value: typeof exit.value })
    this.respondWithFailure(failure, Cause.fail(failure))
  }

  private respondWithFailure(failure: unknown, cause: Cause.Cause<unknown>): void {
    if (isHttpError(failure)) this.host.onEngineError?.(failure)
    const answer = answerOf(failure)
    if (answer.status === undefined) return this.reset(NGHTTP2_CANCEL)
    // A 5xx is the server's (or the handler's) fault: it goes to the log.
    if (answer.status >= 500) this.host.logFailure(this.request, cause)
    this.respond(errorResponse(answer.status))
  }

  /** Sends the response: headers, then the body whole, or streamed under flow control. */
  private respond(response: Response): void {
    const stream = this.stream
    if (this.over || stream.destroyed) return
    const body = response.body
    const noBody = statusHasNoBody(response.status)
    const sendsBody = !noBody && this.request.method !== "HEAD"
    // A text body goes to Node as it is (Node encodes it as it writes): no copy of it here.
    const whole: string | Uint8Array | undefined = body._tag === "Text"
      ? body.text
      : body._tag === "Bytes"
      ? body.bytes
      : undefined
    const wholeLength = whole === undefined
      ? 0
      : typeof whole === "string"
      ? Buffer.byteLength(whole, "utf8")
      : whole.byteLength
    const length = noBody
      ? undefined
      : body._tag === "Empty"
      ? 0
      : body._tag === "Stream"
      ? body.contentLength
      : wholeLength
    let block: Http2.OutgoingHttpHeaders
    try {
      block = responseHeaderBlock(response, length)
    } catch (error) {
      return this.respondWithFailure(error, Cause.fail(error))
    }
    this.response = response
    const endsNow = !sendsBody || body._tag === "Empty" || (whole !== undefined && wholeLength === 0)
    try {
      stream.respond(block, endsNow ? HEADERS_ONLY : HEADERS_THEN_BODY)
    } catch (error) {
      // Node refused a field nghttp2 cannot carry.
      this.response = undefined
      return this.respondWithFailure(error, Cause.die(error))
    }
    if (endsNow) return this.responseSent()
    if (whole !== undefined) {
      this.bodyBytes = wholeLength
      stream.end(whole)
      return this.responseSent()
    }
    if (body._tag === "Stream") this.runStream(body.stream, body.contentLength)
  }

  private runStream(source: Stream.Stream<Uint8Array, unknown>, declared: number | undefined): void {
    const stream = this.stream
    const write = (piece: Uint8Array): Effect.Effect<void> => {
      if (this.over || piece.byteLength === 0) return this.over ? Effect.interrupt : Effect.void
      this.bodyBytes += piece.byteLength
      if (declared !== undefined && this.bodyBytes > declared) return Effect.interrupt
      if (stream.write(piece)) return Effect.void
      // Backpressure: the peer's flow-control window, or the socket, is full.
      this.waitingForDrain = true
      return Effect.callback<void>((resume) => {
        const wake = () => {
          this.waitingForDrain = false
          resume(Effect.void)
        }
        stream.once("drain", wake)
        stream.once("close", wake)
        return Effect.sync(() => {
          this.waitingForDrain = false
          stream.off("drain", wake)
          stream.off("close", wake)
        })
      })
    }
    const fiber = this.host.fork(Stream.runForEach(source, write))
    this.fiber = fiber
    const done = (exit: Exit.Exit<void, unknown>) => {
      if (this.over) return
      const mismatch = declared !== undefined && this.bodyBytes !== declared
      if (Exit.isSuccess(exit) && !mismatch) {
        stream.end()
        return this.responseSent()
      }
      // Headers are out: only a reset tells the client the body is broken.
      const cause = mismatch || Exit.isSuccess(exit)
        ? Cause.fail(new ResponseLengthMismatch({ declared: declared as number, offered: this.bodyBytes }))
        : exit.cause
      this.host.logFailure(this.request, cause)
      this.response = undefined
      this.reset(NGHTTP2_INTERNAL_ERROR)
    }
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) done(exit)
    else fiber.addObserver(done)
  }

  /** The response is all given to the stream; a body the client is still sending is refused (RFC 9113 section 8.1). */
  private responseSent(): void {
    if (this.inputEnded) {
      // Nothing runs for the request and nothing will read it: its stream's end needs only the stream.
      const done = this.fiber === undefined && this.host.onRequestEnd === undefined && this.body.framing._tag === "NoBody"
      if (done) {
        this.request.markOver()
        ;(this.stream as TrackedStream)[END] = this.sent
      }
      return
    }
    if (this.stream.destroyed) return
    this.discardInput()
    this.stream.close(NGHTTP2_NO_ERROR)
  }

  /** What the client sent and nobody reads is dropped: Node closes a stream only once its input is consumed. */
  private discardInput(): void {
    this.discarding = true
    this.pending = undefined
    this.stream.off("data", Http2Exchange.onData)
    this.stream.on("data", ignore)
    this.stream.resume()
  }

  private reset(code: number): void {
    if (this.stream.destroyed) return
    this.stream.close(code)
    this.discardInput()
  }

  private static onStreamClose(this: TrackedStream): void {
    this[END].streamClosed(this)
  }

  /** The stream closed: whatever still runs for it stops, then the request is over. */
  streamClosed(): void {
    this.over = true
    this.clearBodyTimer()
    this.body.closed("the stream was closed")
    const fiber = this.fiber
    this.fiber = undefined
    if (fiber === undefined || fiber.pollUnsafe() !== undefined) return this.finish()
    fiber.addObserver(() => this.finish())
    fiber.interruptUnsafe(undefined, this.sentWhole() ? undefined : this.host.clientAbortAnnotations)
  }

  /**
   * Whether the stream may still read `lent` memory: Node hands DATA to the
   * socket without copying it, so a body given to the stream could be read
   * after the stream is done with. A streamed body may hold any memory.
   */
  private mayStillWrite(lent: ArrayBufferLike | undefined): boolean {
    if (lent === undefined) return false
    const body = this.response?.body
    return body !== undefined && (body._tag === "Stream" || (body._tag === "Bytes" && body.bytes.buffer === lent))
  }

  /** The response went out whole: given to the stream, which closed without a reset. */
  private sentWhole(): boolean {
    return this.response !== undefined && this.stream.rstCode === NGHTTP2_NO_ERROR
  }

  private finish(): void {
    this.request.markOver(this.mayStillWrite(this.body.lentMemory))
    this.host.onRequestEnd?.(this.request, this.sentWhole() ? this.response : undefined, this.bodyBytes)
    this.sent.streamClosed(this.stream)
  }
}

const ignore = (): void => {}
