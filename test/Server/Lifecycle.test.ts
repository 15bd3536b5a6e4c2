/**
 * The server's life: graceful shutdown when its Scope closes, `stop`,
 * `closeAllConnections`, the Layer, and the connection timeouts (Tornado's
 * IdleTimeoutTest, header timeouts, close_all_connections).
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Scope, Stream } from "effect"
import { handler as demoHandler } from "../../src/cli/DemoApp.ts"
import type { HTTPServerRequest } from "../../src/Request/HTTPServerRequest.ts"
import * as Response from "../../src/Response/Response.ts"
import * as HTTPServer from "../../src/Server/HTTPServer.ts"
import * as RawClient from "../support/RawClient.ts"
import { serve, serveDemo } from "../support/TestServer.ts"

const expectRefused = (port: number) =>
  Effect.gen(function*() {
    const outcome = yield* RawClient.tryConnect(port)
    expect(outcome).toBeInstanceOf(Error)
    expect((outcome as NodeJS.ErrnoException).code).toBe("ECONNREFUSED")
  })

const expectHello = (client: RawClient.RawConnection) =>
  Effect.gen(function*() {
    yield* client.write(RawClient.get("/"))
    const response = yield* client.readResponse()
    expect([response.status, response.text]).toEqual([200, "Hello world"])
    return response
  })

/** A handler that never answers `/hang` and records its interruption; `ok` elsewhere. */
const hangingHandler = (interrupted: Deferred.Deferred<void>, started: Deferred.Deferred<void>) =>
(request: HTTPServerRequest) =>
  request.path === "/hang"
    ? Effect.flatMap(Deferred.succeed(started, undefined), () => Effect.never).pipe(
      Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined)),
      Effect.as(Response.text("never"))
    )
    : Effect.succeed(Response.text("Hello world"))

describe("graceful shutdown (the Scope closes)", () => {
  it.live("an in-flight request completes with 200; idle connections close; new connections are refused", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { port, server } = yield* Scope.provide(scope)(serveDemo({ shutdownTimeout: 5000 }))
      const idle = yield* RawClient.connect(port)
      yield* expectHello(idle)
      const busy = yield* RawClient.connect(port)
      yield* busy.write(RawClient.get("/slow?ms=300"))
      yield* RawClient.sleepReal(50)

      const started = Date.now()
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      // Idle keep-alive connections are closed at once.
      expect((yield* idle.readUntilClose(200)).length).toBe(0)
      // No new connection is accepted.
      yield* expectRefused(port)
      // The request in flight is answered, and that connection closes after it.
      const response = yield* busy.readResponse()
      expect([response.status, response.text]).toEqual([200, "done"])
      expect(response.header("Connection")).toBe("close")
      expect((yield* busy.readUntilClose()).length).toBe(0)
      yield* Fiber.join(closing)
      expect(Date.now() - started).toBeLessThan(2000)
      expect(server.connectionCount()).toBe(0)
    }))

  it.live("closing waits for in-flight requests only up to shutdownTimeout, then interrupts them", () =>
    Effect.gen(function*() {
      const interrupted = yield* Deferred.make<void>()
      const hanging = yield* Deferred.make<void>()
      const scope = yield* Scope.make()
      const { port } = yield* Scope.provide(scope)(
        serve(hangingHandler(interrupted, hanging), { shutdownTimeout: 150 })
      )
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/hang"))
      yield* Deferred.await(hanging)
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      const elapsed = Date.now() - started
      expect(elapsed).toBeGreaterThanOrEqual(140)
      expect(elapsed).toBeLessThan(1500)
      expect(yield* Deferred.isDone(interrupted)).toBe(true)
      expect(RawClient.parseAllResponses(yield* client.readUntilClose())).toEqual([])
    }))

  it.live("with nothing in flight, closing is immediate", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { port } = yield* Scope.provide(scope)(serveDemo({ shutdownTimeout: 5000 }))
      const client = yield* RawClient.connect(port)
      yield* expectHello(client)
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      expect(Date.now() - started).toBeLessThan(500)
      expect((yield* client.readUntilClose(500)).length).toBe(0)
      yield* expectRefused(port)
    }))
})

