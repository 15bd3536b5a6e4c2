/**
 * Request decompression (`decompressRequest`): Tornado's GzipTest,
 * GzipUnsupportedTest and the compressed cases of StreamingChunkSizeTest,
 * plus decompression bombs and corrupt bodies.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import type { HTTPServerRequest } from "../../src/Request/HTTPServerRequest.ts"
import * as Response from "../../src/Response/Response.ts"
import * as L from "../support/LimitsClient.ts"
import * as RawClient from "../support/RawClient.ts"
import { serve, serveDemo } from "../support/TestServer.ts"

const FORM = "Content-Type: application/x-www-form-urlencoded"

/** A POST to /echo of `body` with these header lines. */
const post = (path: string, body: Buffer | string, ...headerLines: Array<string>) =>
  RawClient.withBody("POST", path, body, ...headerLines)

const headerNames = (echo: { headers: Array<[string, string]> }) => echo.headers.map(([name]) => name.toLowerCase())

/**
 * The response just requested is a 400 that keeps the connection (the body
 * was read whole), and the same connection then serves a plain form.
 */
const expect400ThenUsable = (client: RawClient.RawConnection) =>
  Effect.gen(function*() {
    const response = yield* client.readResponse()
    expect(response.status).toBe(400)
    expect(response.header("Connection")).toBeUndefined()
    yield* client.write(post("/echo", "foo=bar", FORM))
    const second = yield* client.readResponse()
    expect(second.status).toBe(200)
    expect(second.json().bodyArguments).toEqual({ foo: ["bar"] })
  })

/** A handler that streams its body and answers the piece sizes and the bytes' SHA-1. */
const pieces = (request: HTTPServerRequest) =>
  Effect.gen(function*() {
    const sizes: Array<number> = []
    const hasher = L.makeHasher()
    yield* Stream.runForEach(request.stream, (piece) =>
      Effect.sync(() => {
        sizes.push(piece.byteLength)
        hasher.update(piece)
      }))
    return Response.json({ sizes, sha1: hasher.digest() })
  })

const sha1 = (data: string | Uint8Array) => {
  const hasher = L.makeHasher()
  hasher.update(typeof data === "string" ? Buffer.from(data) : data)
  return hasher.digest()
}

const expectPieces = (sizes: ReadonlyArray<number>, chunkSize: number, total: number) => {
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(total)
  for (const size of sizes) {
    expect(size).toBeGreaterThan(0)
    expect(size).toBeLessThanOrEqual(chunkSize)
  }
}

