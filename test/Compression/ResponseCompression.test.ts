/**
 * `ResponseCompression.middleware` on a real server, seen by real clients:
 * curl (`--compressed`, each coding), Node's `fetch`, and a raw socket for
 * the exact bytes; responses it must leave alone are byte for byte what the
 * handler alone sends; a property: any body, any chunking, any
 * `Accept-Encoding` decodes back to the body.
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import * as Zlib from "node:zlib"
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Deferred, Effect, Schema, Stream } from "effect"
import * as ResponseCompression from "../../src/Compression/ResponseCompression.ts"
import type { HTTPServerRequest } from "../../src/Request/HTTPServerRequest.ts"
import * as Response from "../../src/Response/Response.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeLogCapture, serve } from "../support/TestServer.ts"

const run = promisify(execFile)
const encoder = new TextEncoder()

/** 10 KiB of JSON, as the bench serves. */
const JSON_VALUE = Array.from({ length: 100 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ["alpha", "beta"], ok: i % 2 === 0 }))
const JSON_TEXT = JSON.stringify(JSON_VALUE)
const TEXT = "All work and no play makes Jack a dull boy.\n".repeat(100)
/** Past the size compressed inline: compressed in zlib's thread pool. */
const BIG_TEXT = Array.from({ length: 20_000 }, (_, i) => `line ${i}: ${(i * 7919) % 10007}\n`).join("")
const STREAM_PIECES = ["first piece\n", "second piece ".repeat(100), "third\n"]
const STREAM_LENGTH = STREAM_PIECES.join("").length

const bodyStream = (pieces: ReadonlyArray<string>) => Stream.fromIterable(pieces.map((piece) => encoder.encode(piece)))

/** The routes the tests ask for. */
const routes = (request: HTTPServerRequest): Response.Response => {
  switch (request.path) {
    case "/json":
      return Response.json(JSON_VALUE)
    case "/text":
      return Response.text(TEXT, { headers: { "ETag": "\"v1\"", "vary": "Origin" } })
    case "/weak-etag":
      return Response.text(TEXT, { headers: { "etag": "W/\"v1\"" } })
    case "/stream":
      return Response.stream(bodyStream(STREAM_PIECES), { contentType: "text/plain" })
    case "/stream-known-length":
      return Response.stream(bodyStream(STREAM_PIECES), { contentType: "text/plain", contentLength: STREAM_LENGTH })
    case "/big":
      return Response.text(BIG_TEXT)
    case "/small":
      return Response.text("small")
    case "/small-stream":
      return Response.stream(bodyStream(["tiny"]), { contentType: "text/plain", contentLength: 4 })
    case "/png":
      return Response.bytes(new Uint8Array(4096), { headers: { "Content-Type": "image/png" } })
    case "/no-content-type":
      return { status: 200, headers: {}, body: { _tag: "Text", text: TEXT } }
    case "/no-transform":
      return Response.text(TEXT, { headers: { "Cache-Control": "public, No-Transform" } })
    case "/encoded":
      return Response.bytes(Zlib.gzipSync(TEXT), { headers: { "Content-Type": "text/plain", "Content-Encoding": "gzip" } })
    case "/range":
      return Response.text(TEXT.slice(0, 2000), { status: 206, headers: { "Content-Range": `bytes 0-1999/${TEXT.length}` } })
    case "/range-200":
      return Response.text(TEXT, { headers: { "Content-Range": `bytes 0-${TEXT.length - 1}/${TEXT.length}` } })
    case "/204":
      return Response.empty()
    case "/304":
      return Response.text(TEXT, { status: 304 })
    default:
      return Response.text("not found", { status: 404 })
  }
}

const handler = (request: HTTPServerRequest) => Effect.succeed(routes(request))
const compressed = ResponseCompression.middleware()(handler)

/** The body in the coding the response names (none: as it is). */
const decode = (coding: string | undefined, body: Buffer): Buffer => {
  switch (coding) {
    case undefined:
      return body
    case "gzip":
      return Zlib.gunzipSync(body)
    case "br":
      return Zlib.brotliDecompressSync(body)
    case "zstd":
      return Zlib.zstdDecompressSync(body)
    default:
      throw new Error(`unexpected Content-Encoding ${coding}`)
  }
}

const request = (port: number, path: string, ...headerLines: Array<string>) =>
  RawClient.requestOnce(port, RawClient.get(path, ...headerLines))

