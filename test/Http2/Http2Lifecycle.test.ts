/**
 * An HTTP/2 session's life in the server: graceful shutdown (GOAWAY with the
 * last stream id, streams in flight finishing, then the session closing),
 * `shutdownTimeout` cutting the rest, `maxConnections` counting sessions,
 * the idle timeout, and the client going away.
 */
import * as Http2 from "node:http2"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Scope, Stream } from "effect"
import * as Response from "../../src/Response/Response.ts"
import * as Http2Client from "../support/Http2Client.ts"
import * as RawClient from "../support/RawClient.ts"
import { serve, serveDemo } from "../support/TestServer.ts"
import { suiteTlsMaterial } from "../support/TlsMaterial.ts"

const tls = suiteTlsMaterial()

/** The first GOAWAY a client session receives: its last stream id. */
const goawayOf = (session: Http2.ClientHttp2Session) =>
  Effect.callback<number>((resume) => {
    session.once("goaway", (_code, lastStreamId) => resume(Effect.succeed(lastStreamId)))
  })

describe("HTTP/2 graceful shutdown", () => {
  it.live("GOAWAY with the last stream id; the stream in flight finishes; then the session closes", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      const scope = yield* Scope.make()
      const { port, server } = yield* Scope.provide(scope)(
        serve(
          (request) =>
            request.path === "/wait"
              ? Effect.andThen(Deferred.succeed(started, undefined), Effect.as(Deferred.await(release), Response.text("finished")))
              : Effect.succeed(Response.text("hello")),
          { http2: true, shutdownTimeout: 5000 }
        )
      )
      const session = yield* Http2Client.connect(port)
      expect((yield* Http2Client.request(session)).text).toBe("hello") // stream 1
      const waiting = yield* Effect.forkChild(Http2Client.request(session, { path: "/wait" })) // stream 3
      yield* Deferred.await(started)
      const goaway = yield* Effect.forkChild(goawayOf(session))
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      expect(yield* Fiber.join(goaway)).toBe(3)
      expect(server.connectionCount()).toBe(1)
      yield* Deferred.succeed(release, undefined)
      const answer = yield* Fiber.join(waiting)
      expect([answer.status, answer.text]).toEqual([200, "finished"])
      yield* Fiber.join(closing)
      expect(server.connectionCount()).toBe(0)
    }))

  it.live("streams still running at shutdownTimeout are cut, their handlers interrupted", () =>
    Effect.gen(function*() {
      const interrupted = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      const scope = yield* Scope.make()
      const { port, server } = yield* Scope.provide(scope)(
        serve(
          () =>
            Effect.andThen(Deferred.succeed(started, undefined), Effect.never).pipe(
              Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
            ),
          { http2: true, shutdownTimeout: 200 }
        )
      )
      const session = yield* Http2Client.connect(port)
      const hanging = yield* Effect.forkChild(Http2Client.request(session))
      yield* Deferred.await(started)
      yield* Scope.close(scope, Exit.void)
      yield* Deferred.await(interrupted)
      const answer = yield* Fiber.join(hanging)
      expect(answer.status).toBe(0) // reset, no response
      expect(server.connectionCount()).toBe(0)
    }))
})

describe("HTTP/2 sessions as connections", () => {
  it.live("maxConnections counts sessions: past it a new connection (either protocol) is closed", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveDemo({ http2: true, maxConnections: 1 })
      const session = yield* Http2Client.connect(port)
      expect((yield* Http2Client.request(session)).text).toBe("Hello world")
      expect(server.connectionCount()).toBe(1)
      const refused = yield* RawClient.connect(port)
      expect((yield* refused.readUntilClose(1000)).length).toBe(0)
      expect((yield* Http2Client.request(session)).text).toBe("Hello world")
    }))

  it.live("a session the client closes is no longer counted", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveDemo({ http2: true })
      yield* Effect.scoped(Effect.gen(function*() {
        const session = yield* Http2Client.connect(port)
        // A body the handler refuses while the client still sends.
        const answer = yield* Http2Client.request(session, {
          method: "POST",
          path: "/stream?max_body_size=100",
          body: Buffer.alloc(200_000)
        })
        expect(answer.status).toBe(413)
        expect(server.connectionCount()).toBe(1)
      }))
      expect(yield* RawClient.eventually(() => server.connectionCount() === 0)).toBe(true)
    }))

  it.live("an idle session is closed after idleConnectionTimeout (GOAWAY first)", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveDemo({ http2: true, idleConnectionTimeout: "300 millis" })
      const session = yield* Http2Client.connect(port)
      expect((yield* Http2Client.request(session)).text).toBe("Hello world")
      const goaway = yield* goawayOf(session)
      expect(goaway).toBe(1)
      expect(yield* RawClient.eventually(() => server.connectionCount() === 0)).toBe(true)
    }))

  it.live("a connection that half-closes before its first bytes told the protocol apart is closed, not counted", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveDemo({ http2: true })
      const client = yield* RawClient.connect(port)
      yield* client.write("PRI * HTTP/2")
      client.socket.end()
      expect((yield* client.readUntilClose(2000)).length).toBe(0)
      expect(yield* RawClient.eventually(() => server.connectionCount() === 0)).toBe(true)
    }))

  it.live("a connection that sends part of the preface and stalls is closed at the header timeout", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveDemo({ http2: true, headerTimeout: "300 millis" })
      const client = yield* RawClient.connect(port)
      yield* client.write("PRI * HTTP/2.0\r\n")
      yield* RawClient.sleepReal(50)
      expect(server.connectionCount()).toBe(1)
      expect((yield* client.readUntilClose(2000)).length).toBe(0)
      expect(server.connectionCount()).toBe(0)
    }))
})

