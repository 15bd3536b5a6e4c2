/**
 * TLS on accepted sockets: each is wrapped in a server-side `TLSSocket` and
 * tracked until its handshake completes, then handed to the server as a
 * secure socket.
 *
 * A handshaking connection is a connection: it counts toward
 * `maxConnections` and `connectionCount()`, it has a deadline (a client
 * that never sends a ClientHello, or stalls in the middle, is cut off), and
 * the server's shutdown closes it. A handshake that fails (garbage bytes,
 * plain HTTP on the TLS port, no common protocol or cipher) concerns one
 * client: it is reported to `onClientError` and the socket is destroyed.
 *
 * The server wraps sockets itself, rather than using `tls.Server`, so that
 * it holds every socket from its accept, however it was bound.
 *
 * @since 0.1.0
 */
import type * as Net from "node:net"
import * as Tls from "node:tls"
import { ALPN_PROTOCOLS, contextFor, type TlsConfig } from "../Config/TlsConfig.ts"
import type { ProxyHeader } from "../Wire/ProxyHeader.ts"
import { PendingSockets } from "../Connection/PendingSockets.ts"

/**
 * What the handshakes need from the server.
 *
 * @since 0.1.0
 * @category models
 */
export interface TlsHandshakesOptions {
  /** ALPN's protocols, preferred first (default `ALPN_PROTOCOLS`: `http/1.1` only). */
  readonly alpnProtocols?: ReadonlyArray<string> | undefined
  /** The deadline of a handshake, from the accept. */
  readonly timeoutMillis: number
  /** A handshake completed: the socket is the server's now (with the PROXY header it came after, if any). */
  readonly onSecure: (socket: Tls.TLSSocket, proxyHeader: ProxyHeader | undefined) => void
  /** A handshake failed or timed out; the socket is already being destroyed. */
  readonly onClientError: (error: Error, remoteAddress: string | undefined) => void
}

/** Reported when a handshake outlives its deadline. */
class HandshakeTimeout extends Error {
  readonly code = "ERR_TLS_HANDSHAKE_TIMEOUT"
  constructor(millis: number) {
    super(`TLS handshake not done within ${millis} ms`)
  }
}

/**
 * The handshakes in progress on one server.
 *
 * @since 0.1.0
 * @category models
 */
export class TlsHandshakes {
  private readonly options: TlsHandshakesOptions
  private readonly pending = new PendingSockets()
  private config: TlsConfig

  constructor(config: TlsConfig, options: TlsHandshakesOptions) {
    this.config = config
    this.options = options
  }

  /** Handshakes in progress. */
  get size(): number {
    return this.pending.size
  }

  /** The contexts new connections get from now on; open ones keep their session. */
  setConfig(config: TlsConfig): void {
    this.config = config
  }

  /**
   * Starts the TLS handshake on a freshly accepted socket (or one past its
   * PROXY header, which `onSecure` is given back).
   */
  start(raw: Net.Socket, proxyHeader?: ProxyHeader): void {
    const config = this.config
    raw.on("error", ignore)
    let socket: Tls.TLSSocket
    try {
      socket = new Tls.TLSSocket(raw, {
        isServer: true,
        secureContext: config.secureContext,
        ALPNProtocols: (this.options.alpnProtocols ?? ALPN_PROTOCOLS).slice(),
        // Only with SNI entries: the callback makes OpenSSL stop for every ClientHello.
        SNICallback: config.sni.length === 0
          ? undefined
          : (serverName, callback) => callback(null, contextFor(config, serverName))
      })
    } catch (error) {
      // The peer is already gone (no handle to wrap).
      raw.destroy()
      this.options.onClientError(error as Error, raw.remoteAddress)
      return
    }
    let failed = false
    const fail = (error: Error) => {
      if (failed) return
      failed = true
      release()
      this.options.onClientError(error, raw.remoteAddress)
      socket.destroy()
    }
    // The client hung up before the handshake was done (the sockets are half-open).
    const onEnd = () => {
      release()
      socket.destroy()
    }
    const onClose = () => release()
    const timeoutMillis = this.options.timeoutMillis
    const release = this.pending.hold(
      raw,
      timeoutMillis,
      () => fail(new HandshakeTimeout(timeoutMillis)),
      [["error", fail], ["end", onEnd], ["close", onClose]],
      socket
    )
    socket.once("secure", () => {
      if (!this.pending.has(raw)) return
      release()
      // Errors from here on are the connection's (it listens for them).
      socket.on("error", ignore)
      this.options.onSecure(socket, proxyHeader)
    })
  }

  /** Destroys every handshake in progress (shutdown). */
  closeAll(): void {
    this.pending.closeAll()
  }
}

const ignore = (): void => {}