describe("whole bodies", () => {
  for (const coding of ["gzip", "br", "zstd"] as const) {
    it.live(`${coding}: Content-Encoding, Vary, a Content-Length of the compressed size; decodes to the JSON`, () =>
      Effect.gen(function*() {
        const { port } = yield* serve(compressed)
        const response = yield* request(port, "/json", `Accept-Encoding: ${coding}`)
        expect(response.header("Content-Encoding")).toBe(coding)
        expect(response.header("Vary")).toBe("Accept-Encoding")
        expect(response.framing).toBe("content-length")
        expect(Number(response.header("Content-Length"))).toBe(response.body.length)
        expect(response.body.length).toBeLessThan(JSON_TEXT.length / 3)
        expect(decode(coding, response.body).toString()).toBe(JSON_TEXT)
        expect(response.header("Content-Type")).toBe("application/json; charset=utf-8")
        const big = yield* request(port, "/big", `Accept-Encoding: ${coding}`)
        expect(big.header("Content-Encoding")).toBe(coding)
        expect(Number(big.header("Content-Length"))).toBe(big.body.length)
        expect(decode(coding, big.body).toString()).toBe(BIG_TEXT)
      }))
  }

  it.live("a strong ETag is weakened, a weak one kept; Vary keeps its members and adds Accept-Encoding", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(compressed)
      const text = yield* request(port, "/text", "Accept-Encoding: gzip")
      expect(text.header("ETag")).toBe("W/\"v1\"")
      expect(text.headerAll("Vary")).toEqual(["Origin, Accept-Encoding"])
      const weak = yield* request(port, "/weak-etag", "Accept-Encoding: gzip")
      expect(weak.header("ETag")).toBe("W/\"v1\"")
    }))

  it.live("nothing acceptable, or no Accept-Encoding: as it is, with Vary (the answer depended on the header)", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(compressed)
      for (const lines of [[], ["Accept-Encoding: identity"], ["Accept-Encoding: identity;q=0"], ["Accept-Encoding: deflate"]]) {
        const response = yield* request(port, "/text", ...lines)
        expect(response.status).toBe(200)
        expect(response.header("Content-Encoding")).toBeUndefined()
        expect(response.header("Vary")).toBe("Origin, Accept-Encoding")
        // Nothing coded, so the validator still names these bytes.
        expect(response.header("ETag")).toBe("\"v1\"")
        expect(response.text).toBe(TEXT)
      }
    }))

  it.live("q-values choose; equal ones fall to the server's order", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(ResponseCompression.middleware({ codings: ["zstd", "gzip", "br"] })(handler))
      const codingFor = (acceptEncoding: string) =>
        Effect.map(request(port, "/json", `Accept-Encoding: ${acceptEncoding}`), (r) => r.header("Content-Encoding"))
      expect(yield* codingFor("gzip, br, zstd")).toBe("zstd")
      expect(yield* codingFor("gzip, br;q=0.9, zstd;q=0.5")).toBe("gzip")
      expect(yield* codingFor("*, zstd;q=0")).toBe("gzip")
    }))
})

describe("streams", () => {
  for (const coding of ["gzip", "br", "zstd"] as const) {
    it.live(`${coding}: chunked, each piece a chunk of its own, decodes to the stream's bytes`, () =>
      Effect.gen(function*() {
        const { port } = yield* serve(compressed)
        for (const path of ["/stream", "/stream-known-length"]) {
          const response = yield* request(port, path, `Accept-Encoding: ${coding}`)
          expect(response.header("Content-Encoding")).toBe(coding)
          expect(response.header("Vary")).toBe("Accept-Encoding")
          expect(response.framing).toBe("chunked")
          expect(response.chunkSizes.length).toBeGreaterThanOrEqual(STREAM_PIECES.length)
          expect(response.header("Content-Length")).toBeUndefined()
          expect(decode(coding, response.body).toString()).toBe(STREAM_PIECES.join(""))
        }
      }))
  }

  for (const coding of ["gzip", "br", "zstd"] as const) {
    it.live(`${coding}: each event reaches the client (fetch, decoded) before the next is produced`, () =>
      Effect.gen(function*() {
        const released = yield* Deferred.make<void>()
        const events = Stream.concat(
          Stream.make(encoder.encode("data: one\n\n")),
          Stream.fromEffect(Effect.as(Deferred.await(released), encoder.encode("data: two\n\n")))
        )
        const { port } = yield* serve(ResponseCompression.middleware()(() =>
          Effect.succeed(Response.stream(events, { contentType: "text/event-stream" }))
        ))
        const response = yield* Effect.promise(() =>
          fetch(`http://127.0.0.1:${port}/events`, { headers: { "Accept-Encoding": coding } })
        )
        expect(response.headers.get("content-encoding")).toBe(coding)
        const reader = response.body!.getReader()
        const first = yield* Effect.promise(() => reader.read())
        expect(Buffer.from(first.value!).toString()).toBe("data: one\n\n")
        yield* Deferred.succeed(released, undefined)
        let rest = ""
        for (;;) {
          const next = yield* Effect.promise(() => reader.read())
          if (next.done) break
          rest += Buffer.from(next.value).toString()
        }
        expect(rest).toBe("data: two\n\n")
      }))
  }
})

