/**
 * The `effect/http` adapter: an `HttpRouter` app served by our engine
 * through `EffectHttpAdapter.layer`, over real loopback sockets.
 */
import { Readable } from "node:stream"
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Schema, Scope, Stream } from "effect"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import type { ServerConfigInput } from "../../src/Config/ServerConfig.ts"
import * as EffectHttpAdapter from "../../src/EffectHttp/EffectHttpAdapter.ts"
import * as HTTPServer from "../../src/Server/HTTPServer.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeSelfSignedCert } from "../support/SelfSignedCert.ts"
import * as EffectRoutes from "../support/EffectRoutes.ts"
import * as WsClient from "../support/WsClient.ts"
import { makeLogCapture } from "../support/TestServer.ts"

const encoder = new TextEncoder()

/** What the tests look at from outside the app. */
interface Probe {
  readonly events: Array<string>
  readonly slowStarted: Deferred.Deferred<void>
  /** Set when /hang is interrupted: whether the interruption says the client aborted. */
  readonly hangInterrupted: Deferred.Deferred<boolean>
}

const routes = (probe: Probe) =>
  Layer.mergeAll(
    EffectRoutes.hello,
    HttpRouter.add(
      "GET",
      "/users/:id",
      Effect.gen(function*() {
        const params = yield* HttpRouter.params
        const request = yield* HttpServerRequest.HttpServerRequest
        return HttpServerResponse.jsonUnsafe({
          id: params["id"],
          method: request.method,
          url: request.url,
          originalUrl: request.originalUrl,
          custom: request.headers["x-custom"] ?? null,
          cookies: request.cookies,
          remoteAddress: request.remoteAddress._tag === "Some" ? request.remoteAddress.value : null,
          protocol: request.protocol ?? null
        })
      })
    ),
    EffectRoutes.people,
    HttpRouter.add("GET", "/fail", Effect.fail(new Error("boom"))),
    HttpRouter.add("GET", "/die", Effect.die(new Error("defect"))),
    EffectRoutes.stream,
    HttpRouter.add(
      "GET",
      "/scoped-stream",
      Effect.gen(function*() {
        yield* Effect.addFinalizer(() => Effect.sync(() => void probe.events.push("request scope closed")))
        return HttpServerResponse.stream(
          Stream.fromIterable(["a", "b"]).pipe(
            Stream.tap((piece) => Effect.sync(() => void probe.events.push(`sent ${piece}`))),
            Stream.map((piece) => encoder.encode(piece))
          )
        )
      })
    ),
    EffectRoutes.cookies,
    HttpRouter.add(
      "POST",
      "/upload",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const body = yield* request.arrayBuffer
        return HttpServerResponse.jsonUnsafe({ received: body.byteLength })
      })
    ),
    HttpRouter.add(
      "POST",
      "/upload-small",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const body = yield* request.text
        return HttpServerResponse.text(body)
      }).pipe(Effect.provideService(HttpIncomingMessage.MaxBodySize, 8n as never))
    ),
    HttpRouter.add(
      "POST",
      "/count",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        let bytes = 0
        let pieces = 0
        yield* Stream.runForEach(request.stream, (piece) =>
          Effect.sync(() => {
            bytes += piece.byteLength
            pieces++
          }))
        return HttpServerResponse.jsonUnsafe({ bytes, pieces })
      })
    ),
    EffectRoutes.form,
    HttpRouter.add(
      "POST",
      "/multipart",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const parts: Array<string> = []
        yield* Stream.runForEach(request.multipartStream, (part) =>
          part._tag === "Field"
            ? Effect.sync(() => void parts.push(`${part.key}=${part.value}`))
            : Effect.map(
              Stream.runFold(part.content, () => 0, (n, chunk) => n + chunk.byteLength),
              (size) => void parts.push(`${part.key}:${part.name}:${size}`)
            ))
        return HttpServerResponse.jsonUnsafe(parts)
      })
    ),
    HttpRouter.add(
      "GET",
      "/slow",
      Effect.gen(function*() {
        yield* Deferred.succeed(probe.slowStarted, undefined)
        yield* Effect.sleep("300 millis")
        return HttpServerResponse.text("done")
      })
    ),
    EffectRoutes.hang(probe.hangInterrupted),
    HttpRouter.add(
      "GET",
      "/formdata",
      Effect.sync(() => {
        const form = new FormData()
        form.append("greeting", "hello")
        return HttpServerResponse.formData(form)
      })
    ),
    HttpRouter.add("GET", "/raw-readable", HttpServerResponse.raw(Readable.from(["node ", "readable"]))),
    HttpRouter.add("GET", "/raw-bytes", HttpServerResponse.raw(encoder.encode("raw bytes"))),
    HttpRouter.add("GET", "/no-content", HttpServerResponse.text("ignored", { status: 204 })),
    HttpRouter.add("GET", "/bad-status", HttpServerResponse.empty({ status: 101 })),
    HttpRouter.add(
      "GET",
      "/wrong-length",
      HttpServerResponse.stream(Stream.succeed(encoder.encode("short")), { contentLength: 100 })
    ),
    HttpRouter.add(
      "GET",
      "/upgrade",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        yield* request.upgrade
        return HttpServerResponse.text("upgraded")
      })
    ),
    HttpRouter.add(
      "GET",
      "/raw-upgrade",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const socket = yield* request.upgradeWith({ headers: { "x-greeting": "hi" } })
        yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          const writer = yield* socket.writer
          const chunks = yield* reader.pull
          const text = chunks.map((chunk) => typeof chunk === "string" ? chunk : Buffer.from(chunk).toString()).join("")
          yield* writer.write(text.toUpperCase())
        }))
        return HttpServerResponse.empty()
      })
    ),
    HttpRouter.add("GET", "/ws-echo", EffectRoutes.echoWebSocket),
    HttpRouter.add(
      "GET",
      "/source",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const modified = request.modify({ url: "/elsewhere" })
        return HttpServerResponse.jsonUnsafe({
          sourcePath: (request.source as HTTPServer.Request).path,
          modifiedUrl: modified.url,
          sameBody: modified.source === request.source
        })
      })
    )
  )

