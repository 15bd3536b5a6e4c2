/**
 * Size limits: `maxHeaderSize` (Tornado's MaxHeaderSizeTest), `maxBodySize`
 * and its per-request override (BodyLimitsTest), `maxBufferSize`,
 * `chunkSize` (StreamingChunkSizeTest) and backpressure on a slow streaming
 * reader. Real loopback sockets against `HTTPServer.listen`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import type { HTTPServerRequest } from "../../src/Request/HTTPServerRequest.ts"
import * as Response from "../../src/Response/Response.ts"
import * as L from "../support/LimitsClient.ts"
import * as RawClient from "../support/RawClient.ts"
import { serve, serveDemo } from "../support/TestServer.ts"

/** Reads one response, then asserts the server closes the connection. */
const readThenClose = (client: RawClient.RawConnection, timeoutMillis = 2000) =>
  Effect.gen(function*() {
    const response = yield* client.readResponse({ timeoutMillis })
    const rest = yield* client.readUntilClose(timeoutMillis)
    expect(rest.toString("latin1")).toBe("")
    return response
  })

/** A handler that reads its body through `request.stream` and answers the piece sizes. */
const pieceSizes = (request: HTTPServerRequest) =>
  Effect.gen(function*() {
    const sizes: Array<number> = []
    yield* Stream.runForEach(request.stream, (piece) => Effect.sync(() => void sizes.push(piece.byteLength)))
    return Response.json(sizes)
  })

/** Tornado's StreamingChunkSizeTest body: 50 bytes. */
const BODY50 = "01234567890123456789012345678901234567890123456789"

describe("maxHeaderSize", () => {
  const LIMIT = 1024

  /** A complete GET head of exactly `size` bytes, terminator included. */
  const headOfSize = (size: number): string => {
    const base = RawClient.get("/", "X-Filler: ")
    return RawClient.get("/", `X-Filler: ${"a".repeat(size - base.length)}`)
  }

  it.live("a head under the limit is served (Tornado's test_small_headers)", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxHeaderSize: LIMIT })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/", `X-Filler: ${"a".repeat(100)}`))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.text).toBe("Hello world")
    }))

  it.live("a head of exactly maxHeaderSize bytes (terminator included) still parses", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxHeaderSize: LIMIT })
      const client = yield* RawClient.connect(port)
      const head = headOfSize(LIMIT)
      expect(head.length).toBe(LIMIT)
      yield* client.write(head)
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      // and the connection is still good
      yield* client.write(headOfSize(LIMIT))
      expect((yield* client.readResponse()).status).toBe(200)
    }))

  it.live("a complete head one byte over the limit gets 431, then the connection closes", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxHeaderSize: LIMIT })
      const client = yield* RawClient.connect(port)
      yield* client.write(headOfSize(LIMIT + 1))
      const response = yield* readThenClose(client)
      expect(response.status).toBe(431)
      expect(response.header("Connection")).toBe("close")
    }))

  it.live("a head that never ends gets 431 as soon as it passes the limit, without the client finishing it", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxHeaderSize: LIMIT })
      const client = yield* RawClient.connect(port)
      // No terminator: the client never finishes this head.
      yield* client.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: ${"a".repeat(2 * LIMIT)}`)
      const [millis, response] = yield* L.timed(readThenClose(client, 1000))
      expect(response.status).toBe(431)
      expect(millis).toBeLessThan(500)
    }))

  it.live("the byte that passes the limit is the one that triggers the 431", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxHeaderSize: LIMIT })
      const client = yield* RawClient.connect(port)
      const start = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: `
      yield* client.write(start + "a".repeat(LIMIT - start.length))
      // LIMIT bytes of an unfinished head: still within the limit, no answer yet
      expect(yield* client.closesWithin(100)).toBe(false)
      expect(client.pending.length).toBe(0)
      yield* client.write("a")
      const response = yield* readThenClose(client, 1000)
      expect(response.status).toBe(431)
    }))

  it.live("the limit applies to each head of a keep-alive connection, not to the connection", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxHeaderSize: LIMIT })
      const client = yield* RawClient.connect(port)
      for (let i = 0; i < 4; i++) {
        yield* client.write(headOfSize(LIMIT - 10))
        expect((yield* client.readResponse()).status).toBe(200)
      }
    }))
})

