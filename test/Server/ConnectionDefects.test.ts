/**
 * The five connection defects of issue 19, each driven through a real
 * socket and asserting what the issue says is right:
 *
 * 1. a body timeout outlives a backpressured streamed response (one deadline per kind);
 * 2. a streamed body's declared length is held, longer or shorter;
 * 3. a handler may keep one headers object and change it per request;
 * 4. a large gzip body read as a stream with `decompressRequest` completes;
 * 5. a connection that sends nothing is closed after `headerTimeout`.
 *
 * And two found while mending the suite (item 6), the same kind of gap:
 * a client that half-closes after a whole request is abandoned when its
 * handler answers later; a response written at once is cut off by
 * `writeTimeout` while its client is still reading it.
 */
import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import type { HTTPServerRequest } from "../../src/Request/HTTPServerRequest.ts"
import * as Response from "../../src/Response/Response.ts"
import * as L from "../support/LimitsClient.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeLogCapture, serve, serveDemo } from "../support/TestServer.ts"

const encoder = new TextEncoder()

/** A handler for `/probe`, the request pipelined behind the one under test. */
const answerProbe = (request: HTTPServerRequest) =>
  request.path === "/probe" ? Effect.succeed(Response.text("probe")) : undefined

describe("defect 1: one deadline per kind", () => {
  it.live("a body that stalls half-way while its streamed response meets backpressure, then drains, still ends by bodyTimeout", () => {
    const PIECE = 64 * 1024
    const PIECES = 1024 // 64 MiB: more than the loopback buffers can hold (tcp_rmem reaches 32 MiB on some machines)
    const piece = new Uint8Array(PIECE).fill(0x78)
    let produced = 0
    const handler = (request: HTTPServerRequest) =>
      Effect.succeed(Response.stream(
        Stream.concat(
          // Reading the first piece of the body starts the body timeout.
          Stream.fromEffect(Effect.map(request.bodyReader.next, (piece) => encoder.encode(`first ${piece?.byteLength}\n`))),
          Stream.concat(
            // One piece per pull: `produced` counts what the writer asked for.
            Stream.unfold(0, (i) =>
              Effect.sync(() => {
                if (i === PIECES) return undefined
                produced++
                return [piece, i + 1] as const
              })),
            // The rest of the body never comes: this read can only end by the body timeout.
            Stream.fromEffect(Effect.map(request.bodyReader.all, (rest) => encoder.encode(`rest ${rest.byteLength}\n`)))
          )
        )
      ))
    return Effect.gen(function*() {
      const { port } = yield* serve(handler, { bodyTimeout: 400, writeTimeout: 60_000 })
      const client = yield* RawClient.connect(port)
      client.socket.pause() // read nothing: the response meets backpressure
      const start = L.now()
      yield* client.write(L.head("PUT", "/", "Content-Length: 20") + "only ten b")
      // The response stops being produced: the server waits for the client to read.
      let seen = -1
      const stalled = yield* RawClient.eventually(() => {
        const stable = produced > 0 && produced === seen
        seen = produced
        return stable
      }, 3000, 100)
      expect(stalled).toBe(true)
      expect(produced).toBeLessThan(PIECES)
      client.socket.resume() // the output drains, the rest is written
      // The body never completes: the connection must end, its response cut short.
      const rest = (yield* client.readUntilClose(3000)).toString("latin1")
      expect(L.now() - start).toBeGreaterThanOrEqual(370)
      expect(rest).not.toContain("rest ")
      expect(rest.endsWith("0\r\n\r\n")).toBe(false)
    }).pipe(Effect.provide(makeLogCapture().layer))
  })
})