/**
 * Serves the test app on a free port until the Scope closes; the engine
 * config defaults to a short shutdown timeout.
 */
const serveApp = (config: ServerConfigInput = {}) =>
  Effect.gen(function*() {
    const probe: Probe = {
      events: [],
      slowStarted: yield* Deferred.make<void>(),
      hangInterrupted: yield* Deferred.make<boolean>()
    }
    const logs = makeLogCapture()
    const app = HttpRouter.serve(routes(probe), { disableListenLog: true, disableLogger: true }).pipe(
      Layer.provideMerge(
        EffectHttpAdapter.layer({ host: "127.0.0.1", port: 0, shutdownTimeout: 2000, ...config })
      ),
      Layer.provide(logs.layer)
    )
    const context = yield* Layer.build(app)
    const address = Context.get(context, HttpServer.HttpServer).address
    if (address._tag === "UnixPathAddress") throw new Error("not a TCP server")
    return { port: address.port, probe, logs: logs.lines }
  })

/** One request on a fresh connection. */
const request = (port: number, bytes: string | Buffer, options?: RawClient.ReadOptions) =>
  Effect.gen(function*() {
    const client = yield* RawClient.connect(port)
    yield* client.write(bytes)
    return yield* client.readResponse(options)
  })

describe("EffectHttpAdapter: an HttpRouter app on our engine", () => {
  it.live("GET routes and path params; the request's url, method, headers, cookies, address", () =>
    Effect.gen(function*() {
      const { port } = yield* serveApp()
      const hello = yield* request(port, RawClient.get("/hello"))
      expect([hello.status, hello.text]).toEqual([200, "Hello world"])
      expect(hello.header("content-type")).toBe("text/plain")

      const user = yield* request(
        port,
        RawClient.get("/users/42?x=1", "X-Custom: yes", "Cookie: a=1; b=two", "Cookie: c=3")
      )
      expect(user.status).toBe(200)
      expect(user.json()).toEqual({
        id: "42",
        method: "GET",
        url: "/users/42?x=1",
        originalUrl: "http://127.0.0.1/users/42?x=1",
        custom: "yes",
        cookies: { a: "1", b: "two", c: "3" },
        remoteAddress: "127.0.0.1",
        protocol: "http"
      })
    }))

  it.live("a constant response answered again and again (kept converted) gives the same answer each time, HEAD included", () =>
    Effect.gen(function*() {
      const { port } = yield* serveApp()
      const client = yield* RawClient.connect(port)
      const paths = ["/hello", "/hello", "/cookies", "/cookies", "/no-content", "/no-content", "/hello"]
      const methods = ["GET", "GET", "HEAD", "GET"]
      const answers: Array<string> = []
      for (const path of paths) {
        for (const method of methods) {
          yield* client.write(`${method} ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
          const response = yield* client.readResponse({ head: method === "HEAD" })
          const fields = response.headers.filter(([name]) => name.toLowerCase() !== "date").map(([n, v]) => `${n}: ${v}`)
          answers.push(`${method} ${path} ${response.status} [${fields.join("; ")}] ${response.text}`)
        }
      }
      const expected = (path: string, method: string) => {
        if (path === "/no-content") return `${method} ${path} 204 [content-type: text/plain] `
        if (path === "/hello") {
          return `${method} ${path} 200 [content-type: text/plain; Content-Length: 11] ${method === "HEAD" ? "" : "Hello world"}`
        }
        const cookies = "set-cookie: session=abc123; Path=/; HttpOnly; set-cookie: theme=dark"
        return `${method} ${path} 200 [content-type: text/plain; ${cookies}; Content-Length: 11] ${method === "HEAD" ? "" : "cookies set"}`
      }
      expect(answers).toEqual(paths.flatMap((path) => methods.map((method) => expected(path, method))))
    }))

  it.live("an absolute-form target: url is its path and query, originalUrl the target", () =>
    Effect.gen(function*() {
      const { port } = yield* serveApp()
      const user = yield* request(port, "GET http://example.com:8080/users/7?q=1 HTTP/1.1\r\nHost: other\r\n\r\n")
      expect(user.status).toBe(200)
      expect(user.json()).toMatchObject({
        id: "7",
        url: "/users/7?q=1",
        originalUrl: "http://example.com:8080/users/7?q=1"
      })
    }))

  it.live("POST with a JSON body decoded by schemaBodyJson; a body that does not decode is 400", () =>
    Effect.gen(function*() {
      const { port } = yield* serveApp()
      const created = yield* request(
        port,
        RawClient.withBody("POST", "/people", JSON.stringify({ name: "Ada", age: 36 }), "Content-Type: application/json")
      )
      expect(created.status).toBe(201)
      expect(created.json()).toEqual({ greeting: "Hello Ada", nextAge: 37 })

      const notJson = yield* request(port, RawClient.withBody("POST", "/people", "{nope"))
      expect(notJson.status).toBe(400)
      const wrongShape = yield* request(port, RawClient.withBody("POST", "/people", JSON.stringify({ name: 1 })))
      expect(wrongShape.status).toBe(400)
    }))

  it.live("a failing route is 500, a defect too; the connection stays usable", () =>
    Effect.gen(function*() {
      const { port } = yield* serveApp()
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/fail"))
      expect((yield* client.readResponse()).status).toBe(500)
      yield* client.write(RawClient.get("/die"))
      expect((yield* client.readResponse()).status).toBe(500)
      yield* client.write(RawClient.get("/hello"))
      expect((yield* client.readResponse()).text).toBe("Hello world")
    }))

  it.live("an unknown route is 404, a known path with another method too", () =>
    Effect.gen(function*() {
      const { port } = yield* serveApp()
      expect((yield* request(port, RawClient.get("/nowhere"))).status).toBe(404)
      expect((yield* request(port, RawClient.withBody("DELETE", "/hello", ""))).status).toBe(404)
    }))

  it.live("a streaming response is sent chunked, piece by piece", () =>
    Effect.gen(function*() {
      const { port } = yield* serveApp()
      const response = yield* request(port, RawClient.get("/stream"))
      expect(response.status).toBe(200)
      expect(response.framing).toBe("chunked")
      expect(response.text).toBe("one two three")
      expect(response.chunkSizes).toEqual([4, 4, 5])
      expect(response.header("content-type")).toBe("text/plain")
    }))

  it.live("a streaming response keeps the request's Scope open until the stream ends", () =>
    Effect.gen(function*() {
      const { port, probe } = yield* serveApp()
      const response = yield* request(port, RawClient.get("/scoped-stream"))
      expect(response.text).toBe("ab")
      yield* RawClient.eventually(() => probe.events.length >= 3)
      expect(probe.events).toEqual(["sent a", "sent b", "request scope closed"])
    }))

  it.live("HEAD on a streaming route: the head only, the stream is not run", () =>
    Effect.gen(function*() {
      const { port, probe } = yield* serveApp()
      // HttpRouter routes HEAD to GET routes. A GET pipelined behind it is
      // answered next: nothing of a body came between.
      const client = yield* RawClient.connect(port)
      yield* client.write("HEAD /scoped-stream HTTP/1.1\r\nHost: x\r\n\r\n" + RawClient.get("/hello"))
      const response = yield* client.readResponse({ head: true })
      expect(response.status).toBe(200)
      expect(response.body.length).toBe(0)
      expect((yield* client.readResponse()).text).toBe("Hello world")
      yield* RawClient.eventually(() => probe.events.length >= 1)
      expect(probe.events).toEqual(["request scope closed"])
    }))

  it.live("cookies the app sets arrive as one Set-Cookie line each", () =>
    Effect.gen(function*() {
      const { port } = yield* serveApp()
      const response = yield* request(port, RawClient.get("/cookies"))
      expect(response.status).toBe(200)
      expect(response.headerAll("set-cookie")).toEqual(["session=abc123; Path=/; HttpOnly", "theme=dark"])
    }))

  it.live("a body over maxBodySize is 413 (declared length) and the connection closes", () =>
    Effect.gen(function*() {
      const { port } = yield* serveApp({ maxBodySize: 1024 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("POST", "/upload", Buffer.alloc(2048, 0x61)))
      const response = yield* client.readResponse()
      expect(response.status).toBe(413)
      expect(response.header("connection")).toBe("close")
      expect((yield* client.readUntilClose(2000)).length).toBe(0)

      const fits = yield* request(port, RawClient.withBody("POST", "/upload", Buffer.alloc(1000, 0x61)))
      expect(fits.json()).toEqual({ received: 1000 })
    }))

  it.live("a chunked body growing past maxBodySize while streamed is 413", () =>
    Effect.gen(function*() {
      const { port } = yield* serveApp({ maxBodySize: 1024 })
      const client = yield* RawClient.connect(port)
      const piece = "a".repeat(600)
      yield* client.write(
        `POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n${piece}\r\n258\r\n${piece}\r\n0\r\n\r\n`
      )
      expect((yield* client.readResponse()).status).toBe(413)
    }))

  it.live("HttpIncomingMessage.MaxBodySize lowers the server's limit for a route", () =>
    Effect.gen(function*() {
      const { port } = yield* serveApp()
      expect((yield* request(port, RawClient.withBody("POST", "/upload-small", "12345678"))).text).toBe("12345678")
      expect((yield* request(port, RawClient.withBody("POST", "/upload-small", "123456789"))).status).toBe(413)
    }))

  it.live("the body as a stream, as form parameters, as multipart parts", () =>
    Effect.gen(function*() {
      const { port } = yield* serveApp({ chunkSize: 1000 })
      const counted = yield* request(port, RawClient.withBody("POST", "/count", Buffer.alloc(2500, 0x62)))
      expect(counted.json()).toEqual({ bytes: 2500, pieces: 3 })

      const form = yield* request(
        port,
        RawClient.withBody("POST", "/form", "a=1&b=two+words&a=3", "Content-Type: application/x-www-form-urlencoded")
      )
      expect(form.json()).toEqual([["a", "1"], ["b", "two words"], ["a", "3"]])

      const { body: multipart, contentType } = EffectRoutes.multipartUpload
      const parts = yield* request(port, RawClient.withBody("POST", "/multipart", multipart, contentType))
      expect(parts.json()).toEqual(["title=hello", "file:a.txt:10"])
    }))

  it.live("FormData, Raw bytes and Raw Node Readable bodies; 204 drops the body", () =>
    Effect.gen(function*() {
      const { port } = yield* serveApp()
      const formData = yield* request(port, RawClient.get("/formdata"))
      expect(formData.status).toBe(200)
      expect(formData.header("content-type")).toMatch(/^multipart\/form-data; boundary=/)
      expect(formData.text).toContain(`name="greeting"\r\n\r\nhello\r\n`)

      expect((yield* request(port, RawClient.get("/raw-bytes"))).text).toBe("raw bytes")
      expect((yield* request(port, RawClient.get("/raw-readable"))).text).toBe("node readable")

      // The next response on the connection follows the 204 head at once.
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/no-content") + RawClient.get("/hello"))
      const noContent = yield* client.readResponse()
      expect(noContent.status).toBe(204)
      expect(noContent.body.length).toBe(0)
      expect((yield* client.readResponse()).text).toBe("Hello world")
    }))

  it.live("a response the engine cannot send is 500, logged; a body shorter than its length cuts the connection", () =>
    Effect.gen(function*() {
      const { port, logs } = yield* serveApp()
      expect((yield* request(port, RawClient.get("/bad-status"))).status).toBe(500)
      expect(logs.some((line) => line.cause.includes("invalid final response status: 101"))).toBe(true)

      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/wrong-length"))
      const received = (yield* client.readUntilClose(2000)).toString("latin1")
      expect(client.isClosed).toBe(true)
      expect(received).toContain("Content-Length: 100")
      expect(received.endsWith("short")).toBe(true)
    }))

  it.live("upgrade of a request that did not ask to switch protocols fails (400); source is the engine's request; modify keeps it", () =>
    Effect.gen(function*() {
      const { port } = yield* serveApp()
      expect((yield* request(port, RawClient.get("/upgrade"))).status).toBe(400)
      const source = yield* request(port, RawClient.get("/source?x"))
      expect(source.json()).toEqual({ sourcePath: "/source", modifiedUrl: "/elsewhere", sameBody: true })
    }))

  it.live("upgradeWith another protocol: 101 with the route's headers, then the raw connection as a Socket", () =>
    Effect.gen(function*() {
      const { port } = yield* serveApp()
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/raw-upgrade", "Upgrade: shout", "Connection: Upgrade") + "quiet words")
      const response = yield* client.readResponse()
      expect([response.status, response.header("upgrade"), response.header("x-greeting")]).toEqual([101, "shout", "hi"])
      expect((yield* client.readUntil("WORDS")).toString()).toBe("QUIET WORDS")
      expect(yield* client.closesWithin(2000)).toBe(true)
    }))

  it.live("WebSocket over TLS (wss://)", () =>
    Effect.gen(function*() {
      const { port } = yield* serveApp({ ssl: makeSelfSignedCert() })
      const ws = yield* WsClient.connect(`wss://127.0.0.1:${port}/ws-echo`)
      expect(yield* ws.roundTrip("over tls")).toEqual({ data: "over tls", binary: false })
      expect(yield* ws.close(1000)).toBe(1000)
    }))

  it.live("a client that goes away interrupts its route, as a client abort (effect/http's 499)", () =>
    Effect.gen(function*() {
      const { port, probe } = yield* serveApp()
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/hang"))
      yield* RawClient.sleepReal(30)
      client.socket.destroy()
      const clientAborted = yield* Deferred.await(probe.hangInterrupted).pipe(Effect.timeout("2 seconds"))
      expect(clientAborted).toBe(true)
    }))

  it.live("the server closes with its Scope, gracefully: the request in flight is answered", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { port, probe } = yield* Scope.provide(scope)(serveApp({ shutdownTimeout: 5000 }))
      const busy = yield* RawClient.connect(port)
      yield* busy.write(RawClient.get("/slow"))
      yield* Deferred.await(probe.slowStarted)

      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      const response = yield* busy.readResponse()
      expect([response.status, response.text]).toEqual([200, "done"])
      expect(response.header("connection")).toBe("close")
      yield* Fiber.join(closing)
      const refused = yield* RawClient.tryConnect(port)
      expect((refused as NodeJS.ErrnoException).code).toBe("ECONNREFUSED")
    }))
})

describe("EffectHttpAdapter.makeHandler with HTTPServer.listen", () => {
  it.live("an effect/http app as a plain engine handler", () =>
    Effect.gen(function*() {
      const app = Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const body = yield* request.text
        return HttpServerResponse.text(`${request.method} ${request.url} ${body}`)
      })
      const handler = yield* EffectHttpAdapter.makeHandler(app)
      const server = yield* HTTPServer.listen(handler, { host: "127.0.0.1", port: 0, shutdownTimeout: 2000 })
      const port = server.address._tag === "TcpAddress" ? server.address.port : 0
      const response = yield* request(port, RawClient.withBody("PUT", "/things?id=1", "payload"))
      expect([response.status, response.text]).toEqual([200, "PUT /things?id=1 payload"])
    }))

  it.live("requests before an app is served are answered 503", () =>
    Effect.gen(function*() {
      const server = yield* Layer.build(EffectHttpAdapter.layerServer({ host: "127.0.0.1", port: 0 }))
      const address = Context.get(server, HttpServer.HttpServer).address
      const port = address._tag === "UnixPathAddress" ? 0 : address.port
      expect((yield* request(port, RawClient.get("/"))).status).toBe(503)
    }))

  it.live("a body timeout is answered 408, following the engine's table", () =>
    Effect.gen(function*() {
      const app = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
        Effect.map(request.text, (text) => HttpServerResponse.text(text)))
      const handler = yield* EffectHttpAdapter.makeHandler(app)
      const server = yield* HTTPServer.listen(handler, {
        host: "127.0.0.1",
        port: 0,
        shutdownTimeout: 2000,
        bodyTimeout: 0.1
      })
      const port = server.address._tag === "TcpAddress" ? server.address.port : 0
      const client = yield* RawClient.connect(port)
      yield* client.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
      expect((yield* client.readResponse()).status).toBe(408)
    }))
})

