/**
 * The draining signal of a core server: handlers see their server as the
 * `HTTPServer` service; its `draining` completes when shutdown begins, so a
 * long-lived response can end by itself instead of being cut at
 * `shutdownTimeout`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Schedule, Scope, Stream } from "effect"
import * as Response from "../../src/Response/Response.ts"
import * as HTTPServer from "../../src/Server/HTTPServer.ts"
import * as RawClient from "../support/RawClient.ts"

const encoder = new TextEncoder()

/** `/events`: a tick every 20 ms until the server drains, then `bye`; `/health`: 503 once draining. */
const handler = (request: HTTPServer.Request) =>
  Effect.gen(function*() {
    const server = yield* HTTPServer.HTTPServer
    if (request.path === "/health") {
      return server.isDraining() ? Response.text("draining", { status: 503 }) : Response.text("ok")
    }
    const ticks = Stream.fromSchedule(Schedule.spaced(Duration.millis(20))).pipe(
      Stream.map(() => encoder.encode("tick\n")),
      Stream.interruptWhen(server.draining),
      Stream.concat(Stream.make(encoder.encode("bye\n")))
    )
    return Response.stream(ticks, { contentType: "text/plain" })
  })

describe("the draining signal", () => {
  it.live("a handler's own server is its HTTPServer service; draining completes as its Scope begins to close", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const server = yield* Scope.provide(
        HTTPServer.listen(handler, { host: "127.0.0.1", port: 0, shutdownTimeout: "30 seconds" }),
        scope
      )
      const port = server.address._tag === "TcpAddress" ? server.address.port : 0
      expect(server.isDraining()).toBe(false)
      const health = yield* RawClient.requestOnce(port, RawClient.get("/health"))
      expect([health.status, health.text]).toEqual([200, "ok"])

      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/stream"))
      yield* client.readUntil("tick\n")
      const started = performance.now()
      // Closing the Scope waits for the stream: it ends on the signal, well
      // before the 30 s shutdown timeout.
      yield* Scope.close(scope, Exit.void)
      expect(performance.now() - started).toBeLessThan(2000)
      expect(server.isDraining()).toBe(true)
      expect(yield* Effect.timeoutOption(server.draining, "10 millis")).toEqual(expect.objectContaining({ _tag: "Some" }))
      const rest = (yield* client.readUntilClose(2000)).toString("latin1")
      expect(rest).toMatch(/bye\n\r\n0\r\n\r\n$/)
    }))

  it.live("a request answered after shutdown began sees isDraining (a health check says 503)", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const server = yield* Scope.provide(
        HTTPServer.listen(
          (request: HTTPServer.Request) =>
            request.path === "/slow"
              ? Effect.as(Effect.sleep("300 millis"), Response.text("done"))
              : handler(request),
          { host: "127.0.0.1", port: 0, shutdownTimeout: "5 seconds" }
        ),
        scope
      )
      const port = server.address._tag === "TcpAddress" ? server.address.port : 0
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/slow") + RawClient.get("/health"))
      yield* RawClient.sleepReal(100)
      yield* Scope.close(scope, Exit.void)
      const responses = RawClient.parseAllResponses(yield* client.readUntilClose(2000))
      expect(responses.map((r) => [r.status, r.text])).toEqual([[200, "done"], [503, "draining"]])
    }))

  it.live("with a drainDelay, it serves on that long: new connections too, health 503, every response closing its connection", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const server = yield* Scope.provide(
        HTTPServer.listen(handler, { host: "127.0.0.1", port: 0, drainDelay: "400 millis", shutdownTimeout: "5 seconds" }),
        scope
      )
      const port = server.address._tag === "TcpAddress" ? server.address.port : 0
      // A keep-alive connection open before the shutdown.
      const before = yield* RawClient.connect(port)
      yield* before.write(RawClient.get("/health"))
      const healthy = yield* before.readResponse()
      expect([healthy.status, healthy.header("connection")]).toEqual([200, undefined])

      const started = performance.now()
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* RawClient.sleepReal(50)
      expect(server.isDraining()).toBe(true)
      // Its next request is still served, and closes it.
      yield* before.write(RawClient.get("/health"))
      const last = yield* before.readResponse()
      expect([last.status, last.text, last.header("connection")]).toEqual([503, "draining", "close"])
      expect(yield* before.closesWithin(1000)).toBe(true)
      // A new connection during the delay is accepted and served the same way.
      const during = yield* RawClient.connect(port)
      yield* during.write(RawClient.get("/health"))
      const fresh = yield* during.readResponse()
      expect([fresh.status, fresh.header("connection")]).toEqual([503, "close"])

      yield* Fiber.join(closing)
      expect(performance.now() - started).toBeGreaterThanOrEqual(390)
      expect(yield* RawClient.tryConnect(port)).toBeInstanceOf(Error)
    }))
})