describe("defect 2: a streamed body is held to its declared length", () => {
  it.live("a stream yielding more than contentLength is cut at it, the connection closes after it, and a pipelined request gets no answer", () =>
    Effect.gen(function*() {
      const { port } = yield* serve((request) =>
        answerProbe(request) ??
          Effect.succeed(Response.stream(Stream.make(encoder.encode("01234"), encoder.encode("SURPLUS")), { contentLength: 5 }))
      )
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/long") + RawClient.get("/probe"))
      const response = yield* client.readResponse()
      expect(response.header("Content-Length")).toBe("5")
      expect(response.text).toBe("01234")
      // Nothing after the declared length: no surplus, no answer to the probe.
      const rest = yield* client.readUntilClose(1000)
      expect(rest.toString("latin1")).toBe("")
    }))

  it.live("a stream yielding fewer bytes than contentLength closes the connection instead of reusing it", () =>
    Effect.gen(function*() {
      const { port } = yield* serve((request) =>
        answerProbe(request) ??
          Effect.succeed(Response.stream(Stream.make(encoder.encode("012")), { contentLength: 5 }))
      )
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/short") + RawClient.get("/probe"))
      const received = (yield* client.readUntilClose(1000)).toString("latin1")
      expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
      expect(received).toContain("Content-Length: 5\r\n")
      // The head and the three bytes, and nothing glued after them.
      expect(received.endsWith("\r\n\r\n012")).toBe(true)
      expect(received).not.toContain("probe")
    }))
})

describe("defect 3: a handler may reuse and change its own objects", () => {
  it.live("one headers object, changed per request: each response carries the value of its own request", () => {
    const headers: Record<string, string> = { "Content-Type": "text/plain", "X-Request": "0" }
    let count = 0
    const handler = () =>
      Effect.sync(() => {
        count++
        headers["X-Request"] = String(count)
        return Response.text(`request ${count}`, { headers })
      })
    return Effect.gen(function*() {
      const { port } = yield* serve(handler)
      const client = yield* RawClient.connect(port)
      const seen: Array<[string | undefined, string]> = []
      for (let i = 0; i < 4; i++) {
        yield* client.write(RawClient.get("/"))
        const response = yield* client.readResponse()
        seen.push([response.header("X-Request"), response.text])
      }
      expect(seen).toEqual([["1", "request 1"], ["2", "request 2"], ["3", "request 3"], ["4", "request 4"]])
    })
  })
})

describe("defect 4: every wait for input has a wake-up", () => {
  it.live("with decompressRequest, a gzip body of about 1 MB read as a stream (/stream) is read to its end", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ decompressRequest: true, bodyTimeout: 10_000 })
      // Incompressible bytes (a hash chain), so that about 1 MB goes over the wire.
      const inflated = Buffer.concat(
        Array.from({ length: 32 * 1024 }, (_, i) => createHash("sha256").update(String(i)).digest())
      )
      const compressed = L.gzip(inflated)
      expect(compressed.length).toBeGreaterThan(1_000_000)
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("PUT", "/stream", compressed, "Content-Encoding: gzip"))
      const response = yield* client.readResponse({ timeoutMillis: 3000 })
      expect(response.status).toBe(200)
      expect(response.json().bodyLength).toBe(inflated.length)
      // and the connection goes on
      yield* client.write(RawClient.get("/"))
      expect((yield* client.readResponse()).text).toBe("Hello world")
    }))
})

describe("defect 5: a silent connection is closed after headerTimeout", () => {
  it.live("a client that connects and sends nothing is closed after headerTimeout (200 ms), not idleConnectionTimeout", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ headerTimeout: 200, idleConnectionTimeout: 60_000 })
      const start = L.now()
      const client = yield* RawClient.connect(port)
      yield* client.readUntilClose(2000)
      const elapsed = L.now() - start
      expect(elapsed).toBeGreaterThanOrEqual(170)
      expect(elapsed).toBeLessThan(1000)
    }))
})

describe("found while mending the suite (issue 19 item 6)", () => {
  it.live("a client that reads a large response written at once slowly gets all of it, though it takes longer than writeTimeout", () =>
    Effect.gen(function*() {
      const size = 16 * 1024 * 1024
      const { port } = yield* serveDemo({ writeTimeout: 300 })
      const client = yield* RawClient.connect(port)
      // 16 MiB read 1 MiB at a time, 100 ms apart: over a second in all, never 300 ms without reading.
      yield* client.readSlowly(1024 * 1024, 100)
      yield* client.write(RawClient.get(`/large?size=${size}`))
      const response = yield* client.readResponse({ timeoutMillis: 10_000 })
      expect(response.body.length).toBe(size)
    }))
})
