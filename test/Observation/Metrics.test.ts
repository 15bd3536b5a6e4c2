/**
 * The server's metrics through Effect's `Metric`, exported by the real
 * OpenTelemetry SDK (`@effect/opentelemetry`, in-memory metric exporter),
 * over real sockets; and nothing recorded unless `ServerMetrics.layer` is on.
 */
import type { DataPoint, Histogram, MetricData } from "@opentelemetry/sdk-metrics"
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Layer, Metric } from "effect"
import * as HTTPServer from "../../src/Server/HTTPServer.ts"
import * as ServerMetrics from "../../src/Observation/ServerMetrics.ts"
import * as Response from "../../src/Response/Response.ts"
import { makeOtel } from "../support/Otel.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeLogCapture, portOf } from "../support/TestServer.ts"

/** Sends `request` on a fresh connection and reads the response. */
const send = (port: number, request: string | Buffer) =>
  Effect.scoped(RawClient.requestOnce(port, request, { timeoutMillis: 5000 }))


/** The data points of the metric `name`, with their attributes. */
const points = (metrics: ReadonlyArray<MetricData>, name: string): ReadonlyArray<DataPoint<unknown>> =>
  metrics.filter((metric) => metric.descriptor.name === name).flatMap((metric) => metric.dataPoints as Array<DataPoint<unknown>>)

const valueAt = (metrics: ReadonlyArray<MetricData>, name: string, attributes: Record<string, string> = {}) =>
  points(metrics, name).find((point) =>
    Object.entries(attributes).every(([key, value]) => point.attributes[key] === value) &&
    Object.keys(point.attributes).length === Object.keys(attributes).length
  )?.value

