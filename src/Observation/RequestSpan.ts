/**
 * A span per request, through Effect's `Tracer`, named and attributed as the
 * OpenTelemetry HTTP server semantic conventions say.
 *
 * - Name: the method (`GET`), as `effect/http` names its server spans; kind
 *   `server`.
 * - A W3C `traceparent` header continues the caller's trace (the span is
 *   its child; its sampled flag is kept).
 * - The handler runs inside it: `Effect.currentSpan` in a handler is the
 *   request's span, and spans the handler makes are its children.
 * - At the start: `http.request.method`, `url.path`, `url.query` (when
 *   there is one), `url.scheme`, `network.protocol.version`,
 *   `client.address`, `user_agent.original` (when sent).
 * - At the end, once the response is all written (streamed bodies
 *   included): `http.response.status_code`, `http.request.body.size` (bytes
 *   read, after decoding), `http.response.body.size`. A 5xx ends the span
 *   with a failure (OpenTelemetry's error status for server spans); a request
 *   that ends without a response (the client went away) ends it
 *   interrupted.
 *
 * Tracing is decided once per server: when the server starts with Effect's
 * native tracer (no tracing backend installed) or with `TracerEnabled` off,
 * there is no span and no work per request.
 *
 * @since 0.1.0
 */
import { Clock, Context, Data, Effect, Exit, Option, References, Tracer } from "effect"
import * as Headers from "effect/http/Headers"
import * as HttpTraceContext from "effect/http/HttpTraceContext"
import type { HTTPServerRequest } from "../Request/HTTPServerRequest.ts"
import type { Response } from "../Response/Response.ts"

/**
 * How a span ends for a response with a 5xx status: OpenTelemetry's error
 * status for a server span.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerErrorResponse extends Data.TaggedError("ServerErrorResponse")<{
  readonly status: number
}> {
  override get message() {
    return `the response status is ${this.status}`
  }
}

/**
 * Whether servers started in `context` trace their requests: a tracing
 * backend is installed (the tracer is not Effect's native one) and tracing
 * is enabled.
 *
 * @since 0.1.0
 * @category tracing
 */
export const isTracing = (context: Context.Context<never>): boolean =>
  Context.get(context, References.TracerEnabled) && Context.get(context, Tracer.Tracer) !== Tracer.nativeTracer

/** The caller's span, from a W3C `traceparent` header. */
const parentOf = (request: HTTPServerRequest): Tracer.AnySpan | undefined => {
  const traceparent = request.headers.get("traceparent")
  if (traceparent === undefined) return undefined
  return Option.getOrUndefined(HttpTraceContext.w3c(Headers.fromRecordUnsafe({ traceparent })))
}

const startAttributes = (request: HTTPServerRequest): Record<string, unknown> => {
  const attributes: Record<string, unknown> = {
    "http.request.method": request.method,
    "url.path": request.path,
    "url.scheme": request.protocol,
    "network.protocol.name": "http",
    "network.protocol.version": request.version === "HTTP/1.0" ? "1.0" : request.version === "HTTP/2.0" ? "2" : "1.1",
    "client.address": request.remoteIp
  }
  if (request.query !== "") attributes["url.query"] = request.query
  const userAgent = request.headers.get("user-agent")
  if (userAgent !== undefined) attributes["user_agent.original"] = userAgent
  return attributes
}

/**
 * The spans of one server's requests.
 *
 * @since 0.1.0
 * @category tracing
 */
export class RequestTracing {
  private readonly clock: Clock.Clock
  private readonly spans = new WeakMap<HTTPServerRequest, Tracer.Span>()

  constructor(context: Context.Context<never>) {
    this.clock = Context.get(context, Clock.Clock)
  }

  /** Runs `effect` (the handler's, for `request`) inside a new span for the request. */
  run<A, E, R>(request: HTTPServerRequest, effect: () => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    const parent = parentOf(request)
    return Effect.flatMap(
      Effect.makeSpan(request.method, {
        kind: "server",
        attributes: startAttributes(request),
        ...(parent === undefined ? {} : { parent })
      }),
      (span) => {
        this.spans.set(request, span)
        return Effect.withParentSpan(Effect.suspend(effect), span)
      }
    )
  }

  /**
   * Ends the span of `request`: answered with `response` (`bodyBytesOut`
   * bytes of body), or without a response (`undefined`).
   */
  end(request: HTTPServerRequest, response: Response | undefined, bodyBytesOut: number): void {
    const span = this.spans.get(request)
    if (span === undefined) return
    this.spans.delete(request)
    span.attribute("http.request.body.size", request.bodyReader.received)
    const now = this.clock.currentTimeNanosUnsafe()
    if (response === undefined) {
      span.end(now, Exit.interrupt())
      return
    }
    const status = response.status
    span.attribute("http.response.status_code", status)
    span.attribute("http.response.body.size", bodyBytesOut)
    span.end(now, status >= 500 ? Exit.fail(new ServerErrorResponse({ status })) : Exit.void)
  }
}
