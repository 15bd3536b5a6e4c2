/**
 * The socket driver of one HTTP/1.x connection: carries the socket's events
 * into the protocol machine ({@link Http1Protocol}) and its actions out, and
 * decides nothing about HTTP. What it owns is the I/O: the socket (or the
 * shared read buffer's callback), one Node timer for the machine's earliest
 * deadline, through its {@link SocketOutput} one write per event (the output
 * of a pipelined batch leaves together) and backpressure, and through its
 * {@link ExchangeRunner} the handler's and the response stream's fibers.
 *
 * @since 0.1.0
 */
import type * as Net from "node:net"
import type { Cause, Effect, Stream } from "effect"
import { contentCodingOf } from "../Request/BodyDecompression.ts"
import { DetachError, type DetachOptions } from "../Request/Detach.ts"
import { HTTPServerRequest } from "../Request/HTTPServerRequest.ts"
import { type BodyHost, RequestBody } from "../Request/RequestBody.ts"
import type { Response } from "../Response/Response.ts"
import type { RequestHead } from "../Wire/HeadParser.ts"
import type { HttpError } from "../Wire/HttpErrors.ts"
import type { ProxyHeader } from "../Wire/ProxyHeader.ts"
import { ConnectionContext } from "./ConnectionContext.ts"
import type { ConnectionHost } from "./ConnectionHost.ts"
import { DetachedSocketDuplex } from "./DetachedSocketDuplex.ts"
import { ExchangeRunner } from "./ExchangeRunner.ts"
import { Http1Protocol } from "./Http1Protocol.ts"
import type { ProtocolIO } from "./ProtocolModel.ts"
import { type OutputEvents, SocketOutput } from "./SocketOutput.ts"

export type { ConnectionHost, ConnectionOptions } from "./ConnectionHost.ts"

/** How long a closing connection may linger for its peer to close first. */
const LINGER_MILLIS = 2_000

/**
 * The connection a socket's events go to, kept on the socket: its listeners
 * are then shared by every connection, not closures made for each (an idle
 * connection's memory is mostly such small objects).
 */
const CONNECTION: unique symbol = Symbol("effect-httpserver/HttpConnection")

type ConnectionSocket = Net.Socket & { [CONNECTION]?: HttpConnection }

const connectionOf = (socket: Net.Socket): HttpConnection => (socket as ConnectionSocket)[CONNECTION] as HttpConnection

/** ECONNRESET, EPIPE and the like: "close" follows. */
const ignoreSocketError = (): void => {}

/**
 * @since 0.1.0
 * @category models
 */
export class HttpConnection implements ProtocolIO, BodyHost, OutputEvents {
  private readonly socket: Net.Socket
  private readonly host: ConnectionHost<HttpConnection>
  private readonly core: Http1Protocol
  private readonly context: ConnectionContext
  private readonly runner: ExchangeRunner
  private readonly output: SocketOutput
  private detachedSocket: DetachedSocketDuplex | undefined = undefined
  private reading = true
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  private timerAt = Number.POSITIVE_INFINITY
  private closedByServer = false

  /**
   * @param readsByCallback the server delivers the socket's bytes through
   *   {@link receive} (from a shared read buffer: see `HTTPServer`), rather
   *   than the socket's `data` events
   * @param proxyHeader the PROXY protocol header the connection began with (`proxyProtocol`)
   */
  constructor(
    socket: Net.Socket,
    host: ConnectionHost<HttpConnection>,
    readsByCallback = false,
    proxyHeader?: ProxyHeader
  ) {
    this.socket = socket
    this.host = host
    this.context = new ConnectionContext(socket, host.options, this.detach, proxyHeader)
    this.output = new SocketOutput(socket, this)
    this.write = this.output.write
    ;(socket as ConnectionSocket)[CONNECTION] = this
    if (!readsByCallback) socket.on("data", HttpConnection.onData)
    socket.on("end", HttpConnection.onEnd)
    socket.on("close", HttpConnection.onClose)
    socket.on("error", ignoreSocketError)
    this.core = new Http1Protocol(host.options, this, performance.now())
    this.runner = new ExchangeRunner(host, this.core, this)
  }

  /** Bytes read; `transient` ones live in a read buffer the next read overwrites. */
  receive(chunk: Buffer, transient: boolean): void {
    if (this.detachedSocket !== undefined) return this.detachedSocket.deliver(chunk, transient)
    this.output.enter()
    this.core.receive(chunk, transient, performance.now())
    this.output.leave()
  }

  /** The server is shutting down (see `Http1Protocol.beginShutdown`). */
  beginShutdown(): void {
    this.event(() => this.core.beginShutdown(performance.now()))
  }

  /** The server drains: every response from now on ends its connection (see `Http1Protocol.disableKeepAlive`). */
  disableKeepAlive(): void {
    this.core.disableKeepAlive()
  }

  /** Closes the connection at once, interrupting a handler still running. */
  destroy(): void {
    if (this.core.state._tag === "Closed") return
    this.closedByServer = true
    this.socket.destroy()
    this.socketClosed()
  }

  private static onData(this: Net.Socket, chunk: Buffer): void {
    connectionOf(this).receive(chunk, false)
  }

  private static onEnd(this: Net.Socket): void {
    connectionOf(this).inputEnded()
  }

  private static onClose(this: Net.Socket): void {
    connectionOf(this).socketClosed()
  }

