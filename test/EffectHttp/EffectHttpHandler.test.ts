/**
 * Streamed responses of an `effect/http` app: its server span and its
 * "Sent HTTP response" log line end when the body has been sent, and a
 * client leaving mid-stream ends the span interrupted, on our adapter as
 * on `NodeHttpServer` (the same app, the same client, the same
 * assertions: rows of the parity table with a tracer and a logger). And on
 * our adapter, a streamed response the engine never runs (its head cannot
 * be sent, or its connection closed first) still ends the app's fiber and
 * closes its request Scope.
 */
import * as Http from "node:http"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Duration, Effect, Layer, Option, Schedule, Stream } from "effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as EffectHttpAdapter from "../../src/EffectHttp/EffectHttpAdapter.ts"
import * as HTTPServer from "../../src/Server/HTTPServer.ts"
import * as Http2Client from "../support/Http2Client.ts"
import { makeOtel } from "../support/Otel.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeLogCapture } from "../support/TestServer.ts"

const encoder = new TextEncoder()

const routes = Layer.mergeAll(
  // Server-Sent Events: three, 100 ms apart.
  HttpRouter.add(
    "GET",
    "/events",
    HttpServerResponse.stream(
      Stream.fromSchedule(Schedule.spaced(Duration.millis(100))).pipe(
        Stream.take(3),
        Stream.map((n) => encoder.encode(`data: ${n}\n\n`))
      ),
      { contentType: "text/event-stream" }
    )
  ),
  // A download with its length known, in two pieces 150 ms apart.
  HttpRouter.add(
    "GET",
    "/download",
    HttpServerResponse.stream(
      Stream.make("a".repeat(1000), "b".repeat(1000)).pipe(
        Stream.tap((piece) => piece.startsWith("b") ? Effect.sleep("150 millis") : Effect.void),
        Stream.map((piece) => encoder.encode(piece))
      ),
      { contentType: "application/octet-stream", contentLength: 2000 }
    )
  ),
  // A body whose every piece is made, in the stream, from the request it answers (its pulls see the request's context).
  HttpRouter.add(
    "GET",
    "/context",
    HttpServerResponse.stream(
      Stream.make(1, 2).pipe(
        Stream.mapEffect(() =>
          Effect.withFiber((fiber) => {
            const request = Context.getOption(fiber.context, HttpServerRequest.HttpServerRequest)
            return Effect.succeed(encoder.encode(Option.isSome(request) ? `${request.value.url};` : "none;"))
          })
        )
      ),
      { contentType: "text/plain", contentLength: 18 }
    )
  ),
  // Events that never end.
  HttpRouter.add(
    "GET",
    "/forever",
    HttpServerResponse.stream(
      Stream.fromSchedule(Schedule.spaced(Duration.millis(20))).pipe(Stream.map((n) => encoder.encode(`data: ${n}\n\n`))),
      { contentType: "text/event-stream" }
    )
  )
)

interface Target {
  readonly name: string
  readonly layer: () => Layer.Layer<HttpServer.HttpServer | EffectHttpAdapter.HttpServices, unknown>
}

const targets: ReadonlyArray<Target> = [
  {
    name: "NodeHttpServer",
    layer: () => NodeHttpServer.layer(() => Http.createServer(), { host: "127.0.0.1", port: 0 })
  },
  {
    name: "EffectHttpAdapter",
    layer: () => EffectHttpAdapter.layer({ host: "127.0.0.1", port: 0, shutdownTimeout: "2 seconds" })
  }
]