describe("shutdown serves what came whole before it, and is not held by slow clients", () => {
  it.live("a connection holding part of a head (a slow client) closes at once: it has nothing in flight", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { port, server } = yield* Scope.provide(scope)(serveDemo({ shutdownTimeout: 5000 }))
      const slow = yield* RawClient.connect(port)
      yield* slow.write("GET /slow?ms=10 HTTP/1.1\r\nHost: x\r\nX-Still-Typing:")
      yield* RawClient.sleepReal(50)
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      expect(Date.now() - started).toBeLessThan(1000)
      expect((yield* slow.readUntilClose(500)).length).toBe(0)
      expect(server.connectionCount()).toBe(0)
    }))

  it.live("pipelined requests received before shutdown are all answered, in order, the last with Connection: close", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { port } = yield* Scope.provide(scope)(serveDemo({ shutdownTimeout: 5000 }))
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/slow?ms=300") + RawClient.get("/slow?ms=50") + RawClient.get("/"))
      yield* RawClient.sleepReal(50)
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      const responses = RawClient.parseAllResponses(yield* client.readUntilClose(3000))
      expect(responses.map((r) => [r.status, r.text])).toEqual([[200, "done"], [200, "done"], [200, "Hello world"]])
      expect(responses.map((r) => r.header("Connection"))).toEqual([undefined, undefined, "close"])
      yield* Fiber.join(closing)
    }))

  it.live("a request that arrives after shutdown began is not read: the one in flight is the last", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { port } = yield* Scope.provide(scope)(serveDemo({ shutdownTimeout: 5000 }))
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/slow?ms=300"))
      yield* RawClient.sleepReal(50)
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* RawClient.sleepReal(50)
      yield* client.write(RawClient.get("/"))
      const responses = RawClient.parseAllResponses(yield* client.readUntilClose(3000))
      expect(responses.map((r) => [r.status, r.text, r.header("Connection")])).toEqual([[200, "done", "close"]])
      yield* Fiber.join(closing)
    }))

  it.live("a streamed response that ends after shutdown began closes its connection when it ends", () =>
    Effect.gen(function*() {
      const encoder = new TextEncoder()
      const scope = yield* Scope.make()
      const { port } = yield* Scope.provide(scope)(serve(() =>
        Effect.succeed(Response.stream(Stream.fromIterable(["one ", "two ", "three"]).pipe(
          Stream.mapEffect((piece) => Effect.as(RawClient.sleepReal(100), encoder.encode(piece)))
        )))
      , { shutdownTimeout: 5000 }))
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/"))
      const first = yield* client.readUntil("one ")
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      // The scope closed when the stream ended, not at the shutdown timeout.
      expect(Date.now() - started).toBeLessThan(1500)
      const rest = yield* client.readUntilClose(1000)
      const responses = RawClient.parseAllResponses(Buffer.concat([first, rest]))
      expect(responses.map((r) => [r.status, r.text])).toEqual([[200, "one two three"]])
    }))
})

/**
 * A handler whose interruption takes a while to clean up (as releasing a
 * pooled resource may): `cleaned` completes when its finalizer is done.
 */
const slowCleanupHandler = (started: Deferred.Deferred<void>, cleaned: Deferred.Deferred<void>) =>
(_: HTTPServerRequest) =>
  Effect.flatMap(Deferred.succeed(started, undefined), () => Effect.never).pipe(
    Effect.onInterrupt(() => Effect.flatMap(RawClient.sleepReal(50), () => Deferred.succeed(cleaned, undefined))),
    Effect.as(Response.text("never"))
  )