  private inputEnded(): void {
    if (this.detachedSocket !== undefined) return this.detachedSocket.deliverEnd()
    this.event(() => this.core.inputEnded(performance.now()))
  }

  private socketClosed(): void {
    this.detachedSocket?.socketClosed()
    this.core.socketClosed(!this.closedByServer)
  }
  // BodyHost: the body's reader, into the machine

  onReadStart(body: RequestBody): void {
    this.event(() => this.core.bodyReadStarted(body, performance.now()))
  }

  onDemand(body: RequestBody): void {
    this.event(() => this.core.bodyDemand(body, performance.now()))
  }

  onBodyComplete(body: RequestBody): void {
    this.core.bodyFramingComplete(body)
  }

  // ProtocolIO: the machine's actions, out

  readonly write: (data: Uint8Array) => void

  wakeBy(at: number): void {
    if (this.timer !== undefined && at >= this.timerAt - 1) return
    if (this.timer !== undefined) clearTimeout(this.timer)
    // setTimeout takes at most 2^31-1 ms; a later deadline wakes early and is asked again.
    const delay = Math.min(Math.max(at - performance.now(), 0), 2 ** 31 - 1)
    this.timerAt = at
    this.timer = setTimeout(this.onTimer, delay)
    this.timer.unref()
  }

  wantInput(wanted: boolean): void {
    if (wanted === this.reading) return
    this.reading = wanted
    if (wanted) this.socket.resume()
    else this.socket.pause()
  }

  openExchange(head: RequestHead, now: number): RequestBody {
    // The options are the body's limits (shared until a handler changes its own).
    const options = this.host.options
    const body = head.framing._tag === "NoBody"
      ? RequestBody.bodiless(options)
      : new RequestBody(head.framing, options, this, contentCodingOf(head, options.decodedContentEncoding))
    this.runner.open(new HTTPServerRequest(head, body, this.context, now))
    return body
  }

  runHandler(now: number): void {
    this.runner.runHandler(now)
  }

  runStream(stream: Stream.Stream<Uint8Array, unknown>): void {
    this.runner.runStream(stream)
  }

  close(how: "AfterOutput" | "AtOnce"): void {
    this.output.flush(false)
    const socket = this.socket
    socket.off("data", HttpConnection.onData)
    if (how === "AtOnce") {
      this.closedByServer = true
      socket.destroy()
      return
    }
    socket.resume() // discard whatever else arrives
    socket.end()
    // Half-close, then a short linger for the peer to close first, so that
    // a final response is not lost to a reset caused by unread input.
    const linger = setTimeout(() => socket.destroy(), LINGER_MILLIS)
    linger.unref()
    socket.once("close", () => clearTimeout(linger))
  }

  ended(clientGone: boolean): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.output.release()
    // The server hears of the close once the handler's finalizers have run
    // (so a server scope closing waits for them).
    this.runner.stop(clientGone, () => this.host.onClose(this))
  }

  detached(): void {
    // What was gathered (and the switching head) leaves before the new protocol's bytes.
    this.output.flush(true)
    this.output.release()
    this.wantInput(true)
  }

  requestEnded(response: Response | undefined, bodyBytes: number): void {
    const request = this.runner.request
    if (request === undefined) return
    const lent = request.bodyReader.lentMemory
    request.markOver(lent !== undefined && this.output.holds(lent))
    this.host.onRequestEnd?.(request, response, bodyBytes)
    // An idle connection holds no request (its head, body, arguments).
    this.runner.request = undefined
  }

  engineError(error: HttpError): void {
    return this.host.onEngineError?.(error)
  }

  logFailure(cause: Cause.Cause<unknown>): void {
    return this.host.logFailure(this.runner.request, cause)
  }

  // the driver's own mechanics

  /** SocketOutput: written output waits for the peer. */
  blocked(): void {
    this.core.outputBlocked(performance.now())
  }

  /** SocketOutput: the peer read all that waited. */
  drained(): void {
    this.event(() => this.core.outputDrained(performance.now()))
  }

  /** Runs one event into the machine: its output leaves in one write. */
  event<A>(f: () => A): A {
    this.output.enter()
    try {
      return f()
    } finally {
      this.output.leave()
    }
  }

  /** Resolves once written output no longer waits for the peer; `undefined` when none waits. */
  outputDrained(): Effect.Effect<void> | undefined {
    return this.output.drained()
  }

  private readonly onTimer = (): void => {
    this.timer = undefined
    this.timerAt = Number.POSITIVE_INFINITY
    const now = performance.now()
    this.event(() => {
      // A peer that reads slowly but steadily keeps its write deadline moving.
      if (this.output.waiting && this.output.progressed()) this.core.outputProgressed(now)
      this.core.deadlineReached(now)
    })
  }

  // The request context's detach (Tornado's HTTP1Connection.detach; see `Request/Detach.ts`).
  private readonly detach = (
    request: HTTPServerRequest,
    options: DetachOptions | undefined
  ): DetachedSocketDuplex | DetachError => {
    if (request !== this.runner.request) {
      return new DetachError({ reason: "Closed", description: "the connection is closed or serves another request" })
    }
    const early = this.event(() => this.core.detach(options?.response))
    if (early instanceof DetachError) return early
    request.markFinished()
    const duplex = new DetachedSocketDuplex(this.socket, early)
    this.detachedSocket = duplex
    if (this.core.peerEnded) duplex.deliverEnd()
    this.host.onDetach?.(request, options?.response)
    return duplex
  }
}
