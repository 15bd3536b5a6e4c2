/**
 * Timeouts: `headerTimeout`, `bodyTimeout` and its per-request override
 * (Tornado's BodyLimitsTest.test_timeout), `idleConnectionTimeout`
 * (IdleTimeoutTest). Real time on real loopback sockets, kept short.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import type { HTTPServerRequest } from "../../src/Request/HTTPServerRequest.ts"
import * as Response from "../../src/Response/Response.ts"
import * as L from "../support/LimitsClient.ts"
import * as RawClient from "../support/RawClient.ts"
import { serve, serveDemo } from "../support/TestServer.ts"

const MiB = 1024 * 1024

/** A response of `pieces` pieces of 64 KiB, streamed (chunked): each written when the peer can take it. */
const streamedPieces = (pieces: number) =>
  Response.stream(Stream.unfold(0, (i) => Effect.succeed(i === pieces ? undefined : [new Uint8Array(64 * 1024).fill(0x61), i + 1] as const)))

/**
 * Waits for the server to close; what it sent before closing must be a
 * single 408 (no response had begun, so the client is told why).
 */
const expectClosedAfter408 = (client: RawClient.RawConnection, timeoutMillis: number) =>
  Effect.gen(function*() {
    const rest = yield* client.readUntilClose(timeoutMillis)
    const responses = RawClient.parseAllResponses(rest)
    expect(responses.map((r) => r.status)).toEqual([408])
    expect(responses[0]?.header("Connection")).toBe("close")
  })

describe("headerTimeout", () => {
  it.live("a head dribbled one byte per 50 ms is cut off around headerTimeout (300 ms)", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ headerTimeout: 300 })
      const client = yield* RawClient.connect(port)
      const head = RawClient.get("/", `X-Filler: ${"a".repeat(100)}`) // would take > 6 s
      const start = L.now()
      const dribbling = yield* Effect.forkChild(L.dribble(client, head, 1, 50))
      yield* expectClosedAfter408(client, 2000)
      const elapsed = L.now() - start
      expect(elapsed).toBeGreaterThanOrEqual(270)
      expect(elapsed).toBeLessThan(700)
      const written = yield* Fiber.join(dribbling)
      expect(written).toBeLessThan(head.length)
    }))

  it.live("a complete head within headerTimeout is served, even when it comes slowly", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ headerTimeout: 300 })
      const client = yield* RawClient.connect(port)
      const head = RawClient.get("/") // ~35 bytes: 8 pieces 20 ms apart, ~140 ms
      yield* client.writeInPieces(head, 5, 20)
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.text).toBe("Hello world")
    }))

  it.live("the header timer starts with the first byte of each head, not when the connection opened", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ headerTimeout: 200 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/"))
      expect((yield* client.readResponse()).status).toBe(200)
      // Idle for longer than headerTimeout, then a head that takes ~150 ms.
      yield* RawClient.sleepReal(250)
      expect(client.isClosed).toBe(false)
      yield* client.writeInPieces(RawClient.get("/"), 6, 25)
      expect((yield* client.readResponse()).status).toBe(200)
    }))
})