describe("left alone: byte for byte what the handler alone sends", () => {
  const withoutDate = (raw: Buffer) => raw.toString("latin1").replace(/\r\nDate: [^\r]*/, "")
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ["a body under the threshold", "GET", "/small"],
    ["a stream whose length is under the threshold", "GET", "/small-stream"],
    ["a type that does not compress (image/png)", "GET", "/png"],
    ["no Content-Type", "GET", "/no-content-type"],
    ["Cache-Control: no-transform", "GET", "/no-transform"],
    ["a Content-Encoding already", "GET", "/encoded"],
    ["206 with Content-Range", "GET", "/range"],
    ["a Content-Range on a 200", "GET", "/range-200"],
    ["204", "GET", "/204"],
    ["304", "GET", "/304"],
    ["HEAD of a whole body", "HEAD", "/json"],
    ["HEAD of a stream", "HEAD", "/stream"]
  ]
  for (const [name, method, path] of cases) {
    it.live(name, () =>
      Effect.gen(function*() {
        const plain = yield* serve(handler)
        const wrapped = yield* serve(compressed)
        const bytes = `${method} ${path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, br, zstd\r\n\r\n`
        const options = { head: method === "HEAD" }
        const expected = yield* RawClient.requestOnce(plain.port, bytes, options)
        const actual = yield* RawClient.requestOnce(wrapped.port, bytes, options)
        expect(withoutDate(actual.raw)).toBe(withoutDate(expected.raw))
        expect(actual.header("Content-Encoding")).toBe(path === "/encoded" ? "gzip" : undefined)
      }))
  }

  it.live("a success that is no Response is passed on: the server answers 500 as without the middleware", () =>
    Effect.gen(function*() {
      const capture = makeLogCapture()
      const { port } = yield* serve(
        ResponseCompression.middleware()(() => Effect.succeed("not a response" as unknown as Response.Response))
      ).pipe(Effect.provide(capture.layer))
      const response = yield* request(port, "/", "Accept-Encoding: gzip")
      expect(response.status).toBe(500)
      expect(capture.lines.map((line) => line.cause).join("\n")).toContain("NotAResponse")
    }))
})

describe("options", () => {
  it.live("the threshold and the content-type filter are the user's", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(
        ResponseCompression.middleware({ threshold: 0, compressible: (type) => type.startsWith("image/") })(handler)
      )
      const small = yield* request(port, "/small", "Accept-Encoding: gzip")
      expect(small.header("Content-Encoding")).toBeUndefined()
      const png = yield* request(port, "/png", "Accept-Encoding: gzip")
      expect(png.header("Content-Encoding")).toBe("gzip")
      expect(decode("gzip", png.body)).toEqual(Buffer.alloc(4096))
    }))

  it.live("the default threshold: 1024 bytes of UTF-8 are compressed, 1023 are not", () =>
    Effect.gen(function*() {
      const texts: ReadonlyArray<readonly [string, boolean]> = [
        ["x".repeat(1023), false],
        ["x".repeat(1024), true],
        ["é".repeat(511), false],
        ["é".repeat(512), true],
        ["€".repeat(342), true]
      ]
      for (const [text, expected] of texts) {
        const { port } = yield* serve(ResponseCompression.middleware()(() => Effect.succeed(Response.text(text))))
        const response = yield* request(port, "/", "Accept-Encoding: gzip")
        expect(response.header("Content-Encoding") === "gzip", `${Buffer.byteLength(text)} bytes`).toBe(expected)
        expect(decode(response.header("Content-Encoding"), response.body).toString()).toBe(text)
      }
    }))

  it("bad options: InvalidCompressionOptions naming each problem", () => {
    const bad = {
      codings: ["gzip", "deflate"],
      threshold: -1,
      levels: { gzip: 12, lzma: 1 }
    } as unknown as ResponseCompression.Options
    expect(() => ResponseCompression.middleware(bad)).toThrow(ResponseCompression.InvalidCompressionOptions)
    try {
      ResponseCompression.middleware(bad)
    } catch (error) {
      expect((error as Error).message.split("\n")).toEqual([
        "codings: \"deflate\" is not one of br, gzip, zstd",
        "threshold: must be a whole number of bytes, 0 or more, got -1",
        "levels.gzip: must be an integer from 1 to 9, got 12",
        "levels: \"lzma\" is not one of br, gzip, zstd"
      ])
    }
  })
})

