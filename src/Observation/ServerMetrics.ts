/**
 * The server's metrics, through Effect's `Metric` (so any exporter of Effect
 * metrics, e.g. `@effect/opentelemetry`'s, sees them).
 *
 * Recording is off unless {@link layer} (or `Enabled` set to `true`) is in
 * the server's context when it starts: like `Metric.enableRuntimeMetrics`,
 * metrics are opted into, and a server without them does no work per request
 * for them. Names and attributes follow the OpenTelemetry HTTP server
 * semantic conventions where they have one:
 *
 * | metric | type | attributes |
 * | --- | --- | --- |
 * | `http.server.open_connections` | gauge | |
 * | `http.server.active_requests` | gauge | |
 * | `http.server.requests` | counter | `http.request.method`, `http.response.status_class` (`2xx`, ...) |
 * | `http.server.request.duration` | histogram, seconds | the same |
 * | `http.server.request.body.bytes` | counter (body bytes received) | |
 * | `http.server.response.body.bytes` | counter (body bytes sent) | |
 * | `http.server.limit_violations` | counter | `error.type` (`BodyTooLarge`, `HeaderTimeout`, ..., `MaxConnections`) |
 * | `http.server.upgraded_connections` | counter (connections handed over by an upgrade) | |
 * | `http.server.proxy_protocol.rejected_connections` | counter (closed for their PROXY header, `proxyProtocol`) | `error.type` (`NotProxyProtocol`, `Malformed`, `TooLong`, `Truncated`, `HeaderTimeout`, `PeerRefused`) |
 *
 * ```ts
 * HTTPServer.layer(app).pipe(Layer.provide(ServerMetrics.layer), Layer.provide(NodeSdk.layer(...)))
 * ```
 *
 * @since 0.1.0
 */
import { Context, Layer, Metric } from "effect"

/**
 * Whether a server records its metrics; read once, when it starts.
 * Default `false`.
 *
 * @since 0.1.0
 * @category references
 */
export const Enabled: Context.Reference<boolean> = Context.Reference<boolean>(
  "effect-httpserver/ServerMetrics/Enabled",
  { defaultValue: () => false }
)

/**
 * Turns the servers' metrics on, for the servers built with it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<never> = Layer.succeed(Enabled, true)

/**
 * Connections open now.
 *
 * @since 0.1.0
 * @category metrics
 */
export const openConnections: Metric.Gauge<number> = Metric.gauge("http.server.open_connections", {
  description: "Connections open now"
})

/**
 * Requests whose response is not written yet.
 *
 * @since 0.1.0
 * @category metrics
 */
export const activeRequests: Metric.Gauge<number> = Metric.gauge("http.server.active_requests", {
  description: "Requests in flight"
})

const REQUESTS_DESCRIPTION = "Requests answered, by method and status class"
const DURATION_DESCRIPTION = "Request duration in seconds, by method and status class"
const VIOLATIONS_DESCRIPTION = "Requests and connections refused for passing a limit, by error tag"

/**
 * Requests answered, by method and status class.
 *
 * @since 0.1.0
 * @category metrics
 */
export const requests: Metric.Counter<number> = Metric.counter("http.server.requests", {
  description: REQUESTS_DESCRIPTION,
  incremental: true
})

/**
 * The boundaries OpenTelemetry advises for `http.server.request.duration`
 * (seconds).
 *
 * @since 0.1.0
 * @category metrics
 */
export const DURATION_BOUNDARIES: ReadonlyArray<number> = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.075,
  0.1,
  0.25,
  0.5,
  0.75,
  1,
  2.5,
  5,
  7.5,
  10
]

/**
 * How long requests took, from their head's arrival to their response,
 * in seconds, by method and status class.
 *
 * @since 0.1.0
 * @category metrics
 */
export const requestDuration: Metric.Histogram<number> = Metric.histogram("http.server.request.duration", {
  description: DURATION_DESCRIPTION,
  boundaries: DURATION_BOUNDARIES
})

/**
 * Body bytes received (after decoding).
 *
 * @since 0.1.0
 * @category metrics
 */
export const requestBodyBytes: Metric.Counter<number> = Metric.counter("http.server.request.body.bytes", {
  description: "Request body bytes received",
  incremental: true
})

/**
 * Body bytes sent.
 *
 * @since 0.1.0
 * @category metrics
 */
export const responseBodyBytes: Metric.Counter<number> = Metric.counter("http.server.response.body.bytes", {
  description: "Response body bytes sent",
  incremental: true
})

/**
 * Requests and connections refused for passing a limit, by the error's tag
 * (`error.type`): `HeaderTooLarge`, `BodyTooLarge`, `HeaderTimeout`,
 * `BodyTimeout`, and `MaxConnections` for a connection closed at once.
 *
 * @since 0.1.0
 * @category metrics
 */
export const limitViolations: Metric.Counter<number> = Metric.counter("http.server.limit_violations", {
  description: VIOLATIONS_DESCRIPTION,
  incremental: true
})