/** Serves the routes on `target`, with effect/http's logger on, a tracer and a log capture. */
const serveOn = (target: Target) =>
  Effect.gen(function*() {
    const otel = makeOtel()
    const logs = makeLogCapture()
    const context = yield* Layer.build(
      HttpRouter.serve(routes, { disableListenLog: true }).pipe(
        Layer.provideMerge(target.layer()),
        Layer.provide(otel.layer),
        Layer.provide(logs.layer)
      )
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    const port = address._tag === "UnixPathAddress" ? 0 : address.port
    const sentLines = () => logs.lines.filter((line) => line.message.includes("Sent HTTP response"))
    return { port, otel, sentLines }
  })

/** The server span of `path`, once it has ended. */
const spanOf = (spans: () => ReadonlyArray<ReadableSpan>, path: string) =>
  Effect.promise(async () => {
    const find = () => spans().find((span) => span.attributes["url.path"] === path)
    const deadline = Date.now() + 3000
    while (find() === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
    return find()
  })

const millisOf = (span: ReadableSpan | undefined) =>
  span === undefined ? 0 : span.duration[0] * 1000 + span.duration[1] / 1e6

for (const target of targets) {
  describe(`streamed responses on ${target.name}`, () => {
    it.live("SSE: the span and the log line end after the last event is sent", () =>
      Effect.gen(function*() {
        const { otel, port, sentLines } = yield* serveOn(target)
        const client = yield* RawClient.connect(port)
        yield* client.write(RawClient.get("/events"))
        yield* client.readUntil("data: 0\n\n")
        // Body still coming: not logged as sent, no span ended.
        expect(sentLines()).toHaveLength(0)
        expect(otel.spans()).toHaveLength(0)
        // The last event, then the chunked body's end.
        yield* client.readUntil("data: 2\n\n\r\n0\r\n\r\n", 3000)
        const span = yield* spanOf(otel.spans, "/events")
        // Three events 100 ms apart: the span covers the two waits at least.
        expect(millisOf(span)).toBeGreaterThanOrEqual(190)
        expect(span?.attributes["effect.fiber.interrupted"]).toBeUndefined()
        expect(sentLines()).toHaveLength(1)
      }))

    it.live("a download with Content-Length: the span covers the body", () =>
      Effect.gen(function*() {
        const { otel, port } = yield* serveOn(target)
        const response = yield* RawClient.requestOnce(port, RawClient.get("/download"), { timeoutMillis: 3000 })
        expect([response.status, response.body.length]).toEqual([200, 2000])
        expect(millisOf(yield* spanOf(otel.spans, "/download"))).toBeGreaterThanOrEqual(140)
      }))

    it.live("the body runs in the request's context: each piece sees the request", () =>
      Effect.gen(function*() {
        const { port } = yield* serveOn(target)
        const response = yield* RawClient.requestOnce(port, RawClient.get("/context"), { timeoutMillis: 3000 })
        expect([response.status, response.body.toString()]).toEqual([200, "/context;/context;"])
      }))

    it.live("a client leaving mid-stream ends the span interrupted", () =>
      Effect.gen(function*() {
        const { otel, port } = yield* serveOn(target)
        const client = yield* RawClient.connect(port)
        yield* client.write(RawClient.get("/forever"))
        yield* client.readUntil("data: 2\n\n")
        yield* client.destroy()
        const span = yield* spanOf(otel.spans, "/forever")
        expect(span?.attributes["effect.fiber.interrupted"]).toBe(true)
      }))
  })
}

/**
 * Routes whose streamed response the engine drops, each with a finalizer
 * in its request Scope that completes `released`.
 */
const droppedRoutes = (released: Deferred.Deferred<string>) => {
  const releasing = (path: string) =>
    Effect.addFinalizer((exit) => Deferred.succeed(released, `${path} ${exit._tag}`))
  const body = Stream.make(encoder.encode("never sent"))
  return Layer.mergeAll(
    // A head the serializer refuses (a field value with a line break): 500.
    HttpRouter.add(
      "GET",
      "/bad-head",
      Effect.as(releasing("/bad-head"), HttpServerResponse.stream(body, { headers: { "x-bad": "line\nbreak" } }))
    ),
    // Answers only once its request body fails: the client reset the
    // connection mid-body, so it is closed when the response comes. Uninterruptible,
    // so that the client leaving does not stop it first.
    HttpRouter.add(
      "POST",
      "/after-close",
      Effect.gen(function*() {
        yield* releasing("/after-close")
        const request = yield* HttpServerRequest.HttpServerRequest
        yield* Effect.exit(request.arrayBuffer)
        return HttpServerResponse.stream(body)
      }),
      { uninterruptible: true }
    )
  )
}

describe("streamed responses the engine never runs, on EffectHttpAdapter", () => {
  const serveDropping = Effect.gen(function*() {
    const released = yield* Deferred.make<string>()
    const context = yield* Layer.build(
      HttpRouter.serve(droppedRoutes(released), { disableListenLog: true, disableLogger: true }).pipe(
        Layer.provideMerge(
          EffectHttpAdapter.layer({ host: "127.0.0.1", port: 0, http2: true, shutdownTimeout: "2 seconds" })
        ),
        Layer.provide(makeLogCapture().layer)
      )
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    const port = address._tag === "UnixPathAddress" ? 0 : address.port
    return { port, released, server: Context.get(context, HTTPServer.HTTPServer) }
  })

  it.live("a head that cannot be sent: 500, and the app's fiber ends, its request Scope closed", () =>
    Effect.gen(function*() {
      const { port, released } = yield* serveDropping
      const response = yield* RawClient.requestOnce(port, RawClient.get("/bad-head"), { timeoutMillis: 3000 })
      expect(response.status).toBe(500)
      const closed = yield* Deferred.await(released).pipe(Effect.timeoutOption("2 seconds"))
      expect(closed).toEqual(Option.some("/bad-head Failure"))
    }))

  it.live("a connection closed before the response: the app's fiber ends, its request Scope closed", () =>
    Effect.gen(function*() {
      const { port, released, server } = yield* serveDropping
      const client = yield* RawClient.connect(port)
      // Half of the body it announces.
      yield* client.write("POST /after-close HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n12345")
      yield* RawClient.sleepReal(30)
      // A reset: the server's side closes at once (after a FIN it could still answer).
      yield* client.reset()
      const closed = yield* Deferred.await(released).pipe(Effect.timeoutOption("2 seconds"))
      expect(closed).toEqual(Option.some("/after-close Failure"))
      // The engine no longer waits on the app's fiber: the connection is gone.
      expect(yield* RawClient.eventually(() => server.connectionCount() === 0)).toBe(true)
    }))

  it.live("over HTTP/2, a head that cannot be sent: 500, and the app's fiber ends, its request Scope closed", () =>
    Effect.gen(function*() {
      const { port, released } = yield* serveDropping
      const session = yield* Http2Client.connect(port)
      const answer = yield* Http2Client.request(session, { path: "/bad-head" })
      expect(answer.status).toBe(500)
      const closed = yield* Deferred.await(released).pipe(Effect.timeoutOption("2 seconds"))
      expect(closed).toEqual(Option.some("/bad-head Failure"))
    }))
})
