/**
 * What watches a server's requests: its spans (`RequestSpan.ts`), its
 * metrics (`ServerMetrics.ts`) and its access log (`AccessLog.ts`), joined
 * into the few calls the server and its connections make.
 *
 * Each is decided once, when the server starts, from its context and config.
 * With none of them on, {@link observeRequests} gives `undefined`: the
 * handler runs as it is and the connections have no hook to call, so that
 * nothing is spent per request on what nobody watches.
 *
 * @since 0.1.0
 */
import { Context, Effect, type Exit, type Fiber } from "effect"
import type { ServerConfig } from "../Config/ServerConfig.ts"
import type { HTTPServerRequest } from "../Request/HTTPServerRequest.ts"
import type { Response } from "../Response/Response.ts"
import type { HttpError } from "../Wire/HttpErrors.ts"
import { logRequest } from "./AccessLog.ts"
import { isTracing, RequestTracing } from "./RequestSpan.ts"
import { Enabled as MetricsEnabled, ServerMetricsRecorder } from "./ServerMetrics.ts"

type RunHandler = (request: HTTPServerRequest) => Effect.Effect<Response, unknown> | Exit.Exit<Response, unknown>

/**
 * The calls a server makes to what watches it.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestObservation {
  /** The handler as the connections run it (inside the request's span, counted as active). */
  readonly wrap: (handler: RunHandler) => RunHandler
  /** A request is over (see `ConnectionHost.onRequestEnd`). */
  readonly onRequestEnd: (request: HTTPServerRequest, response: Response | undefined, streamedBytes: number) => void
  /** The engine answered one of its errors. */
  readonly onEngineError: (error: HttpError) => void
  /** A handler took its connection away from HTTP (see `ConnectionHost.onDetach`). */
  readonly onDetach: (request: HTTPServerRequest, response: Response | undefined) => void
  readonly connectionOpened: () => void
  readonly connectionClosed: () => void
  /** A connection was closed at once, past `maxConnections`. */
  readonly connectionRefused: () => void
  /** A connection was closed for its PROXY protocol header (or its peer), without an answer. */
  readonly proxyHeaderRejected: (reason: string) => void
}

/**
 * What watches a server started in `context` with `config`, or `undefined`
 * when nothing does. `tracing: false` leaves the spans to someone else (the
 * `effect/http` adapter, whose `HttpEffect` makes them).
 *
 * @since 0.1.0
 * @category constructors
 */
export const observeRequests = (
  context: Context.Context<never>,
  config: ServerConfig,
  options: {
    readonly tracing: boolean
    readonly runFork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>
  }
): RequestObservation | undefined => {
  const tracing = options.tracing && isTracing(context) ? new RequestTracing(context) : undefined
  const metrics = Context.get(context, MetricsEnabled) ? new ServerMetricsRecorder(context) : undefined
  const accessLog = config.accessLog
  if (tracing === undefined && metrics === undefined && !accessLog) return undefined
  const runFork = options.runFork
  const onRequestEnd = (request: HTTPServerRequest, response: Response | undefined, bodyBytes: number) => {
    const bytesOut = response === undefined ? 0 : bodyBytes
    tracing?.end(request, response, bytesOut)
    metrics?.requestEnded(
      request.method,
      response?.status,
      request.requestTime(),
      request.bodyReader.received,
      bytesOut
    )
    if (accessLog && response !== undefined) runFork(logRequest(request, response.status))
  }
  return {
    wrap: (handler) => {
      if (tracing !== undefined) {
        return (request) => {
          metrics?.requestStarted()
          return tracing.run(request, () => handler(request))
        }
      }
      if (metrics !== undefined) {
        return (request) => {
          metrics.requestStarted()
          return handler(request)
        }
      }
      return handler
    },
    onRequestEnd,
    onDetach: (request, response) => {
      metrics?.connectionUpgraded()
      onRequestEnd(request, response, 0)
    },
    onEngineError: (error) => metrics?.engineError(error._tag),
    connectionOpened: () => metrics?.connectionOpened(),
    connectionClosed: () => metrics?.connectionClosed(),
    connectionRefused: () => metrics?.engineError("MaxConnections"),
    proxyHeaderRejected: (reason) => metrics?.proxyHeaderRejected(reason)
  }
}
