/**
 * What a connection runs under and what it needs from its server: the
 * options, resolved once per server, and the server's side of each request
 * (running the handler, logging, observers).
 *
 * @since 0.1.0
 */
import type { Cause, Context, Effect, Exit, Fiber } from "effect"
import type { HTTPServerRequest } from "../Request/HTTPServerRequest.ts"
import type { Response } from "../Response/Response.ts"
import type { HttpError } from "../Wire/HttpErrors.ts"
import type { ProtocolOptions } from "./ProtocolModel.ts"

/**
 * The options a connection runs under, resolved once per server (durations
 * in milliseconds).
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionOptions extends ProtocolOptions {
  readonly maxBodySize: number
  readonly maxBufferSize: number
  readonly chunkSize: number
  readonly bodyTimeoutMillis: number | undefined
  readonly xheaders: boolean
  readonly forwarded: boolean
  readonly isTrustedDownstream: (ip: string) => boolean
  readonly protocol: "http" | "https" | undefined
  readonly decodedContentEncoding: ((coding: string) => boolean) | undefined
}

/**
 * What the server does with each of its connections, whatever protocol it
 * speaks (an `HttpConnection`, an HTTP/2 session).
 *
 * @since 0.1.0
 * @category models
 */
export interface ServedConnection {
  /** The server is shutting down: finish what is in flight, take nothing new, then close. */
  beginShutdown(): void
  /** The server drains: no more requests on this connection after the ones in flight. */
  disableKeepAlive(): void
  /** Closes the connection at once, interrupting what runs on it. */
  destroy(): void
}

/**
 * What a connection needs from its server (`Connection`: the connection it
 * hands back when it closes).
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionHost<Connection = unknown> {
  readonly options: ConnectionOptions
  /** Runs the handler for a request, in the server's context. */
  readonly runHandler: (request: HTTPServerRequest) => Effect.Effect<Response, unknown> | Exit.Exit<Response, unknown>
  /** Forks an effect in the server's context. */
  readonly fork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
  /** Forks a handler's effect in the server's context (see `ListenOptions.handlersStartUninterruptible`). */
  readonly forkHandler: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
  /** Logs a failure the client saw as a 5xx, or a response the handler got wrong. */
  readonly logFailure: (request: HTTPServerRequest | undefined, cause: Cause.Cause<unknown>) => void
  /**
   * Annotations of the interruption when the client goes away mid-request
   * (the `effect/http` adapter passes its `ClientAbort`, so that such a
   * request is reported as aborted by the client, 499, not as failed).
   */
  readonly clientAbortAnnotations: Context.Context<never> | undefined
  /** The connection is closed and its handler, if any, has ended. */
  readonly onClose: (connection: Connection) => void
  /**
   * Told once per request when it is over: its response is all written
   * (`response`, with the body bytes it put on the wire), or it ended
   * without one (`undefined`: the connection closed first, or a streamed body
   * failed). Absent when nothing observes requests, so that it costs nothing.
   */
  readonly onRequestEnd?:
    | ((request: HTTPServerRequest, response: Response | undefined, bodyBytes: number) => void)
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