describe("HTTP/2 write timeout", () => {
  for (const [name, path] of [["a whole body", "/large?size=8000000"], ["a streamed body", "/big-stream"]] as const) {
    it.live(`${name} to a client that reads nothing: the session is cut off after writeTimeout; others are served`, () =>
      Effect.gen(function*() {
        const piece = new Uint8Array(64 * 1024)
        const { port, server } = yield* serve(
          (request) =>
            Effect.succeed(
              request.path === "/big-stream"
                ? Response.stream(Stream.range(1, 200, 1).pipe(Stream.map(() => piece)))
                : request.path.startsWith("/large")
                ? Response.bytes(new Uint8Array(8_000_000))
                : Response.text("hello")
            ),
          { http2: true, writeTimeout: "300 millis" }
        )
        const stalled = yield* Http2Client.connect(port)
        const stream = stalled.request({ ":path": path })
        stream.pause()
        stream.on("error", () => {})
        const closed = yield* Effect.callback<number>((resume) => {
          const started = Date.now()
          stalled.once("close", () => resume(Effect.succeed(Date.now() - started)))
        })
        expect(closed).toBeGreaterThanOrEqual(250)
        const other = yield* Http2Client.connect(port)
        expect((yield* Http2Client.request(other)).text).toBe("hello")
        expect(yield* RawClient.eventually(() => server.connectionCount() === 1)).toBe(true)
      }))
  }

  for (const secure of [false, true]) {
    it.live(`a client that reads slowly but steadily is not cut off${secure ? " (TLS)" : ""}: the write timeout counts time without a byte written`, () =>
      Effect.gen(function*() {
        const size = 1_000_000
        const { port } = yield* serve(() => Effect.succeed(Response.bytes(new Uint8Array(size))), {
          http2: true,
          writeTimeout: "300 millis",
          ...(secure ? { ssl: tls.ssl() } : {})
        })
        const session = yield* Http2Client.connect(port, { tls: secure })
        // 16 KiB every 40 ms: the response always waits for this client, and always moves (about 2.5 s in all).
        const received = yield* Effect.callback<number>((resume) => {
          const stream = session.request({ ":path": "/" })
          let bytes = 0
          stream.pause()
          stream.on("error", () => {})
          const reader = setInterval(() => {
            const chunk: Buffer | null = stream.read(16 * 1024) ?? stream.read()
            if (chunk !== null) bytes += chunk.byteLength
          }, 40)
          stream.on("close", () => {
            clearInterval(reader)
            resume(Effect.succeed(bytes))
          })
        })
        expect(received).toBe(size)
      }), { timeout: 15_000 })
  }

  it.live("a stream whose handler is slow is not cut by the write timeout (nothing waits for the client)", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true, writeTimeout: "200 millis" })
      const session = yield* Http2Client.connect(port)
      const answer = yield* Http2Client.request(session, { path: "/slow?ms=700" })
      expect(answer.text).toBe("done")
    }))
})

describe("HTTP/2 while draining (drainDelay)", () => {
  it.live("an open session gets GOAWAY; a session opened while draining is served its first stream, then GOAWAY", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { port, server } = yield* Scope.provide(scope)(serveDemo({ http2: true, drainDelay: "400 millis" }))
      const before = yield* Http2Client.connect(port)
      expect((yield* Http2Client.request(before)).text).toBe("Hello world")
      const goaway = yield* Effect.forkChild(goawayOf(before))
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      expect(yield* Fiber.join(goaway)).toBe(1)
      expect(server.isDraining()).toBe(true)
      const during = yield* Http2Client.connect(port)
      const late = yield* Effect.forkChild(goawayOf(during))
      expect((yield* Http2Client.request(during)).text).toBe("Hello world")
      expect(yield* Fiber.join(late)).toBe(1)
      yield* Fiber.join(closing)
    }))
})
