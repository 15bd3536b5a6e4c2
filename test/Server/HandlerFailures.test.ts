/**
 * What happens when a handler fails, and when the client goes away while a
 * handler runs (Tornado's test_error_logging, KeepAliveTest's cancel tests).
 */
import { describe, expect, it } from "@effect/vitest"
import { Data, Deferred, Effect, Stream } from "effect"
import type { HTTPServerRequest } from "../../src/Request/HTTPServerRequest.ts"
import * as Response from "../../src/Response/Response.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeLogCapture, serve, serveDemo } from "../support/TestServer.ts"

class Boom extends Data.TaggedError("Boom")<{ readonly detail: string }> {}

/** Routes of a handler that fails in every way a handler can. */
const failing = (request: HTTPServerRequest): Effect.Effect<Response.Response, Boom> => {
  switch (request.path) {
    case "/die":
      return Effect.die(new Error("died on purpose"))
    case "/die-later":
      return Effect.flatMap(RawClient.sleepReal(5), () => Effect.die(new Error("died later on purpose")))
    case "/fail":
      return Effect.fail(new Boom({ detail: "failed on purpose" }))
    case "/throw":
      throw new Error("thrown on purpose")
    case "/bad-header":
      return Effect.succeed(Response.text("x", { headers: { "X-Split": "a\r\nSet-Cookie: evil=1" } }))
    case "/bad-json":
      return Effect.map(
        Effect.catchTag(request.json, "InvalidBody", (error) => Effect.fail(error)),
        () => Response.text("parsed")
      ) as Effect.Effect<Response.Response, never>
    case "/stream-fails":
      return Effect.succeed(
        Response.stream(
          Stream.concat(
            Stream.make(new TextEncoder().encode("first piece")),
            Stream.fail(new Boom({ detail: "stream failed on purpose" }))
          )
        )
      )
    default:
      return Effect.succeed(Response.text("ok"))
  }
}

describe("handler failures", () => {
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ["Effect.die", "/die", "died on purpose"],
    ["Effect.die after a while", "/die-later", "died later on purpose"],
    ["Effect.fail with a typed error", "/fail", "Boom"],
    ["a synchronous throw", "/throw", "thrown on purpose"]
  ]
  for (const [name, path, logged] of cases) {
    it.live(`${name}: 500, logged, and the connection serves the next request`, () =>
      Effect.gen(function*() {
        const capture = makeLogCapture()
        yield* Effect.gen(function*() {
          const { port } = yield* serve(failing)
          const client = yield* RawClient.connect(port)
          yield* client.write(RawClient.get(path))
          const response = yield* client.readResponse()
          expect(response.status).toBe(500)
          expect(response.header("Connection")).toBeUndefined()
          expect(response.header("Content-Length")).toBe(String(response.body.length))
          expect(response.text).toBe("500 Internal Server Error") // the error stays in the log
          yield* client.write(RawClient.get("/ok"))
          const next = yield* client.readResponse()
          expect([next.status, next.text]).toEqual([200, "ok"])
        }).pipe(Effect.provide(capture.layer))
        const errors = capture.lines.filter((line) => line.level === "Error")
        expect(errors.length).toBe(1)
        expect(`${errors[0]?.message} ${errors[0]?.cause}`).toContain(logged)
        expect(errors[0]?.annotations).toMatchObject({ method: "GET", uri: path, remoteIp: "127.0.0.1" })
      }))
  }

  it.live("the demo's GET /fail: 500, logged, connection usable", () =>
    Effect.gen(function*() {
      const capture = makeLogCapture()
      yield* Effect.gen(function*() {
        const { port } = yield* serveDemo()
        const client = yield* RawClient.connect(port)
        yield* client.write(RawClient.get("/fail") + RawClient.get("/"))
        expect((yield* client.readResponse()).status).toBe(500)
        const next = yield* client.readResponse()
        expect([next.status, next.text]).toEqual([200, "Hello world"])
      }).pipe(Effect.provide(capture.layer))
      expect(capture.lines.some((line) => line.level === "Error" && line.cause.includes("fails on purpose"))).toBe(
        true
      )
    }))

  it.live("a response header that would split the response: 500, logged, nothing of it sent", () =>
    Effect.gen(function*() {
      const capture = makeLogCapture()
      yield* Effect.gen(function*() {
        const { port } = yield* serve(failing)
        const client = yield* RawClient.connect(port)
        yield* client.write(RawClient.get("/bad-header"))
        const response = yield* client.readResponse()
        expect(response.status).toBe(500)
        expect(response.header("Set-Cookie")).toBeUndefined()
        expect(response.header("X-Split")).toBeUndefined()
      }).pipe(Effect.provide(capture.layer))
      expect(capture.lines.filter((line) => line.level === "Error").length).toBe(1)
    }))

  it.live("an InvalidBody the handler lets through: 400, not logged as an error, connection usable", () =>
    Effect.gen(function*() {
      const capture = makeLogCapture()
      yield* Effect.gen(function*() {
        const { port } = yield* serve(failing)
        const client = yield* RawClient.connect(port)
        yield* client.write(RawClient.withBody("POST", "/bad-json", "{not json"))
        const response = yield* client.readResponse()
        expect(response.status).toBe(400)
        expect(response.header("Connection")).toBeUndefined()
        yield* client.write(RawClient.get("/ok"))
        expect((yield* client.readResponse()).text).toBe("ok")
      }).pipe(Effect.provide(capture.layer))
      expect(capture.lines.filter((line) => line.level === "Error")).toEqual([])
    }))

  it.live("a response stream that fails after its head: the body is cut short, the failure logged", () =>
    Effect.gen(function*() {
      const capture = makeLogCapture()
      yield* Effect.gen(function*() {
        const { port } = yield* serve(failing)
        const client = yield* RawClient.connect(port)
        yield* client.write(RawClient.get("/stream-fails"))
        const head = yield* client.readUntil("\r\n\r\n")
        expect(head.toString("latin1")).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
        expect(head.toString("latin1")).toContain("Transfer-Encoding: chunked")
        const rest = (yield* client.readUntilClose()).toString("latin1")
        // Never the last chunk: the client must not take the body for whole.
        expect(rest).not.toContain("0\r\n\r\n")
      }).pipe(Effect.provide(capture.layer))
      expect(capture.lines.some((line) => line.level === "Error" && line.cause.includes("Boom"))).toBe(true)
    }))
})