describe("bodyTimeout", () => {
  it.live("a body that stops arriving: a 408, and the connection closes, around bodyTimeout", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ bodyTimeout: 200 })
      for (const path of ["/stream", "/echo"]) {
        const client = yield* RawClient.connect(port)
        yield* client.write(L.head("PUT", path, "Content-Length: 42"))
        yield* client.write("only ten b")
        const start = L.now()
        yield* expectClosedAfter408(client, 2000)
        const elapsed = L.now() - start
        expect(elapsed).toBeGreaterThanOrEqual(170)
        expect(elapsed).toBeLessThan(700)
      }
    }))

  it.live("the same for a chunked body that stops mid-chunk", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ bodyTimeout: 200 })
      const client = yield* RawClient.connect(port)
      yield* client.write(L.head("PUT", "/stream", "Transfer-Encoding: chunked") + "a\r\nabc")
      const start = L.now()
      yield* expectClosedAfter408(client, 2000)
      expect(L.now() - start).toBeLessThan(700)
    }))

  it.live("/stream?body_timeout=0.2 sets it for one request (Tornado's test_timeout)", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo() // no body timeout by default
      const client = yield* RawClient.connect(port)
      yield* client.write("PUT /stream?body_timeout=0.2 HTTP/1.0\r\nContent-Length: 42\r\n\r\n")
      const start = L.now()
      yield* expectClosedAfter408(client, 2000)
      const elapsed = L.now() - start
      expect(elapsed).toBeGreaterThanOrEqual(170)
      expect(elapsed).toBeLessThan(700)
    }))

  it.live("a body that arrives in time, slowly, is read whole", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ bodyTimeout: 400 })
      const client = yield* RawClient.connect(port)
      yield* client.write(L.head("PUT", "/stream", "Content-Length: 40"))
      yield* client.writeInPieces("x".repeat(40), 10, 30)
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyLength).toBe(40)
    }))

  it.live("a per-request body_timeout raises the server's, and the next request on the connection has the server's again", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ bodyTimeout: 150 })
      const client = yield* RawClient.connect(port)
      // 300 ms for the body: over the server's 150 ms, within this request's 1 s.
      yield* client.write(L.head("PUT", "/stream?body_timeout=1", "Content-Length: 20"))
      yield* client.write("a".repeat(10))
      yield* RawClient.sleepReal(300)
      yield* client.write("a".repeat(10))
      const raised = yield* client.readResponse()
      expect(raised.status).toBe(200)
      expect(raised.json().bodyLength).toBe(20)
      // Without the override: 150 ms again.
      yield* client.write(L.head("PUT", "/stream", "Content-Length: 20"))
      yield* client.write("a".repeat(10))
      const start = L.now()
      yield* expectClosedAfter408(client, 2000)
      expect(L.now() - start).toBeLessThan(600)
    }))

  it.live("a per-request body timeout set by a handler of its own (setBodyTimeout) lowers the server's", () => {
    const handler = (request: HTTPServerRequest) =>
      Effect.gen(function*() {
        if (request.path === "/quick") yield* request.setBodyTimeout("100 millis")
        const body = yield* request.body
        return Response.text(String(body.byteLength))
      })
    return Effect.gen(function*() {
      const { port } = yield* serve(handler, { bodyTimeout: 5000 })
      const client = yield* RawClient.connect(port)
      yield* client.write(L.head("PUT", "/quick", "Content-Length: 20") + "half-body!")
      const start = L.now()
      yield* expectClosedAfter408(client, 2000)
      const elapsed = L.now() - start
      expect(elapsed).toBeGreaterThanOrEqual(80)
      expect(elapsed).toBeLessThan(600)
    })
  })

  it.live("the body timeout covers reading the body only: a handler that read it in time may answer later", () => {
    const handler = (request: HTTPServerRequest) =>
      Effect.gen(function*() {
        const body = yield* request.body
        yield* Effect.sleep(300) // longer than bodyTimeout, after the body is in
        return Response.text(String(body.byteLength))
      })
    return Effect.gen(function*() {
      const { port } = yield* serve(handler, { bodyTimeout: 100 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("PUT", "/", "a".repeat(10)))
      const first = yield* client.readResponse()
      expect(first.status).toBe(200)
      expect(first.text).toBe("10")
      expect(first.header("Connection")).toBeUndefined()
      yield* client.write(RawClient.withBody("PUT", "/", "a".repeat(5)))
      const second = yield* client.readResponse()
      expect(second.status).toBe(200)
      expect(second.text).toBe("5")
    })
  })

  it.live("a body that arrives in time, streamed: the timer stops once the body is in", () => {
    const handler = (request: HTTPServerRequest) =>
      Effect.gen(function*() {
        let length = 0
        yield* Stream.runForEach(request.stream, (piece) => Effect.sync(() => void (length += piece.byteLength)))
        yield* Effect.sleep(250)
        return Response.text(String(length))
      })
    return Effect.gen(function*() {
      const { port } = yield* serve(handler, { bodyTimeout: 100 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("PUT", "/", "a".repeat(10)))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.header("Connection")).toBeUndefined()
      expect(yield* client.closesWithin(50)).toBe(false)
    })
  })
})

