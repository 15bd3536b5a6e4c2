/**
 * The accept path: what happens to a socket between its accept and its
 * `HttpConnection`, in stages, each tracked so that it counts toward
 * `maxConnections` and is closed by shutdown:
 *
 * 1. the limit: past `maxConnections` (or once shutdown has begun), the
 *    socket is closed at once;
 * 2. with `proxyProtocol`, the PROXY header (`ProxyProtocolStage.ts`): the
 *    peer must be allowed and the header complete and valid, else the socket
 *    is closed without an answer;
 * 3. with `ssl`, the TLS handshake (`TlsHandshakes.ts`), over the bytes
 *    past the header;
 * 4. with `http2`, the protocol (`Http2/Http2Accept.ts`): ALPN's choice
 *    after the handshake, or in clear the first bytes (the HTTP/2 preface or
 *    not);
 * 5. the connection: a TLS socket as it is; a plain one moved to the shared
 *    read buffer (`SharedReadBuffer.ts`), the bytes read past the header as
 *    its first input (an HTTP/2 session, or with `http2` an HTTP/1.1 one
 *    reading the socket's `data` events, is made by stage 4).
 *
 * @since 0.1.0
 */
import type * as Net from "node:net"
import { Duration } from "effect"
import { makeIpMatcher } from "../Config/IpRange.ts"
import type { ServerConfig } from "../Config/ServerConfig.ts"
import type { ProxyHeader } from "../Wire/ProxyHeader.ts"
import type { ConnectionHost, ServedConnection } from "../Connection/ConnectionHost.ts"
import { HttpConnection } from "../Connection/HttpConnection.ts"
import { ALPN_WITH_HTTP2, Http2Accept } from "../Http2/Http2Accept.ts"
import { ProxyProtocolStage, type ProxyRejection } from "./ProxyProtocolStage.ts"
import { readIntoSharedBuffer } from "./SharedReadBuffer.ts"
import { TlsHandshakes } from "./TlsHandshakes.ts"

/**
 * What the accept path needs from the server.
 *
 * @since 0.1.0
 * @category models
 */
export interface AcceptOptions {
  readonly host: ConnectionHost<ServedConnection>
  /** Connections the server holds now (past these stages). */
  readonly openConnections: () => number
  readonly isShuttingDown: () => boolean
  /** A connection is made: the server's from now on. */
  readonly add: (connection: ServedConnection) => void
  /** A socket was closed at once, past `maxConnections`. */
  readonly onRefused: () => void
  /** A socket was closed in the PROXY protocol stage. */
  readonly onProxyRejected: (reason: ProxyRejection, remoteAddress: string | undefined) => void
  /** A TLS handshake failed or timed out. */
  readonly onTlsClientError: (error: Error, remoteAddress: string | undefined) => void
}

const EMPTY = Buffer.alloc(0)

/**
 * The accept path of one server.
 *
 * @since 0.1.0
 * @category models
 */
export class Acceptor {
  /** The TLS handshakes, when the server serves TLS. */
  readonly handshakes: TlsHandshakes | undefined
  private readonly proxy: ProxyProtocolStage | undefined
  private readonly http2: Http2Accept | undefined
  private readonly options: AcceptOptions
  private readonly maxConnections: number

  constructor(config: ServerConfig, options: AcceptOptions) {
    this.options = options
    this.maxConnections = config.maxConnections ?? Infinity
    const headerMillis = Duration.toMillis(config.headerTimeout)
    this.proxy = !config.proxyProtocol ? undefined : new ProxyProtocolStage({
      timeoutMillis: headerMillis,
      isAllowedPeer: config.proxyProtocolFrom.length === 0 ? undefined : makeIpMatcher(config.proxyProtocolFrom),
      onRejected: options.onProxyRejected
    })
    this.http2 = !config.http2 ? undefined : new Http2Accept({
      host: options.host,
      maxConcurrentStreams: config.maxConcurrentStreams,
      maxHeaderSize: config.maxHeaderSize,
      onConnection: options.add
    })
    this.handshakes = config.ssl === undefined ? undefined : new TlsHandshakes(config.ssl, {
      alpnProtocols: this.http2 === undefined ? undefined : ALPN_WITH_HTTP2,
      timeoutMillis: Math.min(
        Duration.toMillis(config.handshakeTimeout),
        headerMillis,
        Duration.toMillis(config.idleConnectionTimeout)
      ),
      onSecure: (socket, proxyHeader) => {
        if (options.isShuttingDown()) socket.destroy()
        else if (this.http2 !== undefined) this.http2.secure(socket, proxyHeader)
        else this.serve(socket, proxyHeader)
      },
      onClientError: options.onTlsClientError
    })
  }

  /** Sockets in the stages before their connection (header, handshake). */
  get pending(): number {
    return (this.proxy?.size ?? 0) + (this.handshakes?.size ?? 0) + (this.http2?.size ?? 0)
  }

  /** Closes every socket still in a stage (shutdown). */
  closePending(): void {
    this.proxy?.closeAll()
    this.handshakes?.closeAll()
    this.http2?.closeAll()
  }

  /** A socket just accepted (paused). */
  readonly accept = (socket: Net.Socket): void => {
    const { isShuttingDown, onRefused, openConnections } = this.options
    // Past the limit a new connection is closed at once; the open ones are not touched.
    if (isShuttingDown() || openConnections() + this.pending >= this.maxConnections) {
      if (!isShuttingDown()) onRefused()
      socket.on("error", () => {})
      socket.destroy()
      return
    }
    if (this.proxy === undefined) this.afterHeader(socket, undefined, EMPTY)
    else this.proxy.start(socket, this.afterHeader)
  }

  /** The socket's bytes from here on are TLS or HTTP; `rest` was read with the PROXY header. */
  private readonly afterHeader = (socket: Net.Socket, proxyHeader: ProxyHeader | undefined, rest: Buffer): void => {
    if (this.handshakes !== undefined) {
      // A TLSSocket takes what its socket has already read first.
      if (rest.length > 0) socket.unshift(rest)
      this.handshakes.start(socket, proxyHeader)
      return
    }
    if (this.http2 !== undefined) return this.http2.sniff(socket, proxyHeader, rest)
    // Plain sockets are moved to the shared read buffer.
    let connection: HttpConnection | undefined
    const reader = readIntoSharedBuffer(socket, true, (bytes) => connection?.receive(bytes, true))
    if (reader !== undefined) {
      connection = this.serve(reader, proxyHeader, true)
    } else {
      socket.resume()
      connection = this.serve(socket, proxyHeader)
    }
    if (rest.length > 0) connection.receive(rest, false)
  }

  private serve(socket: Net.Socket, proxyHeader: ProxyHeader | undefined, readsByCallback = false): HttpConnection {
    const connection = new HttpConnection(socket, this.options.host, readsByCallback, proxyHeader)
    this.options.add(connection)
    return connection
  }
}