describe("decompressRequest: on (Tornado's GzipTest)", () => {
  it.live("an uncompressed body is parsed as usual", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ decompressRequest: true })
      const client = yield* RawClient.connect(port)
      yield* client.write(post("/echo", "foo=bar", FORM))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyArguments).toEqual({ foo: ["bar"] })
    }))

  it.live("gzip: decoded and parsed into arguments; Content-Encoding is gone from the headers", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ decompressRequest: true })
      const client = yield* RawClient.connect(port)
      yield* client.write(post("/echo?a=1", L.gzip("foo=bar"), FORM, "Content-Encoding: gzip"))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      const echo = response.json()
      expect(echo.bodyArguments).toEqual({ foo: ["bar"] })
      expect(echo.arguments).toEqual({ a: ["1"], foo: ["bar"] })
      expect(echo.bodyLength).toBe(7)
      expect(headerNames(echo)).not.toContain("content-encoding")
      expect(headerNames(echo)).toContain("content-type")
    }))

  it.live("GZIP in upper case is the same coding (test_gzip_case_insensitive)", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ decompressRequest: true })
      const client = yield* RawClient.connect(port)
      yield* client.write(post("/echo", L.gzip("foo=bar"), FORM, "Content-Encoding: GZIP"))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyArguments).toEqual({ foo: ["bar"] })
      expect(headerNames(response.json())).not.toContain("content-encoding")
    }))

  it.live("deflate (the zlib format) is decoded too, any case", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ decompressRequest: true })
      const client = yield* RawClient.connect(port)
      for (const name of ["deflate", "Deflate"]) {
        yield* client.write(post("/echo", L.deflate("foo=bar&x=%C3%A9"), FORM, `Content-Encoding: ${name}`))
        const response = yield* client.readResponse()
        expect(response.status).toBe(200)
        expect(response.json().bodyArguments).toEqual({ foo: ["bar"], x: ["é"] })
        expect(response.json().bodyLength).toBe(16)
        expect(headerNames(response.json())).not.toContain("content-encoding")
      }
    }))

  it.live("a gzip body sent with chunked transfer coding is decoded", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ decompressRequest: true })
      const client = yield* RawClient.connect(port)
      const compressed = L.gzip("foo=bar&foo=baz&empty=")
      yield* client.write(
        L.chunkedRequest("POST", "/echo", [compressed.subarray(0, 20), compressed.subarray(20)], FORM, "Content-Encoding: gzip")
      )
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyArguments).toEqual({ foo: ["bar", "baz"], empty: [""] })
    }))

  it.live("a streaming reader (/stream) gets the decoded bytes: bodyLength is the decoded length", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ decompressRequest: true })
      const client = yield* RawClient.connect(port)
      const text = "hello ".repeat(1000)
      yield* client.write(post("/stream", L.gzip(text), "Content-Encoding: gzip"))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyLength).toBe(text.length)
    }))

  it.live("a coding the server does not decode (br) is left alone: 400 from /echo, connection usable", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ decompressRequest: true })
      const client = yield* RawClient.connect(port)
      yield* client.write(post("/echo", "not really brotli", FORM, "Content-Encoding: br"))
      yield* expect400ThenUsable(client)
    }))

  it.live("decoded pieces are still bounded by chunkSize (StreamingChunkSizeTest, compressed cases)", () =>
    Effect.gen(function*() {
      const BODY = "01234567890123456789012345678901234567890123456789"
      const { port } = yield* serve(pieces, { decompressRequest: true, chunkSize: 16 })
      const client = yield* RawClient.connect(port)
      const compressed = L.gzip(BODY)
      // test_compressed_body
      yield* client.write(post("/", compressed, "Content-Encoding: gzip"))
      const plain = (yield* client.readResponse()).json()
      expectPieces(plain.sizes, 16, 50)
      expect(plain.sha1).toBe(sha1(BODY))
      // test_chunked_compressed
      expect(compressed.length).toBeGreaterThan(20)
      yield* client.write(
        L.chunkedRequest("POST", "/", [compressed.subarray(0, 20), compressed.subarray(20)], "Content-Encoding: gzip")
      )
      const chunked = (yield* client.readResponse()).json()
      expectPieces(chunked.sizes, 16, 50)
      expect(chunked.sha1).toBe(sha1(BODY))
    }))

  it.live("a larger compressed body: every piece within chunkSize, the bytes intact", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(pieces, { decompressRequest: true, chunkSize: 1000 })
      const client = yield* RawClient.connect(port)
      const text = Array.from({ length: 20000 }, (_, i) => `line ${i}\n`).join("") // ~190 KB
      yield* client.write(post("/", L.gzip(text), "Content-Encoding: gzip"))
      const response = yield* client.readResponse({ timeoutMillis: 5000 })
      expect(response.status).toBe(200)
      const result = response.json()
      expectPieces(result.sizes, 1000, Buffer.byteLength(text))
      expect(result.sha1).toBe(sha1(text))
    }))

  it.live("corrupt gzip gets 400", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ decompressRequest: true })
      const garbage = yield* RawClient.connect(port)
      yield* garbage.write(post("/echo", "this is not gzip at all", FORM, "Content-Encoding: gzip"))
      expect((yield* garbage.readResponse()).status).toBe(400)

      const valid = L.gzip("foo=bar&more=" + "x".repeat(100))
      const flipped = Buffer.from(valid)
      flipped[15] = (flipped[15] as number) ^ 0xff // inside the deflate data
      flipped[16] = (flipped[16] as number) ^ 0xff
      const damaged = yield* RawClient.connect(port)
      yield* damaged.write(post("/echo", flipped, FORM, "Content-Encoding: gzip"))
      expect((yield* damaged.readResponse()).status).toBe(400)

      const truncated = yield* RawClient.connect(port)
      yield* truncated.write(post("/stream", valid.subarray(0, valid.length - 10), "Content-Encoding: gzip"))
      expect((yield* truncated.readResponse()).status).toBe(400)
    }))

  it.live("a decompression bomb fails with 413 fast, and the server's memory does not follow the inflated size", () =>
    Effect.gen(function*() {
      const INFLATED = 50 * 1024 * 1024
      const bomb = L.gzipBomb(INFLATED)
      expect(bomb.length).toBeLessThan(100 * 1024)
      const { port } = yield* serveDemo({ decompressRequest: true, maxBodySize: 1024 * 1024 })
      for (const path of ["/echo", "/stream"]) {
        const before = L.rss()
        const client = yield* RawClient.connect(port)
        const [millis, response] = yield* L.timed(Effect.gen(function*() {
          yield* client.write(post(path, bomb, FORM, "Content-Encoding: gzip"))
          return yield* client.readResponse({ timeoutMillis: 5000 })
        }))
        const growth = L.rss() - before
        expect(response.status).toBe(413)
        expect(millis).toBeLessThan(1000)
        expect(growth, `rss grew by ${(growth / 1e6).toFixed(1)} MB`).toBeLessThan(30 * 1024 * 1024)
        expect((yield* client.readUntilClose()).length).toBe(0)
      }
    }))

  it.live("a compressed body decoding past maxBufferSize for a buffered read gets 413", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ decompressRequest: true, maxBodySize: 100_000, maxBufferSize: 10_000 })
      const client = yield* RawClient.connect(port)
      yield* client.write(post("/echo", L.gzip("a=" + "b".repeat(20_000)), FORM, "Content-Encoding: gzip"))
      const response = yield* client.readResponse()
      expect(response.status).toBe(413)
      expect((yield* client.readUntilClose()).length).toBe(0)
      // streamed, the same body is fine
      const streaming = yield* RawClient.connect(port)
      yield* streaming.write(post("/stream", L.gzip("a=" + "b".repeat(20_000)), "Content-Encoding: gzip"))
      const streamed = yield* streaming.readResponse()
      expect(streamed.status).toBe(200)
      expect(streamed.json().bodyLength).toBe(20_002)
    }))
})

