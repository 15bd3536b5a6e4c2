/**
 * An `effect/http` app on the adapter, unchanged, over HTTP/2: the rows of
 * the parity table that concern the request model (routes, bodies, streams,
 * cookies), each request sent over HTTP/2 and over HTTP/1.1 to the same
 * server, with the same answers expected.
 */
import * as Http from "node:http"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as EffectHttpAdapter from "../../src/EffectHttp/EffectHttpAdapter.ts"
import * as EffectRoutes from "../support/EffectRoutes.ts"
import * as Http2Client from "../support/Http2Client.ts"

const routes = Layer.mergeAll(
  EffectRoutes.hello,
  EffectRoutes.userById,
  EffectRoutes.whoami,
  EffectRoutes.people,
  EffectRoutes.form,
  EffectRoutes.stream,
  EffectRoutes.cookies
)

/** The app on the adapter with http2 on; its port. */
const serveApp = Effect.gen(function*() {
  const app = HttpRouter.serve(routes, { disableListenLog: true, disableLogger: true }).pipe(
    Layer.provideMerge(EffectHttpAdapter.layer({ host: "127.0.0.1", port: 0, http2: true, shutdownTimeout: 2000 }))
  )
  const context = yield* Layer.build(app).pipe(Effect.orDie)
  const address = Context.get(context, HttpServer.HttpServer).address
  if (address._tag === "UnixPathAddress") throw new Error("not a TCP server")
  return address.port
})

interface Answer {
  readonly status: number
  readonly text: string
  readonly contentType: string | undefined
  readonly setCookie: ReadonlyArray<string>
}

interface Call {
  readonly method?: string
  readonly path: string
  readonly headers?: Record<string, string>
  readonly body?: string
}

/** The call over HTTP/1.1 (node:http). */
const overHttp1 = (port: number, call: Call) =>
  Effect.callback<Answer>((resume) => {
    const request = Http.request({
      host: "127.0.0.1",
      port,
      method: call.method ?? "GET",
      path: call.path,
      headers: call.headers,
      agent: false
    }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () =>
        resume(Effect.succeed({
          status: response.statusCode ?? 0,
          text: Buffer.concat(chunks).toString(),
          contentType: response.headers["content-type"],
          setCookie: response.headers["set-cookie"] ?? []
        })))
    })
    request.end(call.body)
  })

/** The call over HTTP/2 (node:http2, prior knowledge). */
const overHttp2 = (port: number, call: Call) =>
  Effect.scoped(Effect.gen(function*() {
    const session = yield* Http2Client.connect(port)
    const answer = yield* Http2Client.request(session, {
      method: call.method,
      path: call.path,
      headers: call.headers,
      body: call.body
    })
    const cookies = answer.headers["set-cookie"]
    return {
      status: answer.status,
      text: answer.text,
      contentType: answer.headers["content-type"],
      setCookie: cookies === undefined ? [] : Array.isArray(cookies) ? cookies : [cookies]
    } satisfies Answer
  }))

const rows: ReadonlyArray<{ readonly name: string; readonly calls: ReadonlyArray<Call> }> = [
  { name: "routes: a known route, a path parameter, an unknown route (404)", calls: [{ path: "/hello" }, { path: "/users/42" }, { path: "/nope" }] },
  {
    name: "bodies: a Schema-decoded JSON body, a urlencoded form",
    calls: [
      { method: "POST", path: "/people", headers: { "content-type": "application/json" }, body: "{\"name\":\"Ada\",\"age\":36}" },
      { method: "POST", path: "/form", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "a=1&b=two" }
    ]
  },
  { name: "streams: a streamed response in pieces", calls: [{ path: "/stream" }] },
  {
    name: "cookies: request cookies read, two Set-Cookie fields sent",
    calls: [{ path: "/whoami?x=1", headers: { cookie: "a=1; b=2" } }, { path: "/cookies" }]
  }
]

describe("effect/http apps over HTTP/2 (the adapter, unchanged)", () => {
  for (const row of rows) {
    it.live(row.name, () =>
      Effect.gen(function*() {
        const port = yield* serveApp
        for (const call of row.calls) {
          const h1 = yield* overHttp1(port, call)
          const h2 = yield* overHttp2(port, call)
          expect(h2).toEqual(h1)
          expect(h2.status).toBeGreaterThan(0)
        }
      }))
  }
})