describe("idleConnectionTimeout (Tornado's IdleTimeoutTest)", () => {
  it.live("an unused connection closes after idleConnectionTimeout (100 ms)", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ idleConnectionTimeout: 100 })
      const start = L.now()
      const client = yield* RawClient.connect(port)
      const rest = yield* client.readUntilClose(2000)
      expect(rest.length).toBe(0)
      const elapsed = L.now() - start
      expect(elapsed).toBeGreaterThanOrEqual(80)
      expect(elapsed).toBeLessThan(600)
    }))

  it.live("a keep-alive connection used twice closes about 100 ms after its last response", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ idleConnectionTimeout: 100 })
      const client = yield* RawClient.connect(port)
      for (let i = 0; i < 2; i++) {
        yield* client.write(RawClient.get("/"))
        const response = yield* client.readResponse()
        expect(response.text).toBe("Hello world")
        yield* RawClient.sleepReal(50) // less than the timeout: still open
        expect(client.isClosed).toBe(false)
      }
      const start = L.now()
      const rest = yield* client.readUntilClose(2000)
      expect(rest.length).toBe(0)
      // 50 ms of it already passed
      expect(L.now() - start).toBeLessThan(500)
    }))

  it.live("a connection with a request in progress (slow handler) is not closed by it", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ idleConnectionTimeout: 100 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/slow?ms=350"))
      const response = yield* client.readResponse({ timeoutMillis: 2000 })
      expect(response.status).toBe(200)
      expect(response.text).toBe("done")
      expect(response.header("Connection")).toBeUndefined()
      // and it goes on serving
      yield* client.write(RawClient.get("/"))
      expect((yield* client.readResponse()).status).toBe(200)
    }))

  it.live("a connection whose handler is still reading a slow body is not closed by it", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ idleConnectionTimeout: 100 })
      const client = yield* RawClient.connect(port)
      yield* client.write(L.head("PUT", "/stream", "Content-Length: 30"))
      yield* client.writeInPieces("z".repeat(30), 10, 120)
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyLength).toBe(30)
    }))
})

describe("writeTimeout and response backpressure", () => {
  const nonReaders = [
    ["written at once (16 MiB of bytes)", () => serveDemo({ writeTimeout: 300 }), RawClient.get(`/large?size=${16 * MiB}`)],
    ["streamed (16 MiB in 64 KiB pieces)", () => serve(() => Effect.succeed(streamedPieces(256)), { writeTimeout: 300 }), RawClient.get("/")]
  ] as const
  for (const [name, start, request] of nonReaders) {
    it.live(`a client that reads nothing of a large response, ${name}, is cut off around writeTimeout (300 ms)`, () =>
      Effect.gen(function*() {
        const { port, server } = yield* start()
        const client = yield* RawClient.connect(port)
        client.socket.pause() // reads nothing: the kernel's buffers fill, then the server's
        const started = L.now()
        yield* client.write(request)
        expect(yield* RawClient.eventually(() => server.connectionCount() === 0, 3000)).toBe(true)
        const elapsed = L.now() - started
        expect(elapsed).toBeGreaterThanOrEqual(270)
        expect(elapsed).toBeLessThan(1500)
        // What the kernel still held arrives, and then the close: the response was cut short.
        client.socket.resume()
        const received = yield* client.readUntilClose(3000)
        expect(received.length).toBeGreaterThan(0)
        expect(received.length).toBeLessThan(16 * MiB)
      }))
  }

  it.live("a client that reads a streamed response slowly gets all of it, though it takes longer than writeTimeout", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(() => Effect.succeed(streamedPieces(128)), { writeTimeout: 300 })
      const client = yield* RawClient.connect(port)
      // 8 MiB read 1 MiB at a time, 100 ms apart: over 700 ms in all, never 300 ms without reading.
      yield* client.readSlowly(MiB, 100)
      const started = L.now()
      yield* client.write(RawClient.get("/"))
      const response = yield* client.readResponse({ timeoutMillis: 10_000 })
      expect(L.now() - started).toBeGreaterThan(700)
      expect(response.status).toBe(200)
      expect(response.body.length).toBe(8 * MiB)
      expect(response.body.equals(Buffer.alloc(8 * MiB, 0x61))).toBe(true)
      // and the connection goes on
      yield* client.write(RawClient.get("/"))
      expect((yield* client.readResponse()).status).toBe(200)
    }))
})