describe("maxRequestLineSize", () => {
  const LIMIT = 256

  it.live("a request line of exactly the limit is served; then a target past it gets 414 and the connection closes", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxRequestLineSize: LIMIT })
      const client = yield* RawClient.connect(port)
      const path = (lineLength: number) => "/" + "a".repeat(lineLength - "GET / HTTP/1.1".length)
      expect(`GET ${path(LIMIT)} HTTP/1.1`.length).toBe(LIMIT)
      yield* client.write(RawClient.get(path(LIMIT)))
      expect((yield* client.readResponse()).status).toBe(404)
      yield* client.write(RawClient.get(path(LIMIT + 1)))
      const response = yield* readThenClose(client)
      expect(response.status).toBe(414)
      expect(response.header("Connection")).toBe("close")
    }))

  it.live("a method past the limit gets 501, without the client finishing its line", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxRequestLineSize: LIMIT })
      const client = yield* RawClient.connect(port)
      yield* client.write("M".repeat(LIMIT + 1))
      const [millis, response] = yield* L.timed(readThenClose(client, 1000))
      expect(response.status).toBe(501)
      expect(millis).toBeLessThan(500)
    }))

  it.live("the default is 8 KiB: a 9,000-byte method gets 501, a 9,000-byte target 414", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({})
      const method = yield* RawClient.connect(port)
      yield* method.write(`${"G".repeat(9000)} / HTTP/1.1\r\nHost: a\r\n\r\n`)
      expect((yield* readThenClose(method)).status).toBe(501)
      const target = yield* RawClient.connect(port)
      yield* target.write(RawClient.get("/" + "a".repeat(9000)))
      expect((yield* readThenClose(target)).status).toBe(414)
    }))
})

