/**
 * A span per request through Effect's Tracer, checked with the real
 * OpenTelemetry SDK (`@effect/opentelemetry`, in-memory span exporter), over
 * real sockets: semantic-convention names and attributes, W3C `traceparent`
 * continuing the caller's trace, the handler inside the span, error status
 * on 5xx; on the `effect/http` adapter, the spans NodeHttpServer makes, once.
 */
import * as Http from "node:http"
import { SpanKind, SpanStatusCode } from "@opentelemetry/api"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option, Stream } from "effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as EffectHttpAdapter from "../../src/EffectHttp/EffectHttpAdapter.ts"
import * as HTTPServer from "../../src/Server/HTTPServer.ts"
import * as Response from "../../src/Response/Response.ts"
import { makeOtel } from "../support/Otel.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeLogCapture, portOf } from "../support/TestServer.ts"

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
const CALLER_SPAN_ID = "00f067aa0ba902b7"
const TRACEPARENT = `traceparent: 00-${TRACE_ID}-${CALLER_SPAN_ID}-01`

const encoder = new TextEncoder()

/** The app: reports the span it runs in, makes a child span, reads bodies, streams, fails. */
const app: HTTPServer.Handler<unknown> = (request) =>
  Effect.gen(function*() {
    switch (request.path) {
      case "/span": {
        const span = yield* Effect.currentSpan
        yield* Effect.withSpan(Effect.void, "child")
        return Response.json({ traceId: span.traceId, spanId: span.spanId })
      }
      case "/upload": {
        const body = yield* request.body
        return Response.text(`got ${body.byteLength}`)
      }
      case "/stream":
        return Response.stream(Stream.fromIterable(["ab", "cde", "f"]).pipe(Stream.map((s) => encoder.encode(s))))
      case "/fail":
        return yield* Effect.die(new Error("boom"))
      case "/hang":
        return yield* Effect.never
      default:
        return Response.text("nope", { status: 404 })
    }
  })

/** Sends `request` on a fresh connection and reads the response. */
const send = (port: number, request: string | Buffer) =>
  Effect.scoped(RawClient.requestOnce(port, request, { timeoutMillis: 5000 }))