describe("decompressRequest: off (Tornado's GzipUnsupportedTest)", () => {
  it.live("a gzip body to /echo gets 400, and the connection stays usable", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo()
      const client = yield* RawClient.connect(port)
      yield* client.write(post("/echo", L.gzip("foo=bar"), FORM, "Content-Encoding: gzip"))
      yield* expect400ThenUsable(client)
    }))

  it.live("the same for deflate, and Content-Encoding stays in the headers a streaming reader sees", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo()
      const client = yield* RawClient.connect(port)
      yield* client.write(post("/echo", L.deflate("foo=bar"), FORM, "Content-Encoding: deflate"))
      expect((yield* client.readResponse()).status).toBe(400)
      // /stream does not parse: it gets the bytes as sent
      const compressed = L.gzip("foo=bar")
      yield* client.write(post("/stream", compressed, "Content-Encoding: gzip"))
      const streamed = yield* client.readResponse()
      expect(streamed.status).toBe(200)
      expect(streamed.json().bodyLength).toBe(compressed.length)
    }))

  it.live("a compressed body that is not a form has no arguments to parse: /echo answers 200", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo()
      const client = yield* RawClient.connect(port)
      const compressed = L.gzip("not a form")
      yield* client.write(post("/echo", compressed, "Content-Type: application/octet-stream", "Content-Encoding: gzip"))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyArguments).toEqual({})
      expect(response.json().bodyLength).toBe(compressed.length)
    }))

  it.live("Content-Encoding: identity is no coding: parsed as usual", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo()
      const client = yield* RawClient.connect(port)
      yield* client.write(post("/echo", "foo=bar", FORM, "Content-Encoding: identity"))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyArguments).toEqual({ foo: ["bar"] })
    }))
})