describe("curl --compressed", () => {
  for (const coding of ["gzip", "br", "zstd"] as const) {
    it.live(`${coding} (the only coding offered): curl decodes the whole JSON and the stream`, () =>
      Effect.gen(function*() {
        const { port } = yield* serve(ResponseCompression.middleware({ codings: [coding] })(handler))
        for (const [path, expected] of [["/json", JSON_TEXT], ["/stream", STREAM_PIECES.join("")]] as const) {
          const { stdout } = yield* Effect.promise(() =>
            run("curl", ["--silent", "--show-error", "--compressed", "--include", `http://127.0.0.1:${port}${path}`])
          )
          const [head, body] = [stdout.slice(0, stdout.indexOf("\r\n\r\n")), stdout.slice(stdout.indexOf("\r\n\r\n") + 4)]
          expect(head).toMatch(new RegExp(`\\r\\nContent-Encoding: ${coding}\\r\\n`))
          expect(body).toBe(expected)
        }
      }))
  }
})

// ---------------------------------------------------------------------------
// Property

const int = (minimum: number, maximum: number) => Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))
const oneOf = <A>(items: ReadonlyArray<A>): Arbitrary.Arbitrary<A> => int(0, items.length - 1).pipe(Arbitrary.map((i) => items[i]!))

/** Bytes that compress (runs of a few letters) and bytes that do not (anything). */
const pieceArb = Arbitrary.array(oneOf([0x61, 0x62, 0x0a, 0x00, 0xff, 0x7b, 0x22]), { maxLength: 600 })
const noiseArb = Arbitrary.array(int(0, 255), { maxLength: 300 })

const acceptEncodingArb = Arbitrary.array(
  Arbitrary.all({
    coding: oneOf(["gzip", "br", "zstd", "deflate", "identity", "*", "x-gzip", "GZip"]),
    q: oneOf(["", ";q=0", ";q=0.5", ";q=1", " ; q=0.001"])
  }).pipe(Arbitrary.map(({ coding, q }) => coding + q)),
  { maxLength: 4 }
).pipe(Arbitrary.map((members) => members.join(", ")))

describe("property", () => {
  it.live.prop(
    "any body, any chunking, any Accept-Encoding: the client decodes the body back",
    {
      pieces: Arbitrary.array(Arbitrary.all({ repeated: pieceArb, noise: noiseArb }), { maxLength: 6 }),
      acceptEncoding: acceptEncodingArb,
      shape: oneOf(["text", "bytes", "stream", "stream with length"] as const)
    },
    ({ acceptEncoding, pieces, shape }) =>
      Effect.scoped(Effect.gen(function*() {
        const chunks = pieces.map(({ noise, repeated }) => new Uint8Array([...repeated, ...noise]))
        const body = Buffer.concat(chunks)
        const made = shape === "text"
          ? Response.text(body.toString("latin1"), { headers: { "Content-Type": "text/plain; charset=latin1" } })
          : shape === "bytes"
          ? Response.bytes(body, { headers: { "Content-Type": "text/plain" } })
          : Response.stream(Stream.fromIterable(chunks), {
            contentType: "text/plain",
            contentLength: shape === "stream" ? undefined : body.length
          })
        const { port } = yield* serve(ResponseCompression.middleware({ threshold: 100 })(() => Effect.succeed(made)))
        const response = yield* request(port, "/", `Accept-Encoding: ${acceptEncoding}`)
        const sent = shape === "text" ? Buffer.from(body.toString("latin1"), "utf8") : body
        expect(decode(response.header("Content-Encoding"), response.body)).toEqual(sent)
        return true
      })),
    { timeout: 60_000, arbitrary: { runs: 150 } }
  )
})