describe("maxBodySize", () => {
  const LIMIT = 4096

  it.live("bodies at the limit are read (Tornado's test_small_body), Content-Length and chunked", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxBodySize: LIMIT })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("PUT", "/echo", "a".repeat(LIMIT)))
      const buffered = yield* client.readResponse()
      expect(buffered.status).toBe(200)
      expect(buffered.json().bodyLength).toBe(LIMIT)
      yield* client.write(RawClient.withBody("PUT", "/stream", "a".repeat(LIMIT)))
      const streamed = yield* client.readResponse()
      expect(streamed.status).toBe(200)
      expect(streamed.json().bodyLength).toBe(LIMIT)
      yield* client.write(L.chunkedRequest("PUT", "/stream", ["a".repeat(LIMIT / 2), "a".repeat(LIMIT / 2)]))
      const chunked = yield* client.readResponse()
      expect(chunked.status).toBe(200)
      expect(chunked.json().bodyLength).toBe(LIMIT)
    }))

  it.live("a Content-Length over the limit gets 413 before any body byte is sent, then close", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxBodySize: LIMIT })
      for (const path of ["/echo", "/stream"]) {
        const client = yield* RawClient.connect(port)
        // Only the head: the decision comes from Content-Length alone.
        yield* client.write(L.head("PUT", path, `Content-Length: ${LIMIT + 1}`))
        const response = yield* readThenClose(client)
        expect(response.status).toBe(413)
        expect(response.header("Connection")).toBe("close")
      }
    }))

  it.live("the same with the body sent along: 413, then close", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxBodySize: LIMIT })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("PUT", "/stream", "a".repeat(10240)))
      const response = yield* readThenClose(client)
      expect(response.status).toBe(413)
    }))

  it.live("Expect: 100-continue with a Content-Length over the limit: 413 and no 100 Continue", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxBodySize: LIMIT })
      const client = yield* RawClient.connect(port)
      yield* client.write(L.head("PUT", "/stream", `Content-Length: ${LIMIT + 1}`, "Expect: 100-continue"))
      const response = yield* client.readResponse()
      expect(response.status).toBe(413)
      const rest = yield* client.readUntilClose()
      expect(rest.toString("latin1")).not.toContain("100 Continue")
      expect(rest.length).toBe(0)
    }))

  it.live("Expect: 100-continue within the limit: 100 Continue, then the answer", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxBodySize: LIMIT })
      const client = yield* RawClient.connect(port)
      yield* client.write(L.head("PUT", "/stream", `Content-Length: ${LIMIT}`, "Expect: 100-continue"))
      expect((yield* client.readResponse()).status).toBe(100)
      yield* client.write("a".repeat(LIMIT))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyLength).toBe(LIMIT)
    }))

  it.live("a chunked body over the limit gets 413 while reading, then close (one big chunk)", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxBodySize: LIMIT })
      for (const path of ["/echo", "/stream"]) {
        const client = yield* RawClient.connect(port)
        yield* client.write(L.chunkedRequest("PUT", path, ["a".repeat(10240)]))
        const response = yield* readThenClose(client)
        expect(response.status).toBe(413)
        expect(response.header("Connection")).toBe("close")
      }
    }))

  it.live("a chunked body over the limit in many small chunks: 413 without the client finishing it", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxBodySize: LIMIT })
      const client = yield* RawClient.connect(port)
      const pieces = Array.from({ length: 50 }, () => "b".repeat(100)) // 5000 bytes
      const framed = L.chunkedRequest("PUT", "/stream", pieces)
      // Send everything but the last chunk: the limit is passed on the way.
      yield* client.write(framed.subarray(0, framed.length - 5))
      const response = yield* readThenClose(client)
      expect(response.status).toBe(413)
    }))

  it.live("setMaxBodySize raises the limit for its own request only (demo /stream?max_body_size)", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxBodySize: LIMIT })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("PUT", "/stream?max_body_size=10240", "a".repeat(10240)))
      const raised = yield* client.readResponse()
      expect(raised.status).toBe(200)
      expect(raised.json().bodyLength).toBe(10240)
      expect(raised.header("Connection")).toBeUndefined()
      // Same connection, no override: the server's limit is back (Tornado's test_body_size_override_reset).
      yield* client.write(RawClient.withBody("PUT", "/stream", "a".repeat(10240)))
      const response = yield* readThenClose(client)
      expect(response.status).toBe(413)
    }))

  it.live("setMaxBodySize raises the limit for a chunked body too", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxBodySize: LIMIT })
      const client = yield* RawClient.connect(port)
      yield* client.write(L.chunkedRequest("PUT", "/stream?max_body_size=10240", ["a".repeat(10240)]))
      const raised = yield* client.readResponse()
      expect(raised.status).toBe(200)
      expect(raised.json().bodyLength).toBe(10240)
      yield* client.write(L.chunkedRequest("PUT", "/stream", ["a".repeat(10240)]))
      expect((yield* readThenClose(client)).status).toBe(413)
    }))

  it.live("setMaxBodySize from a handler of our own, then the next request on the connection has the default", () => {
    const handler = (request: HTTPServerRequest) =>
      Effect.gen(function*() {
        if (request.path === "/big") yield* request.setMaxBodySize(20000)
        const body = yield* request.body
        return Response.text(String(body.byteLength))
      })
    return Effect.gen(function*() {
      const { port } = yield* serve(handler, { maxBodySize: LIMIT })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("PUT", "/big", "a".repeat(20000)))
      const big = yield* client.readResponse()
      expect(big.status).toBe(200)
      expect(big.text).toBe("20000")
      yield* client.write(RawClient.withBody("PUT", "/small", "a".repeat(LIMIT)))
      const small = yield* client.readResponse()
      expect(small.text).toBe(String(LIMIT))
      yield* client.write(RawClient.withBody("PUT", "/small", "a".repeat(LIMIT + 1)))
      expect((yield* readThenClose(client)).status).toBe(413)
    })
  })

  it.live("setMaxBodySize lowers the limit too: Content-Length and chunked", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxBodySize: LIMIT })
      const first = yield* RawClient.connect(port)
      yield* first.write(RawClient.withBody("PUT", "/stream?max_body_size=100", "a".repeat(101)))
      expect((yield* readThenClose(first)).status).toBe(413)
      const second = yield* RawClient.connect(port)
      yield* second.write(L.chunkedRequest("PUT", "/stream?max_body_size=100", ["a".repeat(60), "a".repeat(60)]))
      expect((yield* readThenClose(second)).status).toBe(413)
      const third = yield* RawClient.connect(port)
      yield* third.write(RawClient.withBody("PUT", "/stream?max_body_size=100", "a".repeat(100)))
      const atLimit = yield* third.readResponse()
      expect(atLimit.status).toBe(200)
      expect(atLimit.json().bodyLength).toBe(100)
    }))
})