describe("interrupted handlers are finalized before the server lets go", () => {
  it.live("Scope close past shutdownTimeout returns after the handlers' finalizers ran", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const cleaned = yield* Deferred.make<void>()
      const scope = yield* Scope.make()
      const { port } = yield* Scope.provide(scope)(serve(slowCleanupHandler(started, cleaned), { shutdownTimeout: 50 }))
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/"))
      yield* Deferred.await(started)
      yield* Scope.close(scope, Exit.void)
      expect(yield* Deferred.isDone(cleaned)).toBe(true)
    }))

  it.live("closeAllConnections returns after the handlers' finalizers ran", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const cleaned = yield* Deferred.make<void>()
      const { port, server } = yield* serve(slowCleanupHandler(started, cleaned))
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/"))
      yield* Deferred.await(started)
      yield* RawClient.sleepReal(10)
      yield* server.closeAllConnections
      expect(yield* Deferred.isDone(cleaned)).toBe(true)
    }))

  it.live("a handler that closes all connections itself is interrupted with its connection", () =>
    Effect.gen(function*() {
      const interrupted = yield* Deferred.make<void>()
      let running: HTTPServer.RunningServer | undefined
      const handler = (_: HTTPServerRequest) =>
        Effect.gen(function*() {
          // An admin route: drop every client, this one included.
          yield* (running as HTTPServer.RunningServer).closeAllConnections
          return yield* Effect.never
        }).pipe(
          Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined)),
          Effect.as(Response.text("never"))
        )
      const { port, server } = yield* serve(handler, { shutdownTimeout: 100 })
      running = server
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/"))
      yield* client.readUntilClose(500)
      const result = yield* Effect.timeoutOption(Deferred.await(interrupted), 500)
      expect(result._tag).toBe("Some")
    }))
})

describe("stop and closeAllConnections", () => {
  it.live("stop: no new connection is accepted; open ones are still served", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveDemo()
      const open = yield* RawClient.connect(port)
      yield* expectHello(open)
      yield* server.stop
      yield* expectRefused(port)
      yield* expectHello(open)
      expect(server.connectionCount()).toBe(1)
    }))

  it.live("closeAllConnections closes idle and busy connections, interrupting handlers; the server still listens", () =>
    Effect.gen(function*() {
      const interrupted = yield* Deferred.make<void>()
      const hanging = yield* Deferred.make<void>()
      const { port, server } = yield* serve(hangingHandler(interrupted, hanging))
      const idle = yield* RawClient.connect(port)
      yield* expectHello(idle)
      const busy = yield* RawClient.connect(port)
      yield* busy.write(RawClient.get("/hang"))
      yield* Deferred.await(hanging)
      yield* RawClient.sleepReal(10) // let the connection see its handler under way
      expect(server.connectionCount()).toBe(2)

      yield* server.closeAllConnections
      expect(server.connectionCount()).toBe(0)
      yield* Effect.timeout(Deferred.await(interrupted), 500)
      yield* idle.readUntilClose(500)
      yield* busy.readUntilClose(500)

      const again = yield* RawClient.connect(port)
      yield* expectHello(again)
    }))

  it.live("connectionCount follows connections opening and closing", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveDemo()
      expect(server.connectionCount()).toBe(0)
      const a = yield* RawClient.connect(port)
      const b = yield* RawClient.connect(port)
      yield* expectHello(a)
      yield* expectHello(b)
      expect(server.connectionCount()).toBe(2)
      yield* a.destroy()
      expect(yield* RawClient.eventually(() => server.connectionCount() === 1)).toBe(true)
    }))
})

describe("HTTPServer.layer", () => {
  it.live("provides the HTTPServer service with its address; releasing the Layer stops the server", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Scope.provide(scope)(
        Layer.build(HTTPServer.layer(demoHandler, { host: "127.0.0.1", port: 0 }))
      )
      const server = Context.get(context, HTTPServer.HTTPServer)
      expect(server.address._tag).toBe("TcpAddress")
      const port = server.address._tag === "TcpAddress" ? server.address.port : -1
      expect(server.address).toEqual({ _tag: "TcpAddress", hostname: "127.0.0.1", port })
      expect(port).toBeGreaterThan(0)
      expect(server.scheme).toBe("http")
      expect(server.url).toBe(`http://127.0.0.1:${port}`)
      const client = yield* RawClient.connect(port)
      yield* expectHello(client)
      yield* Scope.close(scope, Exit.void)
      yield* expectRefused(port)
    }))

  it.live("an invalid config fails the Layer with a ConfigError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Effect.scoped(Layer.build(HTTPServer.layer(demoHandler, { port: 70000 })))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("ConfigError")
    }))

  it.live("a port in use fails with ListenError", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo()
      const exit = yield* Effect.exit(Effect.scoped(HTTPServer.listen(demoHandler, { host: "127.0.0.1", port })))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("EADDRINUSE")
    }))

  describe("with it.layer", () => {
    it.layer(HTTPServer.layer(demoHandler, { host: "127.0.0.1", port: 0 }))((it) => {
      it.effect("the service is there for every test of the block", () =>
        Effect.gen(function*() {
          const server = yield* HTTPServer.HTTPServer
          if (server.address._tag !== "TcpAddress") throw new Error("expected a TCP address")
          const client = yield* RawClient.connect(server.address.port)
          yield* expectHello(client)
        }))
    })
  })
})

