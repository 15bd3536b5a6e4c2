/**
 * The test layers: `HTTPServer.layerTest` and `EffectHttpAdapter.layerTest`
 * give a server on a free loopback port and an `HttpClient` with relative
 * URLs going to it; closing the layer's scope frees the port and leaves no
 * socket or timer behind.
 */
import * as Net from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as EffectHttpAdapter from "../../src/EffectHttp/EffectHttpAdapter.ts"
import * as HTTPServer from "../../src/Server/HTTPServer.ts"
import * as Response from "../../src/Response/Response.ts"
import { portOf } from "../support/TestServer.ts"

const app: HTTPServer.Handler = (request) =>
  Effect.succeed(
    request.path === "/hello"
      ? Response.text("Hello world")
      : Response.text(`${request.method} ${request.uri}`, { status: 404 })
  )

const routes = HttpRouter.add("GET", "/hello", HttpServerResponse.text("Hello from the router"))
const adapterApp = HttpRouter.serve(routes, { disableListenLog: true, disableLogger: true })

/** The kinds of handle keeping the process alive, counted. */
const activeResources = (): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1)
  return counts
}

/** The handles open now beyond `baseline`, by kind (empty when nothing is left over). */
const beyond = (baseline: Map<string, number>): Record<string, number> => {
  const extra: Record<string, number> = {}
  for (const [kind, count] of activeResources()) {
    const more = count - (baseline.get(kind) ?? 0)
    if (more > 0) extra[kind] = more
  }
  return extra
}

/**
 * The handles left beyond `baseline` once things settle (up to 2 s: closing
 * a socket takes a few turns of the event loop).
 */
const leftOver = (baseline: Map<string, number>) =>
  Effect.promise(async () => {
    const deadline = Date.now() + 2000
    while (Object.keys(beyond(baseline)).length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    return beyond(baseline)
  })

/** Whether something still listens on the port (a connection is accepted). */
const isListening = (port: number) =>
  Effect.promise(() =>
    new Promise<boolean>((resolve) => {
      const socket = Net.connect(port, "127.0.0.1")
      socket.once("connect", () => {
        socket.destroy()
        resolve(true)
      })
      socket.once("error", () => resolve(false))
    })
  )

// First, while no other server of this file is open: the process's handles are the baseline.
describe("what a test layer leaves behind", () => {
  it.live("HTTPServer.layerTest: closing its scope frees the port and leaves no socket or timer", () =>
    Effect.gen(function*() {
      const baseline = activeResources()
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(HTTPServer.layerTest(app, { idleConnectionTimeout: "1 hour" }), scope)
      const port = yield* Effect.provide(
        Effect.gen(function*() {
          // A few requests, some in parallel, so the client pools connections.
          const responses = yield* Effect.all(
            Array.from({ length: 4 }, () => Effect.flatMap(HttpClient.get("/hello"), (response) => response.text)),
            { concurrency: "unbounded" }
          )
          expect(responses).toEqual(Array(4).fill("Hello world"))
          const server = yield* HTTPServer.HTTPServer
          expect(server.connectionCount()).toBeGreaterThan(0)
          return portOf(server)
        }),
        context
      )
      expect(yield* isListening(port)).toBe(true)
      expect(beyond(baseline)).toHaveProperty("TCPServerWrap")
      yield* Scope.close(scope, Exit.void)
      expect(yield* isListening(port)).toBe(false)
      expect(yield* leftOver(baseline)).toEqual({})
    }))

  it.live("EffectHttpAdapter.layerTest: closing its scope frees the port and leaves no socket or timer", () =>
    Effect.gen(function*() {
      const baseline = activeResources()
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(adapterApp.pipe(Layer.provideMerge(EffectHttpAdapter.layerTest())), scope)
      const port = yield* Effect.provide(
        Effect.gen(function*() {
          const texts = yield* Effect.all(
            Array.from({ length: 3 }, () => Effect.flatMap(HttpClient.get("/hello"), (response) => response.text)),
            { concurrency: "unbounded" }
          )
          expect(texts).toEqual(Array(3).fill("Hello from the router"))
          const address = (yield* HttpServer.HttpServer).address
          return address._tag === "UnixPathAddress" ? -1 : address.port
        }),
        context
      )
      expect(yield* isListening(port)).toBe(true)
      expect(beyond(baseline)).toHaveProperty("TCPServerWrap")
      yield* Scope.close(scope, Exit.void)
      expect(yield* isListening(port)).toBe(false)
      expect(yield* leftOver(baseline)).toEqual({})
    }))
})

describe("HTTPServer.layerTest", () => {
  it.layer(HTTPServer.layerTest(app))("relative URLs", (it) => {
    it.effect("go to the server under test", () =>
      Effect.gen(function*() {
        const server = yield* HTTPServer.HTTPServer
        expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
        expect(portOf(server)).toBeGreaterThan(0)
        const response = yield* HttpClient.get("/hello")
        expect(response.status).toBe(200)
        expect(yield* response.text).toBe("Hello world")
        const missing = yield* HttpClient.get("/nope?a=1")
        expect(missing.status).toBe(404)
        expect(yield* missing.text).toBe("GET /nope?a=1")
      }))
  })

  it.effect("a bad config fails the layer with a ConfigError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Layer.build(HTTPServer.layerTest(app, { maxBodySize: -1 })))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(exit)).toContain("maxBodySize")
    }))
})

describe("EffectHttpAdapter.layerTest", () => {
  it.layer(adapterApp.pipe(Layer.provideMerge(EffectHttpAdapter.layerTest())))("relative URLs", (it) => {
    it.effect("go to the router under test", () =>
      Effect.gen(function*() {
        const response = yield* HttpClient.get("/hello")
        expect(response.status).toBe(200)
        expect(yield* response.text).toBe("Hello from the router")
        expect((yield* HttpClient.get("/missing")).status).toBe(404)
      }))
  })

})