/** The finished spans named `name`, once they are all there (spans end after the response is written). */
const spansNamed = (spans: () => ReadonlyArray<ReadableSpan>, name: string, count: number) =>
  Effect.promise(async () => {
    const deadline = Date.now() + 2000
    while (spans().filter((span) => span.name === name).length < count && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    return spans().filter((span) => span.name === name)
  })

/**
 * The status @effect/opentelemetry gives a span whose Effect succeeded, on
 * the version installed (4.1.0 sets OK, 4.1.5 leaves it UNSET): a request
 * answered (a 4xx too) ends its span as effect/http's spans end, so with this.
 */
const succeededSpanStatus = Effect.scoped(Effect.gen(function*() {
  const otel = makeOtel()
  // A memo map of its own: inside it.layer, the SDK's inner layers would be
  // the ones already built for the served app (another exporter).
  const context = yield* Layer.buildWithMemoMap(otel.layer, yield* Layer.makeMemoMap, yield* Effect.scope)
  yield* Effect.withSpan(Effect.void, "reference").pipe(Effect.provideContext(context))
  const [reference] = yield* spansNamed(otel.spans, "reference", 1)
  return reference?.status.code
}))

describe("request spans (HTTPServer)", () => {
  const otel = makeOtel()
  const logs = makeLogCapture()
  const served = HTTPServer.layerTest(app).pipe(Layer.provide(otel.layer), Layer.provide(logs.layer))

  it.layer(served)((it) => {
    it.effect("one server span per request, continuing the caller's trace; the handler runs inside it", () =>
      Effect.gen(function*() {
        const port = portOf(yield* HTTPServer.HTTPServer)
        const response = yield* send(port, RawClient.get("/span?x=1", TRACEPARENT, "User-Agent: probe/1.0"))
        expect(response.status).toBe(200)
        const seen = response.json<{ traceId: string; spanId: string }>()
        const [span] = yield* spansNamed(otel.spans, "GET", 1)
        expect(span).toBeDefined()
        if (span === undefined) return
        expect(span.kind).toBe(SpanKind.SERVER)
        expect(span.spanContext().traceId).toBe(TRACE_ID)
        expect(span.parentSpanContext?.spanId).toBe(CALLER_SPAN_ID)
        expect(seen).toEqual({ traceId: TRACE_ID, spanId: span.spanContext().spanId })
        expect(span.attributes).toMatchObject({
          "http.request.method": "GET",
          "url.path": "/span",
          "url.query": "x=1",
          "url.scheme": "http",
          "network.protocol.version": "1.1",
          "client.address": "127.0.0.1",
          "user_agent.original": "probe/1.0",
          "http.response.status_code": 200,
          "http.request.body.size": 0,
          "http.response.body.size": response.body.byteLength
        })
        expect(span.status.code).toBe(yield* succeededSpanStatus)
        const [child] = yield* spansNamed(otel.spans, "child", 1)
        expect(child?.parentSpanContext?.spanId).toBe(span.spanContext().spanId)
        expect(child?.spanContext().traceId).toBe(TRACE_ID)
      }))

    it.effect("without a traceparent, a new trace; body sizes of an upload and a streamed response", () =>
      Effect.gen(function*() {
        const port = portOf(yield* HTTPServer.HTTPServer)
        const before = otel.spans().length
        const upload = yield* send(port, RawClient.withBody("POST", "/upload", "x".repeat(1000)))
        expect(upload.text).toBe("got 1000")
        const streamed = yield* send(port, RawClient.get("/stream", "Connection: close"))
        expect(streamed.text).toBe("abcdef")
        const posted = (yield* spansNamed(otel.spans, "POST", 1))[0]
        expect(posted?.parentSpanContext).toBeUndefined()
        expect(posted?.spanContext().traceId).not.toBe(TRACE_ID)
        expect(posted?.attributes["http.request.body.size"]).toBe(1000)
        expect(posted?.attributes["http.response.body.size"]).toBe("got 1000".length)
        const gets = yield* spansNamed(otel.spans, "GET", 2)
        const stream = gets.find((span) => span.attributes["url.path"] === "/stream")
        expect(stream?.attributes["http.response.body.size"]).toBe(6)
        expect(stream?.attributes["http.response.status_code"]).toBe(200)
        expect(otel.spans().length - before).toBe(2)
      }))

    it.effect("a 5xx ends the span with an error status; a 4xx with OK (as effect/http spans end)", () =>
      Effect.gen(function*() {
        const port = portOf(yield* HTTPServer.HTTPServer)
        expect((yield* send(port, RawClient.get("/fail"))).status).toBe(500)
        expect((yield* send(port, RawClient.get("/missing"))).status).toBe(404)
        const gets = yield* spansNamed(otel.spans, "GET", 4)
        const failed = gets.find((span) => span.attributes["url.path"] === "/fail")
        const missing = gets.find((span) => span.attributes["url.path"] === "/missing")
        expect(failed?.attributes["http.response.status_code"]).toBe(500)
        expect(failed?.status.code).toBe(SpanStatusCode.ERROR)
        expect(missing?.attributes["http.response.status_code"]).toBe(404)
        expect(missing?.status.code).toBe(yield* succeededSpanStatus)
      }))
  })

  it.effect("a request whose client goes away ends its span interrupted, without a status code", () =>
    Effect.gen(function*() {
      const otel = makeOtel()
      const logs = makeLogCapture()
      const context = yield* Layer.build(HTTPServer.layerTest(app).pipe(Layer.provide(otel.layer), Layer.provide(logs.layer)))
      const port = portOf(Context.get(context, HTTPServer.HTTPServer))
      yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* RawClient.connect(port)
        yield* client.write(RawClient.get("/hang"))
        yield* RawClient.sleepReal(50)
      }))
      const [span] = yield* spansNamed(otel.spans, "GET", 1)
      expect(span?.attributes["url.path"]).toBe("/hang")
      expect(span?.attributes["http.response.status_code"]).toBeUndefined()
      // @effect/opentelemetry's mark of an interrupted span.
      expect(span?.attributes["effect.fiber.interrupted"]).toBe(true)
      expect(span?.status.code).toBe(SpanStatusCode.UNSET)
    }))

  it.effect("with no tracer installed there is no span: a handler sees none", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        HTTPServer.layerTest((_request) =>
          Effect.map(Effect.option(Effect.currentSpan), (span) => Response.text(Option.isSome(span) ? "span" : "none"))
        )
      )
      const port = portOf(Context.get(context, HTTPServer.HTTPServer))
      expect((yield* send(port, RawClient.get("/", TRACEPARENT))).text).toBe("none")
    }))
})

