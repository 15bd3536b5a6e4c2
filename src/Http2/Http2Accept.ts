/**
 * The accept stage that picks the protocol of each connection when HTTP/2 is
 * on, before any HTTP is read:
 *
 * - over TLS, ALPN has chosen (`h2` offered first, then `http/1.1`, RFC 7301):
 *   {@link Http2Accept.secure} takes an `h2` socket, any other is HTTP/1.1;
 * - in clear, the first bytes decide ({@link prefaceVerdict}): the HTTP/2
 *   preface is a session with prior knowledge (RFC 9113 section 3.3), any
 *   other byte is HTTP/1.1. The bytes read to decide are handed on: pushed
 *   back onto the socket for nghttp2, or given to the HTTP/1.1 connection as
 *   its first input (with the bytes an earlier stage, the PROXY header's,
 *   read past its own).
 *
 * A connection still being looked at counts toward `maxConnections`, has
 * the header timeout as its deadline, and the server's shutdown closes it.
 *
 * @since 0.1.0
 */
import type * as Net from "node:net"
import type * as Tls from "node:tls"
import type { ProxyHeader } from "../Wire/ProxyHeader.ts"
import type { ConnectionHost, ServedConnection } from "../Connection/ConnectionHost.ts"
import { HttpConnection } from "../Connection/HttpConnection.ts"
import { PendingSockets } from "../Connection/PendingSockets.ts"
import { Http2Connection } from "./Http2Connection.ts"
import type { Http2Options } from "./Http2Limits.ts"
import { prefaceVerdict } from "./Http2Preface.ts"

/**
 * ALPN's protocols with HTTP/2 on, preferred first.
 *
 * @since 0.1.0
 * @category constants
 */
export const ALPN_WITH_HTTP2: ReadonlyArray<string> = ["h2", "http/1.1"]

/**
 * What the stage needs from the server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Http2AcceptOptions extends Http2Options {
  /** The host the sessions run under (the same as HTTP/1.1 connections'). */
  readonly host: ConnectionHost<ServedConnection>
  /** A connection started (a session, or HTTP/1.1): the server counts and shuts it down with the others. */
  readonly onConnection: (connection: ServedConnection) => void
}

/**
 * @since 0.1.0
 * @category models
 */
export class Http2Accept {
  private readonly options: Http2AcceptOptions
  /** Clear sockets whose first bytes have not decided yet. */
  private readonly undecided = new PendingSockets()

  constructor(options: Http2AcceptOptions) {
    this.options = options
  }

  /** Connections whose protocol is not decided yet. */
  get size(): number {
    return this.undecided.size
  }

  /** A TLS socket whose handshake is done: `h2` by ALPN is a session; any other, HTTP/1.1. */
  secure(socket: Tls.TLSSocket, proxyHeader: ProxyHeader | undefined): void {
    if (socket.alpnProtocol === "h2") this.startSession(socket, proxyHeader)
    else this.startHttp1(socket, proxyHeader, undefined)
  }

  /**
   * A clear socket, paused, past the earlier stages (`rest`: bytes they read
   * past the PROXY header): its first bytes decide.
   */
  sniff(socket: Net.Socket, proxyHeader: ProxyHeader | undefined, rest: Buffer): void {
    if (rest.length > 0 && this.decide(socket, proxyHeader, rest)) return
    let received: Buffer = rest
    const done = () => {
      release()
      socket.pause()
    }
    // The client went away (or half-closed) before it could be told apart: no request can follow.
    const onGone = () => {
      done()
      socket.destroy()
    }
    const onData = (chunk: Buffer) => {
      received = received.byteLength === 0 ? chunk : Buffer.concat([received, chunk])
      if (prefaceVerdict(received) === "Undecided") return
      done()
      this.decide(socket, proxyHeader, received)
    }
    socket.on("error", ignore)
    // A client that sends too little to decide is cut off as a slow head would be.
    const release = this.undecided.hold(socket, this.options.host.options.headerTimeoutMillis, onGone, [
      ["data", onData],
      ["end", onGone],
      ["close", onGone]
    ])
    socket.resume()
  }

  /** Destroys the connections not decided yet (shutdown). */
  closeAll(): void {
    this.undecided.closeAll()
  }

  /**
   * Starts the connection the first bytes ask for, handing them on; `false`
   * while they are too few to tell.
   */
  private decide(socket: Net.Socket, proxyHeader: ProxyHeader | undefined, received: Buffer): boolean {
    const verdict = prefaceVerdict(received)
    if (verdict === "Undecided") return false
    if (verdict === "Http1") {
      this.startHttp1(socket, proxyHeader, received)
    } else {
      socket.unshift(received)
      this.startSession(socket, proxyHeader)
    }
    return true
  }

  private startSession(socket: Net.Socket, proxyHeader: ProxyHeader | undefined): void {
    this.options.onConnection(new Http2Connection(socket, this.options.host, this.options, proxyHeader))
  }

  /** Our HTTP/1.1 engine, the bytes read to decide as its first input. */
  private startHttp1(socket: Net.Socket, proxyHeader: ProxyHeader | undefined, firstBytes: Buffer | undefined): void {
    const connection = new HttpConnection(socket, this.options.host, false, proxyHeader)
    this.options.onConnection(connection)
    socket.resume()
    if (firstBytes !== undefined) connection.receive(firstBytes, false)
  }
}

const ignore = (): void => {}
