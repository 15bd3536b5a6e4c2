/**
 * Taking a connection away from HTTP: Tornado's `HTTP1Connection.detach()`.
 *
 * A handler answering an `Upgrade` request with `101 Switching Protocols`
 * (a WebSocket, say), or a `CONNECT` with a 2xx (a tunnel), speaks another
 * protocol on the connection from then on. `request.detach` hands it the raw
 * connection as a {@link DetachedSocket}, a scoped resource: the HTTP engine
 * lets go of the socket (no more parsing, timeouts or responses), the bytes
 * the client already sent past the request come first on the socket's
 * readable side, and closing the Scope closes the connection. The connection
 * still counts toward `maxConnections` and the server's `connectionCount`,
 * and a server shutting down closes it after `shutdownTimeout`.
 *
 * @since 0.1.0
 */
import type { Duplex } from "node:stream"
import { Data } from "effect"
import type { Response } from "../Response/Response.ts"

/**
 * The raw connection after {@link DetachOptions | detaching}: a `Duplex`
 * over the socket (plain TCP or TLS), with what `ws` and other protocol
 * libraries look for on a `net.Socket`.
 *
 * It never emits `error`: a connection that fails (a reset by the peer, say)
 * simply closes.
 *
 * @since 0.1.0
 * @category models
 */
export interface DetachedSocket extends Duplex {
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
  /** Whether the connection is TLS. */
  readonly encrypted: boolean
  setNoDelay(noDelay?: boolean): this
  setKeepAlive(enable?: boolean, initialDelay?: number): this
  setTimeout(timeout: number, callback?: () => void): this
  /**
   * Ends the connection: half-close, then destroyed after a short linger
   * unless the peer closes first (what releasing the resource does).
   */
  closeGracefully(): void
}

/**
 * @since 0.1.0
 * @category models
 */
export interface DetachOptions {
  /**
   * A response whose head the server writes before letting go:
   * `101 Switching Protocols` for a request that asked to upgrade (its header
   * fields go out as given, `Connection: Upgrade` is added), or a 2xx for a
   * `CONNECT` (RFC 9110 section 9.3.6). Without it nothing is written: the
   * protocol library answers the handshake itself (`ws` does).
   */
  readonly response?: Response | undefined
}

/**
 * Why a connection could not be detached.
 *
 * - `ResponseStarted`: a response (other than `100 Continue`) is already
 *   being written, or the connection was detached already;
 * - `BodyUnread`: the request body has not been read to its end (read or
 *   discard it first: the bytes after it belong to the new protocol);
 * - `InvalidResponse`: the response given is not a `101` to an upgrade
 *   request nor a 2xx to a `CONNECT`, or its head cannot be sent;
 * - `Closed`: the connection is gone, or the request is no longer the one
 *   in flight.
 *
 * @since 0.1.0
 * @category errors
 */
export class DetachError extends Data.TaggedError("DetachError")<{
  readonly reason: "ResponseStarted" | "BodyUnread" | "InvalidResponse" | "Closed"
  readonly description: string
  readonly cause?: unknown
}> {
  override get message() {
    return `cannot detach the connection (${this.reason}): ${this.description}`
  }
}