describe("EffectHttpAdapter: an HttpApi app", () => {
  const Api = HttpApi.make("Api").add(
    HttpApiGroup.make("users").add(
      HttpApiEndpoint.get("getUser", "/users/:id", {
        params: { id: Schema.String },
        success: Schema.Struct({ id: Schema.String, name: Schema.String })
      }),
      HttpApiEndpoint.post("createUser", "/users", {
        payload: Schema.Struct({ name: Schema.String }),
        success: Schema.Struct({ id: Schema.String, name: Schema.String })
      })
    )
  )
  const UsersLive = HttpApiBuilder.group(Api, "users", (handlers) =>
    handlers
      .handle("getUser", ({ params }) => Effect.succeed({ id: params.id, name: `user ${params.id}` }))
      .handle("createUser", ({ payload }) => Effect.succeed({ id: "new", name: payload.name })))

  it.live("decodes params and payloads, encodes successes, rejects bad payloads", () =>
    Effect.gen(function*() {
      const app = HttpRouter.serve(HttpApiBuilder.layer(Api).pipe(Layer.provide(UsersLive)), {
        disableListenLog: true,
        disableLogger: true
      }).pipe(Layer.provideMerge(EffectHttpAdapter.layer({ host: "127.0.0.1", port: 0, shutdownTimeout: 2000 })))
      const context = yield* Layer.build(app)
      const address = Context.get(context, HttpServer.HttpServer).address
      const port = address._tag === "UnixPathAddress" ? 0 : address.port

      const user = yield* request(port, RawClient.get("/users/9"))
      expect([user.status, user.json()]).toEqual([200, { id: "9", name: "user 9" }])
      const created = yield* request(
        port,
        RawClient.withBody("POST", "/users", JSON.stringify({ name: "Ada" }), "Content-Type: application/json")
      )
      expect([created.status, created.json()]).toEqual([200, { id: "new", name: "Ada" }])
      const bad = yield* request(
        port,
        RawClient.withBody("POST", "/users", JSON.stringify({ name: 1 }), "Content-Type: application/json")
      )
      expect(bad.status).toBe(400)
    }))
})