// -----------------------------------------------------------------------------
// the effect/http adapter: the same spans as NodeHttpServer, once each

const routes = Layer.mergeAll(
  HttpRouter.add("GET", "/users/:id", HttpServerResponse.text("user")),
  HttpRouter.add("POST", "/fail", Effect.die(new Error("boom")))
)

/** What a span says, without its ids and times. */
const shape = (span: ReadableSpan) => ({
  name: span.name,
  kind: span.kind,
  status: span.status.code,
  parentSpanId: span.parentSpanContext?.spanId,
  traceId: span.spanContext().traceId === TRACE_ID ? "caller's" : "new",
  attributes: Object.fromEntries(
    Object.entries(span.attributes).filter(([key]) => key !== "server.port" && key !== "url.full")
  )
})

/** The spans of three requests to `routes` served by `serverLayer`. */
const spansOf = (serverLayer: Layer.Layer<HttpServer.HttpServer, unknown>) =>
  Effect.gen(function*() {
    const otel = makeOtel()
    const logs = makeLogCapture()
    const context = yield* Layer.build(
      HttpRouter.serve(routes, { disableListenLog: true, disableLogger: true }).pipe(
        Layer.provideMerge(serverLayer),
        Layer.provide(otel.layer),
        Layer.provide(logs.layer)
      )
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    const port = address._tag === "UnixPathAddress" ? 0 : address.port
    expect((yield* send(port, RawClient.get("/users/7?q=2", TRACEPARENT))).status).toBe(200)
    expect((yield* send(port, RawClient.withBody("POST", "/fail", "hi"))).status).toBe(500)
    expect((yield* send(port, RawClient.get("/nowhere"))).status).toBe(404)
    yield* spansNamed(otel.spans, "POST", 1)
    yield* spansNamed(otel.spans, "GET", 2)
    return otel.spans().map(shape)
  })

describe("request spans (EffectHttpAdapter)", () => {
  it.effect("are the spans NodeHttpServer makes, one per request", () =>
    Effect.gen(function*() {
      const ours = yield* Effect.scoped(spansOf(EffectHttpAdapter.layerTest()))
      const node = yield* Effect.scoped(spansOf(NodeHttpServer.layer(Http.createServer, { port: 0, host: "127.0.0.1" })))
      expect(ours.filter((span) => span.kind === SpanKind.SERVER)).toHaveLength(3)
      expect(ours).toEqual(node)
      const user = ours.find((span) => span.attributes["url.path"] === "/users/7")
      // The status a 200 leaves is the one NodeHttpServer's span has on the Effect installed.
      const nodeUser = node.find((span) => span.attributes["url.path"] === "/users/7")
      expect(user).toMatchObject({ traceId: "caller's", parentSpanId: CALLER_SPAN_ID, status: nodeUser?.status })
      expect(user?.attributes).toMatchObject({ "http.request.method": "GET", "http.response.status_code": 200 })
      const failed = ours.find((span) => span.name === "POST")
      expect(failed).toMatchObject({ status: SpanStatusCode.ERROR })
    }))
})