describe("the client goes away while a handler runs", () => {
  /** A handler that never answers and records its interruption. */
  const hanging = (interrupted: Deferred.Deferred<void>, started: Deferred.Deferred<void>) => (_: HTTPServerRequest) =>
    Effect.flatMap(Deferred.succeed(started, undefined), () => Effect.never).pipe(
      Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined)),
      Effect.as(Response.text("never"))
    )

  const awaitWithin = (deferred: Deferred.Deferred<void>, millis: number) =>
    Effect.map(Effect.timeoutOption(Deferred.await(deferred), millis), (option) => option._tag === "Some")

  const goingAway: ReadonlyArray<readonly [string, (client: RawClient.RawConnection) => Effect.Effect<void>]> = [
    ["a reset connection", (client) => client.reset()],
    ["a closed connection (FIN)", (client) => client.destroy()]
  ]
  for (const [what, goAway] of goingAway) {
    it.live(`${what} interrupts the handler's fiber`, () =>
      Effect.gen(function*() {
        const interrupted = yield* Deferred.make<void>()
        const started = yield* Deferred.make<void>()
        const { port, server } = yield* serve(hanging(interrupted, started), { shutdownTimeout: 200 })
        const client = yield* RawClient.connect(port)
        yield* client.write(RawClient.get("/"))
        yield* Deferred.await(started)
        yield* goAway(client)
        expect(yield* awaitWithin(interrupted, 1000)).toBe(true)
        expect(yield* RawClient.eventually(() => server.connectionCount() === 0)).toBe(true)
      }))
  }

  it.live("a client gone mid-body: the handler reading it stops (interrupted or ConnectionClosed)", () =>
    Effect.gen(function*() {
      const outcome = yield* Deferred.make<string>()
      const started = yield* Deferred.make<void>()
      const handler = (request: HTTPServerRequest) =>
        Effect.flatMap(Deferred.succeed(started, undefined), () => request.body).pipe(
          Effect.as(Response.text("read")),
          Effect.tapError((error) => Deferred.succeed(outcome, error._tag)),
          Effect.onInterrupt(() => Deferred.succeed(outcome, "interrupted"))
        )
      const { port } = yield* serve(handler, { shutdownTimeout: 200 })
      const client = yield* RawClient.connect(port)
      yield* client.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
      yield* Deferred.await(started)
      yield* RawClient.sleepReal(10)
      yield* client.destroy()
      const result = yield* Effect.timeoutOption(Deferred.await(outcome), 1000)
      expect(result._tag === "Some" ? result.value : "still running").toMatch(/^(interrupted|ConnectionClosed)$/)
    }))

  it.live("a client gone during a slow handler: its fiber is interrupted, the server serves on", () =>
    Effect.gen(function*() {
      const interrupted = yield* Deferred.make<void>()
      const handler = (request: HTTPServerRequest) =>
        request.path === "/slow"
          ? RawClient.sleepReal(300).pipe(
            Effect.as(Response.text("late")),
            Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
          )
          : Effect.succeed(Response.text("ok"))
      const { port } = yield* serve(handler)
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/slow"))
      yield* RawClient.sleepReal(20)
      yield* client.reset()
      expect(yield* awaitWithin(interrupted, 1000)).toBe(true)
      const next = yield* RawClient.connect(port)
      yield* next.write(RawClient.get("/"))
      expect((yield* next.readResponse()).text).toBe("ok")
    }))
})