describe("maxBufferSize", () => {
  const config = { maxBodySize: 100_000, maxBufferSize: 1000 }

  it.live("a body to be buffered (/echo) over maxBufferSize, within maxBodySize: 413, then close", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo(config)
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("PUT", "/echo", "a".repeat(2000)))
      const response = yield* readThenClose(client)
      expect(response.status).toBe(413)
      expect(response.header("Connection")).toBe("close")
    }))

  it.live("the same body chunked: 413 while reading, then close", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo(config)
      const client = yield* RawClient.connect(port)
      yield* client.write(L.chunkedRequest("PUT", "/echo", ["a".repeat(500), "a".repeat(500), "a".repeat(500)]))
      expect((yield* readThenClose(client)).status).toBe(413)
    }))

  it.live("a buffered body of exactly maxBufferSize is read", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo(config)
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("PUT", "/echo", "a".repeat(1000)))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyLength).toBe(1000)
    }))

  it.live("a streaming reader (/stream) of the same body succeeds: bounded by maxBodySize only", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo(config)
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("PUT", "/stream", "a".repeat(50_000)))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyLength).toBe(50_000)
      yield* client.write(L.chunkedRequest("PUT", "/stream", ["a".repeat(20_000), "a".repeat(30_000)]))
      const chunked = yield* client.readResponse()
      expect(chunked.status).toBe(200)
      expect(chunked.json().bodyLength).toBe(50_000)
    }))
})

describe("chunkSize (Tornado's StreamingChunkSizeTest)", () => {
  const expectPieces = (sizes: ReadonlyArray<number>, chunkSize: number, total: number) => {
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(total)
    for (const size of sizes) {
      expect(size).toBeGreaterThan(0)
      expect(size).toBeLessThanOrEqual(chunkSize)
    }
  }

  it.live("a 50-byte Content-Length body with chunkSize 16 comes as [16, 16, 16, 2]", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(pieceSizes, { chunkSize: 16 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("POST", "/", BODY50))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json()).toEqual([16, 16, 16, 2])
    }))

  it.live("the same 50 bytes as HTTP chunks of 20 and 30 come as [16, 4, 16, 14]", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(pieceSizes, { chunkSize: 16 })
      const client = yield* RawClient.connect(port)
      yield* client.write(L.chunkedRequest("POST", "/", [BODY50.slice(0, 20), BODY50.slice(20)]))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json()).toEqual([16, 4, 16, 14])
    }))

  it.live("pieces are never empty nor over chunkSize, however the bytes arrive", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(pieceSizes, { chunkSize: 16 })
      const client = yield* RawClient.connect(port)
      const body = "x".repeat(1000)
      // Content-Length body dribbled in odd pieces
      yield* client.write(L.head("POST", "/", `Content-Length: ${body.length}`))
      yield* client.writeInPieces(body, 37, 2)
      const first = yield* client.readResponse()
      expectPieces(first.json(), 16, 1000)
      // chunked body with odd chunk sizes, itself dribbled in odd pieces
      const framed = L.chunkedRequest("POST", "/", ["y".repeat(7), "y".repeat(33), "y".repeat(16), "y".repeat(944)])
      yield* client.writeInPieces(framed, 29, 2)
      const second = yield* client.readResponse()
      expect(second.status).toBe(200)
      expectPieces(second.json(), 16, 1000)
    }))

  it.live("through the demo /stream route: chunks in its JSON", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ chunkSize: 16 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("POST", "/stream", BODY50))
      const plain = yield* client.readResponse()
      expect(plain.json()).toEqual({ chunks: [16, 16, 16, 2], bodyLength: 50 })
      yield* client.write(L.chunkedRequest("POST", "/stream", [BODY50.slice(0, 20), BODY50.slice(20)]))
      const chunked = yield* client.readResponse()
      expect(chunked.json()).toEqual({ chunks: [16, 4, 16, 14], bodyLength: 50 })
    }))

  it.live("a buffered read is not cut: request.body gives the whole body at once", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ chunkSize: 16 })
      const client = yield* RawClient.connect(port)
      yield* client.write(
        RawClient.withBody("POST", "/echo", "a=" + "z".repeat(100), "Content-Type: application/x-www-form-urlencoded")
      )
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyLength).toBe(102)
      expect(response.json().bodyArguments).toEqual({ a: ["z".repeat(100)] })
    }))
})

