/**
 * Spans and the access log for requests over HTTP/2: the same observers as
 * HTTP/1.1, with `network.protocol.version` 2.
 */
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as HTTPServer from "../../src/Server/HTTPServer.ts"
import * as Response from "../../src/Response/Response.ts"
import * as Http2Client from "../support/Http2Client.ts"
import { makeOtel } from "../support/Otel.ts"
import { makeLogCapture, portOf } from "../support/TestServer.ts"

const encoder = new TextEncoder()

const app: HTTPServer.Handler<unknown> = (request) =>
  request.path === "/stream"
    ? Effect.succeed(Response.stream(Stream.make(encoder.encode("ab"), encoder.encode("cde"))))
    : Effect.map(request.body, (body) => Response.text(`got ${body.byteLength}`))

/** Polls until `found` gives `count` items (observers run once the response is written). */
const eventually = <A>(found: () => ReadonlyArray<A>, count: number) =>
  Effect.promise(async () => {
    const deadline = Date.now() + 2000
    while (found().length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
    return found()
  })

describe("observing HTTP/2 requests", () => {
  const otel = makeOtel()
  const logs = makeLogCapture()
  const served = HTTPServer.layerTest(app, { http2: true, accessLog: true }).pipe(
    Layer.provide(otel.layer),
    Layer.provide(logs.layer)
  )

  it.layer(served)((it) => {
    it.effect("a span per stream says network.protocol.version 2, with the body sizes; one access line each", () =>
      Effect.scoped(Effect.gen(function*() {
        const port = portOf(yield* HTTPServer.HTTPServer)
        const session = yield* Http2Client.connect(port)
        const upload = yield* Http2Client.request(session, { method: "POST", path: "/up?x=1", body: "x".repeat(1000) })
        expect(upload.text).toBe("got 1000")
        const streamed = yield* Http2Client.request(session, { path: "/stream" })
        expect(streamed.text).toBe("abcde")
        const spans: ReadonlyArray<ReadableSpan> = yield* eventually(() => otel.spans(), 2)
        const post = spans.find((span) => span.name === "POST")
        const get = spans.find((span) => span.name === "GET")
        expect(post?.attributes).toMatchObject({
          "network.protocol.version": "2",
          "url.path": "/up",
          "url.query": "x=1",
          "http.response.status_code": 200,
          "http.request.body.size": 1000,
          "http.response.body.size": 8
        })
        expect(get?.attributes).toMatchObject({ "network.protocol.version": "2", "http.response.body.size": 5 })
        const lines = yield* eventually(() => logs.lines.filter((line) => /^\d{3} /.test(line.message)), 2)
        expect(lines.map((line) => line.message.replace(/ [\d.]+ms$/, ""))).toEqual([
          "200 POST /up?x=1 (127.0.0.1)",
          "200 GET /stream (127.0.0.1)"
        ])
      })))
  })
})
