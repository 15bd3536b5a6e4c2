/**
 * One HTTP/2 session on one accepted socket (TLS after ALPN `h2`, or clear
 * after the preface): nghttp2 through `http2.performServerHandshake` does the
 * framing, HPACK, flow control and the flood limits ({@link sessionOptions});
 * each stream is an {@link Http2Exchange}. For the server it is one
 * connection like an HTTP/1.1 one: it counts toward `maxConnections`, it
 * closes when idle, and shutdown is `GOAWAY` with the last stream id (RFC
 * 9113 section 6.8), the streams in flight finishing, then the session
 * closing.
 *
 * @since 0.1.0
 */
import * as Http2 from "node:http2"
import { Effect } from "effect"
import type * as Net from "node:net"
import { ConnectionContext } from "../Connection/ConnectionContext.ts"
import type { ConnectionHost, ServedConnection } from "../Connection/ConnectionHost.ts"
import { DetachError } from "../Request/Detach.ts"
import type { ProxyHeader } from "../Wire/ProxyHeader.ts"
import { Http2Exchange, SentStreams, waitingForPeer } from "./Http2Exchange.ts"
import { type Http2Options, sessionOptions } from "./Http2Limits.ts"

/** An HTTP/2 stream cannot be handed over: WebSockets over HTTP/2 (RFC 8441) are not served. */
const noDetach = (): DetachError =>
  new DetachError({ reason: "Closed", description: "an HTTP/2 stream cannot be detached (WebSockets stay HTTP/1.1)" })

/**
 * @since 0.1.0
 * @category models
 */
export class Http2Connection implements ServedConnection {
  private readonly session: Http2.ServerHttp2Session
  private readonly socket: Net.Socket
  private readonly host: ConnectionHost<Http2Connection>
  private readonly context: ConnectionContext
  /** The streams open, each with its exchange (see `Http2Exchange.ts`). */
  private readonly streams = new Set<Http2.ServerHttp2Stream>()
  private lastStreamId = 0
  /** When its last stream ended (performance.now()). */
  private idleSince = performance.now()
  /** Looks at the session from its first stream on (see {@link look}). */
  private lookTimer: ReturnType<typeof setTimeout> | undefined = undefined
  /** A response waits for the client: the bytes the session had written when it began to wait, and when. */
  private stalled: { readonly written: number; readonly since: number } | undefined = undefined
  private closing = false
  private draining = false
  private closed = false

  /**
   * Takes over `socket` (any bytes already read pushed back onto it with
   * `unshift`), which came after `proxyHeader` if the server reads one.
   */
  constructor(
    socket: Net.Socket,
    host: ConnectionHost<Http2Connection>,
    options: Http2Options,
    proxyHeader: ProxyHeader | undefined
  ) {
    this.host = host
    this.socket = socket
    this.context = new ConnectionContext(socket, host.options, noDetach, proxyHeader)
    socket.on("error", ignore)
    // A server-side TLSSocket made outside `tls.Server` keeps `secureConnecting`
    // set once its handshake is done (only a client's `secureConnect` clears
    // it), and Node's http2 would wait for a `secureConnect` that never comes:
    // the handshake is done (TlsHandshakes saw `secure`), so say so.
    const tls = socket as { secureConnecting?: boolean }
    if (tls.secureConnecting === true) tls.secureConnecting = false
    this.session = Http2.performServerHandshake(socket, sessionOptions(options))
    // A protocol error, a flood cut off by nghttp2: "close" follows; the log says why (at debug level).
    this.session.on("error", (error: Error & { code?: string }) =>
      host.fork(Effect.annotateLogs(Effect.logDebug("HTTP/2 session closed on an error"), {
        remoteIp: this.context.remoteIp,
        reason: error.message
      })))
    this.session.on("stream", this.onStream)
    this.session.once("close", this.onSessionClose)
    // Until its first request a session has the header timeout (Node's timer,
    // pushed back by every frame); from its first stream on, see `look`.
    this.session.setTimeout(host.options.headerTimeoutMillis, this.onHeaderTimeout)
  }