/**
 * Connections handed over by an upgrade (no longer HTTP).
 *
 * @since 0.1.0
 * @category metrics
 */
export const upgradedConnections: Metric.Counter<number> = Metric.counter("http.server.upgraded_connections", {
  description: "Connections upgraded away from HTTP",
  incremental: true
})

const PROXY_REJECTED_DESCRIPTION = "Connections closed for their PROXY protocol header, or their peer, by reason"

/**
 * Connections closed without an answer by the PROXY protocol stage
 * (`proxyProtocol`), by reason (`error.type`): `NotProxyProtocol`,
 * `Malformed`, `TooLong` (the header's), `Truncated` (the peer left in the
 * middle of it), `HeaderTimeout`, `PeerRefused` (not in `proxyProtocolFrom`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const proxyRejectedConnections: Metric.Counter<number> = Metric.counter(
  "http.server.proxy_protocol.rejected_connections",
  { description: PROXY_REJECTED_DESCRIPTION, incremental: true }
)

/** The tags of the errors counted as limit violations. */
const LIMIT_ERRORS: ReadonlySet<string> = new Set([
  "HeaderTooLarge",
  "BodyTooLarge",
  "HeaderTimeout",
  "BodyTimeout",
  "MaxConnections"
])

/** Methods kept as they are; any other is `_OTHER` (bounded cardinality, as OpenTelemetry asks). */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH"
])

/**
 * `2xx` for 200-299, and so on.
 *
 * @since 0.1.0
 * @category metrics
 */
export const statusClassOf = (status: number): string => `${Math.floor(status / 100)}xx`

/**
 * What a server records, with the context (metric registry, attributes) it
 * started in. Made once per server, only when metrics are on.
 *
 * @since 0.1.0
 * @category recording
 */
export class ServerMetricsRecorder {
  private readonly context: Context.Context<never>
  /** The per-attribute series, made once each. */
  private readonly series = new Map<string, { readonly count: Metric.Counter<number>; readonly duration: Metric.Histogram<number> }>()
  private readonly violations = new Map<string, Metric.Counter<number>>()
  private readonly proxyRejections = new Map<string, Metric.Counter<number>>()

  constructor(context: Context.Context<never>) {
    this.context = context
  }

  connectionOpened(): void {
    openConnections.modifyUnsafe(1, this.context)
  }

  connectionClosed(): void {
    openConnections.modifyUnsafe(-1, this.context)
  }

  connectionUpgraded(): void {
    upgradedConnections.updateUnsafe(1, this.context)
  }

  requestStarted(): void {
    activeRequests.modifyUnsafe(1, this.context)
  }

  /**
   * A request is over: `status` is that of its response, or `undefined` when
   * it ended without one (counted only as no longer active).
   */
  requestEnded(
    method: string,
    status: number | undefined,
    seconds: number,
    bodyBytesIn: number,
    bodyBytesOut: number
  ): void {
    const context = this.context
    activeRequests.modifyUnsafe(-1, context)
    requestBodyBytes.updateUnsafe(bodyBytesIn, context)
    if (status === undefined) return
    responseBodyBytes.updateUnsafe(bodyBytesOut, context)
    const series = this.seriesOf(KNOWN_METHODS.has(method) ? method : "_OTHER", statusClassOf(status))
    series.count.updateUnsafe(1, context)
    series.duration.updateUnsafe(seconds, context)
  }

  /** An error the engine answered, counted when it is a limit's (`tag` is the error's `_tag`). */
  engineError(tag: string): void {
    if (!LIMIT_ERRORS.has(tag)) return
    counterByType(this.violations, limitViolations.id, VIOLATIONS_DESCRIPTION, tag).updateUnsafe(1, this.context)
  }

  /** A connection closed by the PROXY protocol stage, for `reason`. */
  proxyHeaderRejected(reason: string): void {
    counterByType(this.proxyRejections, proxyRejectedConnections.id, PROXY_REJECTED_DESCRIPTION, reason)
      .updateUnsafe(1, this.context)
  }

  private seriesOf(method: string, statusClass: string) {
    const key = `${method} ${statusClass}`
    let series = this.series.get(key)
    if (series === undefined) {
      const attributes = { "http.request.method": method, "http.response.status_class": statusClass }
      series = {
        count: Metric.counter(requests.id, {
          description: REQUESTS_DESCRIPTION,
          incremental: true,
          attributes
        }),
        duration: Metric.histogram(requestDuration.id, {
          description: DURATION_DESCRIPTION,
          boundaries: DURATION_BOUNDARIES,
          attributes
        })
      }
      this.series.set(key, series)
    }
    return series
  }
}

/** The series of counter `id` for one `error.type`, made once. */
const counterByType = (
  made: Map<string, Metric.Counter<number>>,
  id: string,
  description: string,
  type: string
): Metric.Counter<number> => {
  let counter = made.get(type)
  if (counter === undefined) {
    counter = Metric.counter(id, { description, incremental: true, attributes: { "error.type": type } })
    made.set(type, counter)
  }
  return counter
}