describe("server metrics", () => {
  it.effect("count requests by method and status class, their durations and body bytes, through OpenTelemetry", () =>
    Effect.gen(function*() {
      const otel = makeOtel()
      const app: HTTPServer.Handler<unknown> = (request) =>
        request.path === "/upload"
          ? Effect.map(request.body, (body) => Response.text(`got ${body.byteLength}`))
          : Effect.succeed(request.path === "/ok" ? Response.text("fine") : Response.text("nope", { status: 404 }))
      const context = yield* Layer.build(
        HTTPServer.layerTest(app).pipe(Layer.provide(ServerMetrics.layer), Layer.provide(otel.layer))
      )
      const port = portOf(Context.get(context, HTTPServer.HTTPServer))
      yield* send(port, RawClient.get("/ok"))
      yield* send(port, RawClient.get("/ok"))
      yield* send(port, RawClient.get("/missing"))
      yield* send(port, RawClient.withBody("POST", "/upload", "x".repeat(100)))
      yield* send(port, RawClient.withBody("PURGE", "/ok", ""))
      const metrics = yield* otel.metrics
      const by = (method: string, statusClass: string) => ({
        "http.request.method": method,
        "http.response.status_class": statusClass
      })
      expect(valueAt(metrics, "http.server.requests", by("GET", "2xx"))).toBe(2)
      expect(valueAt(metrics, "http.server.requests", by("GET", "4xx"))).toBe(1)
      expect(valueAt(metrics, "http.server.requests", by("POST", "2xx"))).toBe(1)
      // Methods outside the standard ones share one series (bounded cardinality).
      expect(valueAt(metrics, "http.server.requests", by("_OTHER", "2xx"))).toBe(1)
      const durations = valueAt(metrics, "http.server.request.duration", by("GET", "2xx")) as Histogram
      expect(durations.count).toBe(2)
      expect(durations.sum).toBeGreaterThan(0)
      expect(durations.sum).toBeLessThan(5)
      expect(valueAt(metrics, "http.server.request.body.bytes")).toBe(100)
      expect(valueAt(metrics, "http.server.response.body.bytes")).toBe(
        "fine".length * 3 + "nope".length + "got 100".length
      )
      expect(valueAt(metrics, "http.server.active_requests")).toBe(0)
    }))

  it.effect("requests in flight and open connections, as they happen", () =>
    Effect.gen(function*() {
      const registry = new Map()
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const app: HTTPServer.Handler = () =>
        Effect.andThen(Deferred.succeed(started, undefined), Effect.as(Deferred.await(release), Response.text("done")))
      const context = yield* Layer.build(
        HTTPServer.layerTest(app).pipe(
          Layer.provide(ServerMetrics.layer),
          Layer.provide(Layer.succeed(Metric.MetricRegistry, registry))
        )
      )
      const port = portOf(Context.get(context, HTTPServer.HTTPServer))
      const value = <S>(metric: Metric.Metric<number, S>) =>
        Effect.provideService(Metric.value(metric), Metric.MetricRegistry, registry)
      const inFlight = yield* Effect.forkChild(send(port, RawClient.get("/slow")))
      yield* Deferred.await(started)
      expect((yield* value(ServerMetrics.activeRequests)).value).toBe(1)
      expect((yield* value(ServerMetrics.openConnections)).value).toBe(1)
      yield* Deferred.succeed(release, undefined)
      expect((yield* Fiber.join(inFlight)).text).toBe("done")
      expect((yield* value(ServerMetrics.activeRequests)).value).toBe(0)
      const server = Context.get(context, HTTPServer.HTTPServer)
      expect(yield* RawClient.eventually(() => server.connectionCount() === 0)).toBe(true)
      expect((yield* value(ServerMetrics.openConnections)).value).toBe(0)
    }))

  it.effect("limit violations by error tag, maxConnections included", () =>
    Effect.gen(function*() {
      const otel = makeOtel()
      const logs = makeLogCapture()
      const app: HTTPServer.Handler<unknown> = (request) => Effect.map(request.body, () => Response.text("ok"))
      const context = yield* Layer.build(
        HTTPServer.layerTest(app, { maxBodySize: 10, maxHeaderSize: 200, maxConnections: 1 }).pipe(
          Layer.provide(ServerMetrics.layer),
          Layer.provide(otel.layer),
          Layer.provide(logs.layer)
        )
      )
      const port = portOf(Context.get(context, HTTPServer.HTTPServer))
      expect((yield* send(port, RawClient.withBody("POST", "/", "x".repeat(11)))).status).toBe(413)
      expect((yield* send(port, RawClient.get("/", `X-Big: ${"b".repeat(300)}`))).status).toBe(431)
      yield* Effect.scoped(Effect.gen(function*() {
        const first = yield* RawClient.connect(port)
        yield* first.write(RawClient.get("/ok"))
        yield* first.readResponse()
        // The first connection is open: the second is closed at once.
        const second = yield* RawClient.connect(port)
        expect(yield* second.closesWithin(2000)).toBe(true)
      }))
      const metrics = yield* otel.metrics
      expect(valueAt(metrics, "http.server.limit_violations", { "error.type": "BodyTooLarge" })).toBe(1)
      expect(valueAt(metrics, "http.server.limit_violations", { "error.type": "HeaderTooLarge" })).toBe(1)
      expect(valueAt(metrics, "http.server.limit_violations", { "error.type": "MaxConnections" })).toBe(1)
    }))

  it.live("an upgraded connection is counted, and its request as answered with its 101", () =>
    Effect.gen(function*() {
      const registry = new Map()
      const app: HTTPServer.Handler<unknown> = (request) =>
        Effect.scoped(Effect.gen(function*() {
          const socket = yield* request.detach({ response: Response.empty({ status: 101, headers: { Upgrade: "echo" } }) })
          yield* Effect.callback<void>((resume) => {
            socket.on("data", (chunk: Buffer) => socket.write(chunk))
            socket.on("end", () => socket.end())
            socket.on("close", () => resume(Effect.void))
          })
          return Response.text("not sent")
        }))
      const context = yield* Layer.build(
        HTTPServer.layerTest(app).pipe(
          Layer.provide(ServerMetrics.layer),
          Layer.provide(Layer.succeed(Metric.MetricRegistry, registry))
        )
      )
      const server = Context.get(context, HTTPServer.HTTPServer)
      yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* RawClient.connect(portOf(server))
        yield* client.write(RawClient.get("/ws", "Connection: Upgrade", "Upgrade: echo"))
        yield* client.readUntil("\r\n\r\n")
        yield* client.write("ping")
        yield* client.readUntil("ping")
        yield* client.end()
        yield* client.readUntilClose()
      }))
      const value = <S>(metric: Metric.Metric<number, S>) =>
        Effect.provideService(Metric.value(metric), Metric.MetricRegistry, registry)
      expect((yield* value(ServerMetrics.upgradedConnections)).count).toBe(1)
      const snapshots = yield* Effect.provideService(Metric.snapshot, Metric.MetricRegistry, registry)
      const switched = snapshots.filter((snapshot) =>
        snapshot.id === ServerMetrics.requests.id && snapshot.attributes?.["http.response.status_class"] === "1xx"
      )
      expect(switched.map((snapshot) => snapshot.state)).toMatchObject([{ count: 1 }])
      expect((yield* value(ServerMetrics.activeRequests)).value).toBe(0)
    }))

  it.effect("nothing is recorded unless ServerMetrics.layer is on", () =>
    Effect.gen(function*() {
      const registry = new Map()
      const context = yield* Layer.build(
        HTTPServer.layerTest(() => Effect.succeed(Response.text("hi"))).pipe(
          Layer.provide(Layer.succeed(Metric.MetricRegistry, registry))
        )
      )
      const port = portOf(Context.get(context, HTTPServer.HTTPServer))
      expect((yield* send(port, RawClient.get("/"))).text).toBe("hi")
      expect(registry.size).toBe(0)
    }))
})