describe("backpressure", () => {
  /** Reads `request.stream` as fast as it comes (no async step per piece) and hashes it. */
  const hashingReader = (request: HTTPServerRequest) =>
    Effect.gen(function*() {
      const hasher = L.makeHasher()
      let length = 0
      yield* Stream.runForEach(request.stream, (piece) =>
        Effect.sync(() => {
          hasher.update(piece)
          length += piece.byteLength
        }))
      return Response.json({ length, sha1: hasher.digest() })
    })

  it.live("a fast streaming reader gets every byte once and in order (1 MB in 64 KiB writes)", () =>
    Effect.gen(function*() {
      const TOTAL = 1024 * 1024
      const { port } = yield* serve(hashingReader, { maxBodySize: TOTAL })
      const client = yield* RawClient.connect(port)
      yield* client.write(L.head("PUT", "/", `Content-Length: ${TOTAL}`))
      const sent = yield* L.sendPatterned(client, TOTAL)
      const response = yield* client.readResponse({ timeoutMillis: 5000 })
      expect(response.status).toBe(200)
      expect(response.json()).toEqual({ length: TOTAL, sha1: sent })
      // Nothing of the body may be left over to be read as another request.
      expect(yield* client.closesWithin(100)).toBe(false)
      expect(client.pending.toString("latin1")).toBe("")
    }))

  it.live("the same with a chunked body", () =>
    Effect.gen(function*() {
      const TOTAL = 1024 * 1024
      const { port } = yield* serve(hashingReader, { maxBodySize: TOTAL })
      const client = yield* RawClient.connect(port)
      const hasher = L.makeHasher()
      const pieces: Array<Buffer> = []
      for (let i = 0; i < 16; i++) {
        const piece = Buffer.alloc(TOTAL / 16, i + 1)
        hasher.update(piece)
        pieces.push(piece)
      }
      const framed = L.chunkedRequest("PUT", "/", pieces)
      yield* client.writeInPieces(framed, 64 * 1024, 1)
      const response = yield* client.readResponse({ timeoutMillis: 5000 })
      expect(response.status).toBe(200)
      expect(response.json()).toEqual({ length: TOTAL, sha1: hasher.digest() })
      expect(yield* client.closesWithin(100)).toBe(false)
    }))

  it.live(
    "a slow streaming reader of a 20 MB body: the body arrives whole and the server's memory stays bounded",
    () => {
      const TOTAL = 20 * 1024 * 1024
      let peakRss = 0
      const handler = (request: HTTPServerRequest) =>
        Effect.gen(function*() {
          const hasher = L.makeHasher()
          let length = 0
          let pieces = 0
          yield* Stream.runForEach(request.stream, (piece) =>
            Effect.gen(function*() {
              hasher.update(piece)
              length += piece.byteLength
              pieces++
              // what the server holds, garbage collected: every 16th piece
              if (pieces % 16 === 0) peakRss = Math.max(peakRss, L.retainedRss())
              yield* Effect.sleep(2)
            }))
          return Response.json({ length, pieces, sha1: hasher.digest() })
        })
      return Effect.gen(function*() {
        const { port } = yield* serve(handler, { maxBodySize: TOTAL, chunkSize: 64 * 1024 })
        const client = yield* RawClient.connect(port)
        const before = L.retainedRss()
        peakRss = before
        yield* client.write(L.head("PUT", "/", `Content-Length: ${TOTAL}`))
        const sent = yield* L.sendPatterned(client, TOTAL)
        const response = yield* client.readResponse({ timeoutMillis: 15_000 })
        expect(response.status).toBe(200)
        const result = response.json()
        expect(result.length).toBe(TOTAL)
        expect(result.sha1).toBe(sent)
        const growth = peakRss - before
        expect(growth, `rss grew by ${(growth / 1e6).toFixed(1)} MB`).toBeLessThan(8 * 1024 * 1024)
      })
    },
    30_000
  )
})