describe("idle timeout", () => {
  it.live("closes a connection that never sends a request", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ idleConnectionTimeout: 100 })
      const started = Date.now()
      const client = yield* RawClient.connect(port)
      expect((yield* client.readUntilClose(1500)).length).toBe(0)
      expect(Date.now() - started).toBeGreaterThanOrEqual(90)
    }))

  it.live("closes a keep-alive connection idle after use", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ idleConnectionTimeout: 100 })
      const client = yield* RawClient.connect(port)
      yield* expectHello(client)
      yield* expectHello(client)
      const idleSince = Date.now()
      expect(yield* client.closesWithin(40)).toBe(false)
      expect((yield* client.readUntilClose(1500)).length).toBe(0)
      expect(Date.now() - idleSince).toBeGreaterThanOrEqual(90)
    }))

  it.live("does not cut a request whose handler takes longer than the idle timeout", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ idleConnectionTimeout: 100 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/slow?ms=250"))
      const response = yield* client.readResponse()
      expect([response.status, response.text]).toEqual([200, "done"])
    }))

  it.live("each request restarts the idle clock", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ idleConnectionTimeout: 150 })
      const client = yield* RawClient.connect(port)
      for (let i = 0; i < 4; i++) {
        yield* RawClient.sleepReal(80)
        yield* expectHello(client)
      }
    }))
})

describe("header timeout", () => {
  it.live("closes a connection whose head never completes", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ headerTimeout: 200 })
      const client = yield* RawClient.connect(port)
      const started = Date.now()
      yield* client.write("GET / HTTP/1.1\r\nHost: x\r\n")
      const rest = yield* client.readUntilClose(2000)
      expect(Date.now() - started).toBeGreaterThanOrEqual(190)
      const responses = RawClient.parseAllResponses(rest)
      expect(responses.map((r) => r.status)).toEqual([408])
    }))

  it.live("between requests it runs from the first byte of a head: a kept-alive connection idle past it stays open", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ headerTimeout: 100 })
      const client = yield* RawClient.connect(port)
      yield* expectHello(client)
      expect(yield* client.closesWithin(250)).toBe(false)
      yield* expectHello(client)
      expect(yield* client.closesWithin(250)).toBe(false)
      yield* expectHello(client)
    }))

  it.live("for the first request it runs from the accept: a connection that sends nothing is closed, without an answer", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ headerTimeout: 150 })
      const client = yield* RawClient.connect(port)
      const started = Date.now()
      const rest = yield* client.readUntilClose(2000)
      expect(Date.now() - started).toBeGreaterThanOrEqual(140)
      expect(Date.now() - started).toBeLessThan(1500)
      expect(rest.length).toBe(0)
    }))

  it.live("a head trickling in but complete in time is served", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ headerTimeout: 400 })
      const client = yield* RawClient.connect(port)
      yield* client.writeInPieces(RawClient.get("/hello"), 4, 5)
      const response = yield* client.readResponse()
      expect([response.status, response.text]).toEqual([200, "Hello world"])
    }))

  it.live("does not cut a slow handler", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ headerTimeout: 100 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/slow?ms=250"))
      expect((yield* client.readResponse()).text).toBe("done")
    }))
})