  /** Shutdown: GOAWAY with the last stream id; the streams in flight finish, then the session closes. */
  beginShutdown(): void {
    if (this.closing || this.closed) return
    this.closing = true
    if (this.session.destroyed) return
    this.session.goaway(Http2.constants.NGHTTP2_NO_ERROR, this.lastStreamId)
    this.session.close()
  }

  /**
   * Draining: no new streams on this session (GOAWAY), the ones open go on;
   * the client reconnects. A session that has had no stream yet serves its
   * first one first (as a new HTTP/1.1 connection is answered, then closed).
   */
  disableKeepAlive(): void {
    this.draining = true
    if (this.lastStreamId > 0) this.beginShutdown()
  }

  /** Closes the session at once, resetting its streams (CANCEL) and interrupting their handlers. */
  destroy(): void {
    if (this.closed) return
    for (const stream of this.streams) if (!stream.destroyed) stream.close(Http2.constants.NGHTTP2_CANCEL)
    this.session.destroy()
  }

  private readonly onStream = (
    stream: Http2.ServerHttp2Stream,
    _headers: Http2.IncomingHttpHeaders,
    _flags: number,
    rawBlock: Array<string>
  ): void => {
    if (this.lastStreamId === 0) {
      // Node's timer is pushed back by every frame, a cost on every stream: from here on, `look`.
      this.session.setTimeout(0, this.onHeaderTimeout)
      this.lookIn(this.lookMillis())
    }
    this.lastStreamId = Math.max(this.lastStreamId, stream.id ?? 0)
    this.streams.add(stream)
    new Http2Exchange(stream, rawBlock, this.context, this.host, this.sentStreams).start()
    if (this.draining) this.beginShutdown()
  }

  private readonly onStreamEnd = (stream: Http2.ServerHttp2Stream): void => {
    this.streams.delete(stream)
    if (this.streams.size === 0) this.idleSince = performance.now()
    if (this.closed && this.streams.size === 0) this.host.onClose(this)
  }

  /** The end of every stream whose response went out whole (see `Http2Exchange`). */
  private readonly sentStreams = new SentStreams(this.onStreamEnd)

  /** Before its first request: the header timeout, close. */
  private readonly onHeaderTimeout = (): void => {
    if (this.lastStreamId === 0) this.beginShutdown()
  }

  /** How often {@link look} looks: half the shorter of the idle and the write timeouts. */
  private lookMillis(): number {
    return Math.max(1, Math.min(this.host.options.idleTimeoutMillis, this.host.options.writeTimeoutMillis) / 2)
  }

  private lookIn(millis: number): void {
    if (this.closed) return
    this.lookTimer = setTimeout(this.look, Math.max(1, millis))
    this.lookTimer.unref()
  }

  /**
   * With no stream: idle; closed once `idleTimeoutMillis` have passed since
   * its last stream ended. With a response waiting for a client that reads
   * nothing (its window or the socket full) and not a byte written to it
   * for `writeTimeoutMillis`: the write timeout, the session is cut off. A
   * client that reads, however slowly, lets the session write (its
   * WINDOW_UPDATEs open the window). Streams that only wait for their
   * handlers are theirs to end.
   */
  private readonly look = (): void => {
    this.lookTimer = undefined
    const now = performance.now()
    const options = this.host.options
    if (this.streams.size === 0) {
      this.stalled = undefined
      const left = options.idleTimeoutMillis - (now - this.idleSince)
      if (left <= 1) return this.beginShutdown()
      return this.lookIn(Math.min(left, this.lookMillis()))
    }
    let waiting = false
    for (const stream of this.streams) {
      if (waitingForPeer(stream)) {
        waiting = true
        break
      }
    }
    const written = this.socket.bytesWritten
    const before = this.stalled
    if (!waiting) this.stalled = undefined
    else if (before === undefined || before.written !== written) this.stalled = { written, since: now }
    else if (now - before.since >= options.writeTimeoutMillis - 1) return this.destroy()
    this.lookIn(this.lookMillis())
  }

  private readonly onSessionClose = (): void => {
    this.closed = true
    if (this.lookTimer !== undefined) clearTimeout(this.lookTimer)
    // The streams' "close" events end their exchanges (their handlers stopped first).
    if (this.streams.size === 0) this.host.onClose(this)
  }
}

const ignore = (): void => {}
