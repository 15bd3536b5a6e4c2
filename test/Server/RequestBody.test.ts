/**
 * Request bodies: chunked coding, `Expect: 100-continue`, size limits and
 * timeouts (Tornado's HTTPServerRawTest chunked tests, test_100_continue,
 * StreamingChunkSizeTest, BodyLimitsTest).
 */
import * as Crypto from "node:crypto"
import * as Zlib from "node:zlib"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import type { HTTPServerRequest } from "../../src/Request/HTTPServerRequest.ts"
import * as Response from "../../src/Response/Response.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeLogCapture, serve, serveDemo } from "../support/TestServer.ts"

const FORM = "Content-Type: application/x-www-form-urlencoded"

const chunkedPost = (path: string, chunks: string, ...headerLines: Array<string>) =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n${
    headerLines.map((line) => line + "\r\n").join("")
  }\r\n${chunks}`

/** Answers with the body it read whole, as text. */
const echoBody = (request: HTTPServerRequest) => Effect.map(request.text, (text) => Response.text(text))

/** Answers with the body it read as a stream, piece by piece. */
const echoStream = (request: HTTPServerRequest) =>
  Effect.map(
    Stream.runCollect(request.stream),
    (pieces) => Response.text(Buffer.concat(Array.from(pieces)).toString("latin1"))
  )

describe("bodies arriving after the head, in several segments", () => {
  const body = "0123456789abcdefghijklmnopqrstuvwxyz"
  for (const [name, handler] of [["read whole", echoBody], ["streamed", echoStream]] as const) {
    it.live(`Content-Length body, ${name}: every byte once, in order`, () =>
      Effect.gen(function*() {
        const { port } = yield* serve(handler)
        const client = yield* RawClient.connect(port)
        yield* client.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`)
        yield* RawClient.sleepReal(10)
        yield* client.writeInPieces(body, 10, 5)
        const response = yield* client.readResponse()
        expect(response.status).toBe(200)
        expect(response.text).toBe(body)
      }))

    it.live(`chunked body, ${name}: every byte once, in order`, () =>
      Effect.gen(function*() {
        const { port } = yield* serve(handler)
        const client = yield* RawClient.connect(port)
        yield* client.write("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        yield* RawClient.sleepReal(10)
        yield* client.write(`a\r\n${body.slice(0, 10)}\r\n`)
        yield* RawClient.sleepReal(5)
        yield* client.write(`1a\r\n${body.slice(10)}\r\n0\r\n\r\n`)
        const response = yield* client.readResponse()
        expect(response.status).toBe(200)
        expect(response.text).toBe(body)
      }))
  }
})

describe("large bodies (many TCP reads)", () => {
  const big = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 10)) & 0xff
  const digest = (bytes: Uint8Array) => Crypto.createHash("sha256").update(bytes).digest("hex")

  /** Answers with the length and SHA-256 of the body it read. */
  const hashWhole = (request: HTTPServerRequest) =>
    Effect.map(request.body, (body) => Response.text(`${body.byteLength} ${digest(body)}`))
  const hashStream = (request: HTTPServerRequest) =>
    Effect.map(Stream.runCollect(request.stream), (pieces) => {
      const body = Buffer.concat(Array.from(pieces))
      return Response.text(`${body.byteLength} ${digest(body)}`)
    })

  for (const [name, handler] of [["read whole", hashWhole], ["streamed", hashStream]] as const) {
    it.live(`a 1 MiB Content-Length body, ${name}, arrives intact`, () =>
      Effect.gen(function*() {
        const { port } = yield* serve(handler)
        const client = yield* RawClient.connect(port)
        yield* client.write(RawClient.withBody("POST", "/", big))
        const response = yield* client.readResponse({ timeoutMillis: 5000 })
        expect(response.text).toBe(`${big.length} ${digest(big)}`)
      }))

    it.live(`a 1 MiB chunked body, ${name}, arrives intact`, () =>
      Effect.gen(function*() {
        const { port } = yield* serve(handler)
        const client = yield* RawClient.connect(port)
        const pieces: Array<Buffer> = [Buffer.from("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")]
        for (let i = 0; i < big.length; i += 100_000) {
          const data = big.subarray(i, i + 100_000)
          pieces.push(Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from("\r\n"))
        }
        pieces.push(Buffer.from("0\r\n\r\n"))
        yield* client.write(Buffer.concat(pieces))
        const response = yield* client.readResponse({ timeoutMillis: 5000 })
        expect(response.text).toBe(`${big.length} ${digest(big)}`)
      }))
  }
})

describe("chunked request bodies", () => {
  const tornadoBody = "4\r\nfoo=\r\n3\r\nbar\r\n0\r\n\r\n"

  it.live("are decoded (Tornado's test_chunked_request_body)", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo()
      const client = yield* RawClient.connect(port)
      yield* client.write(chunkedPost("/echo", tornadoBody, FORM))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().arguments).toEqual({ foo: ["bar"] })
      expect(response.json().bodyLength).toBe(7)
    }))

  it.live("Transfer-Encoding is case-insensitive (Chunked)", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo()
      const client = yield* RawClient.connect(port)
      yield* client.write(
        `POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n${FORM}\r\n\r\n${tornadoBody}`
      )
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().arguments).toEqual({ foo: ["bar"] })
    }))

  for (const pieceSize of [1, 2, 3, 5]) {
    it.live(`head and body split every ${pieceSize} byte(s), with pauses`, () =>
      Effect.gen(function*() {
        const { port } = yield* serveDemo()
        const client = yield* RawClient.connect(port)
        const body = "4\r\nfoo=\r\n3;ext=1\r\nbar\r\n1\r\n&\r\na\r\nbaz=quxquu\r\n0\r\nX-Trailer: t\r\n\r\n"
        yield* client.writeInPieces(chunkedPost("/echo?q=1", body, FORM), pieceSize, 1)
        const response = yield* client.readResponse({ timeoutMillis: 5000 })
        expect(response.status).toBe(200)
        expect(response.json().arguments).toEqual({ q: ["1"], foo: ["bar"], baz: ["quxquu"] })
        expect(response.json().bodyLength).toBe(18)
        // The next request on the connection parses from the right place.
        yield* client.write(RawClient.get("/"))
        expect((yield* client.readResponse()).text).toBe("Hello world")
      }))
  }

  it.live("trailer fields are read past; the next request on the connection is served", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo()
      const client = yield* RawClient.connect(port)
      yield* client.write(
        chunkedPost("/echo", "3\r\na=1\r\n0\r\nX-Checksum: abc\r\nX-Other: 2\r\n\r\n", FORM) +
          RawClient.get("/echo?next=1")
      )
      const first = yield* client.readResponse()
      expect(first.status).toBe(200)
      expect(first.json().bodyArguments).toEqual({ a: ["1"] })
      const second = yield* client.readResponse()
      expect(second.status).toBe(200)
      expect(second.json().queryArguments).toEqual({ next: ["1"] })
    }))

  it.live("chunk extensions are skipped", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo()
      const client = yield* RawClient.connect(port)
      yield* client.write(
        chunkedPost("/echo", "4;name=value\r\nfoo=\r\n3 ; a=\"quoted;str\" ; b\r\nbar\r\n0;last\r\n\r\n", FORM)
      )
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().arguments).toEqual({ foo: ["bar"] })
    }))

  it.live("a streaming reader sees the HTTP chunks as pieces, never larger than chunkSize", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ chunkSize: 4 })
      const client = yield* RawClient.connect(port)
      yield* client.write(chunkedPost("/stream", "3\r\nabc\r\na\r\n0123456789\r\n0\r\n\r\n"))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      const { chunks, bodyLength } = response.json()
      expect(bodyLength).toBe(13)
      expect(chunks[0]).toBe(3)
      expect(chunks.every((n: number) => n > 0 && n <= 4)).toBe(true)
      expect(chunks.reduce((a: number, b: number) => a + b, 0)).toBe(13)
    }))

  it.live("a Content-Length body streams in pieces of at most chunkSize", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ chunkSize: 4 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("POST", "/stream", "a".repeat(10)))
      const response = yield* client.readResponse()
      const { chunks, bodyLength } = response.json()
      expect(bodyLength).toBe(10)
      expect(chunks.every((n: number) => n > 0 && n <= 4)).toBe(true)
    }))
})

describe("Expect: 100-continue", () => {
  it.live("100 Continue arrives before the body is sent, then the final response", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo()
      const client = yield* RawClient.connect(port)
      yield* client.write(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
      )
      const interim = yield* client.readResponse()
      expect(interim.raw.toString("latin1")).toBe("HTTP/1.1 100 Continue\r\n\r\n")
      yield* client.write("a".repeat(1024))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyLength).toBe(1024)
      expect((yield* client.readUntilClose()).length).toBe(0)
    }))

  it.live("100 Continue, body, then the connection stays usable", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo()
      const client = yield* RawClient.connect(port)
      yield* client.write(
        `POST /echo HTTP/1.1\r\nHost: x\r\n${FORM}\r\nContent-Length: 7\r\nExpect: 100-continue\r\n\r\n`
      )
      expect((yield* client.readResponse()).status).toBe(100)
      yield* client.write("foo=bar")
      const response = yield* client.readResponse()
      expect(response.json().bodyArguments).toEqual({ foo: ["bar"] })
      yield* client.write(RawClient.get("/"))
      expect((yield* client.readResponse()).text).toBe("Hello world")
    }))

  it.live("with a chunked body", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo()
      const client = yield* RawClient.connect(port)
      yield* client.write(
        `POST /echo HTTP/1.1\r\nHost: x\r\n${FORM}\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n`
      )
      expect((yield* client.readResponse()).status).toBe(100)
      yield* client.write("7\r\nfoo=bar\r\n0\r\n\r\n")
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyArguments).toEqual({ foo: ["bar"] })
    }))

  it.live("a declared body over maxBodySize is refused with 413, no 100 Continue", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxBodySize: 100 })
      const client = yield* RawClient.connect(port)
      yield* client.write("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n")
      const responses = RawClient.parseAllResponses(yield* client.readUntilClose())
      expect(responses.map((r) => r.status)).toEqual([413])
    }))

  it.live("a handler that answers without reading gets no 100 Continue sent, and the connection closes", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo()
      const client = yield* RawClient.connect(port)
      // POST /hello does not read its body.
      yield* client.write("POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\nExpect: 100-continue\r\n\r\n")
      const responses = RawClient.parseAllResponses(yield* client.readUntilClose())
      expect(responses.map((r) => r.status)).toEqual([200])
      expect(responses[0]?.header("Connection")).toBe("close")
    }))

  it.live("HTTP/1.0 requests get no 100 Continue", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo()
      const client = yield* RawClient.connect(port)
      yield* client.write("POST /echo HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
      yield* RawClient.sleepReal(50)
      expect(client.pending.length).toBe(0)
      yield* client.write("abc")
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyLength).toBe(3)
    }))
})

describe("body size limits", () => {
  it.live("a Content-Length over maxBodySize: 413, then close, before the body is read", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxBodySize: 4096 })
      const client = yield* RawClient.connect(port)
      yield* client.write("PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10240\r\n\r\n")
      const responses = RawClient.parseAllResponses(yield* client.readUntilClose())
      expect(responses.map((r) => r.status)).toEqual([413])
      expect(responses[0]?.header("Connection")).toBe("close")
    }))

  it.live("a body of exactly maxBodySize is accepted", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxBodySize: 4096 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("PUT", "/echo", "a".repeat(4096)))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyLength).toBe(4096)
      yield* client.write(RawClient.withBody("PUT", "/stream", "a".repeat(4096)))
      expect((yield* client.readResponse()).json().bodyLength).toBe(4096)
    }))

  it.live("a chunked body growing over maxBodySize: 413, then close", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxBodySize: 4096 })
      for (const path of ["/echo", "/stream"]) {
        const client = yield* RawClient.connect(port)
        const chunk = "a".repeat(1024)
        yield* client.write(chunkedPost(path, `400\r\n${chunk}\r\n`.repeat(10) + "0\r\n\r\n"))
        const responses = RawClient.parseAllResponses(yield* client.readUntilClose())
        expect(responses.map((r) => r.status)).toEqual([413])
      }
    }))

  it.live("a body over maxBufferSize (within maxBodySize) is 413 when buffered, fine when streamed", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxBufferSize: 1000, maxBodySize: 100000 })
      const buffered = yield* RawClient.connect(port)
      yield* buffered.write(RawClient.withBody("POST", "/echo", "a".repeat(5000)))
      const responses = RawClient.parseAllResponses(yield* buffered.readUntilClose())
      expect(responses.map((r) => r.status)).toEqual([413])

      const chunked = yield* RawClient.connect(port)
      yield* chunked.write(chunkedPost("/echo", `1388\r\n${"a".repeat(5000)}\r\n0\r\n\r\n`))
      expect(RawClient.parseAllResponses(yield* chunked.readUntilClose()).map((r) => r.status)).toEqual([413])

      const streamed = yield* RawClient.connect(port)
      yield* streamed.write(RawClient.withBody("POST", "/stream", "a".repeat(5000)))
      const response = yield* streamed.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyLength).toBe(5000)
    }))

  it.live("a per-request override (setMaxBodySize) raises the limit, for that request only", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxBodySize: 4096 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("PUT", "/stream?max_body_size=10240", "a".repeat(10240)))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyLength).toBe(10240)
      // Chunked too.
      yield* client.write(chunkedPost("/stream?max_body_size=10240", `2800\r\n${"a".repeat(10240)}\r\n0\r\n\r\n`))
      expect((yield* client.readResponse()).json().bodyLength).toBe(10240)
      // Without the override: the server's limit again.
      yield* client.write("PUT /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 10240\r\n\r\n")
      const responses = RawClient.parseAllResponses(yield* client.readUntilClose())
      expect(responses.map((r) => r.status)).toEqual([413])
    }))

  it.live("a handler that catches BodyTooLarge answers its own way", () =>
    Effect.gen(function*() {
      const handler = (request: HTTPServerRequest) =>
        request.body.pipe(
          Effect.map((body) => Response.text(`got ${body.byteLength}`)),
          Effect.catchTag("BodyTooLarge", (error) =>
            Effect.succeed(Response.text(`too large for ${error.limitName} ${error.limit}`, { status: 200 })))
        )
      const { port } = yield* serve(handler, { maxBodySize: 10 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("POST", "/", "a".repeat(5)))
      expect((yield* client.readResponse()).text).toBe("got 5")
      yield* client.write(RawClient.withBody("POST", "/", "a".repeat(50)))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.text).toBe("too large for maxBodySize 10")
      // The unread oversized body cannot be skipped safely: the connection ends.
      expect(response.header("Connection")).toBe("close")
      expect((yield* client.readUntilClose()).length).toBe(0)
    }))

  it.live("an uncaught BodyTooLarge is logged nowhere as a 500: it is a 413", () =>
    Effect.gen(function*() {
      const capture = makeLogCapture()
      yield* Effect.gen(function*() {
        const { port } = yield* serve((request: HTTPServerRequest) =>
          Effect.map(request.text, (text) => Response.text(text)), { maxBodySize: 10 })
        const client = yield* RawClient.connect(port)
        yield* client.write(RawClient.withBody("POST", "/", "a".repeat(50)))
        const responses = RawClient.parseAllResponses(yield* client.readUntilClose())
        expect(responses.map((r) => r.status)).toEqual([413])
      }).pipe(Effect.provide(capture.layer))
      expect(capture.lines.filter((line) => line.level === "Error")).toEqual([])
    }))
})

describe("body timeout", () => {
  it.live("a body that does not arrive within the body timeout: the connection closes", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ bodyTimeout: 3_600_000 })
      const client = yield* RawClient.connect(port)
      const started = Date.now()
      yield* client.write("PUT /stream?body_timeout=0.1 HTTP/1.0\r\nContent-Length: 42\r\n\r\n")
      const rest = yield* client.readUntilClose(2000)
      expect(Date.now() - started).toBeGreaterThanOrEqual(90)
      const responses = RawClient.parseAllResponses(rest)
      expect(responses.map((r) => r.status)).toEqual([408])
    }))
})

describe("a body read in pieces, then whole", () => {
  it.live("`all` after two `next` reads gives the rest of the body: every byte once, in order", () => {
    const handler = (request: HTTPServerRequest) =>
      Effect.gen(function*() {
        const first = yield* request.bodyReader.next
        const second = yield* request.bodyReader.next
        const rest = yield* request.bodyReader.all
        return Response.json({
          pieces: [first?.byteLength, second?.byteLength],
          whole: Buffer.concat([first ?? new Uint8Array(0), second ?? new Uint8Array(0), rest]).toString("latin1")
        })
      })
    return Effect.gen(function*() {
      const { port } = yield* serve(handler, { chunkSize: 8 })
      const body = "0123456789abcdefghijklmnopqrstuvwxyz".repeat(3)
      const client = yield* RawClient.connect(port)
      yield* client.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`)
      yield* client.writeInPieces(body, 20, 5)
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      const answer = response.json()
      expect(answer.pieces).toEqual([8, 8])
      expect(answer.whole).toBe(body)
      // The connection goes on: the body's framing was followed to its end.
      yield* client.write(RawClient.withBody("POST", "/", "abc"))
      expect((yield* client.readResponse()).json().whole).toBe("abc")
    })
  })
})

describe("draining a body the handler left unread", () => {
  const ignoresBody = () => Effect.succeed(Response.text("answered before the body"))

  it.live("a drain that stalls ends by the body timeout (200 ms): the response is out, then the connection closes", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(ignoresBody, { bodyTimeout: 200 })
      const client = yield* RawClient.connect(port)
      const started = performance.now()
      yield* client.write(RawClient.get("/", "Content-Length: 100") + "only ten b")
      const response = yield* client.readResponse()
      expect(response.text).toBe("answered before the body")
      expect(yield* client.readUntilClose(2000)).toEqual(Buffer.alloc(0))
      const elapsed = performance.now() - started
      expect(elapsed).toBeGreaterThanOrEqual(170)
      expect(elapsed).toBeLessThan(1000)
    }))

  it.live("a drain that completes in time: the next request on the connection is served", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(ignoresBody, { bodyTimeout: 300 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/", "Content-Length: 100") + "x".repeat(10))
      expect((yield* client.readResponse()).text).toBe("answered before the body")
      yield* client.writeInPieces("x".repeat(90), 30, 20)
      yield* client.write(RawClient.get("/"))
      expect((yield* client.readResponse()).text).toBe("answered before the body")
    }))
})

describe("compressed request bodies (Tornado's GzipTest)", () => {
  const form = (coding: string, compressed: Buffer) =>
    RawClient.withBody("POST", "/echo", compressed, FORM, `Content-Encoding: ${coding}`)

  it.live("decompressRequest: gzip bodies are decoded, the coding name matched case-insensitively", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ decompressRequest: true })
      const client = yield* RawClient.connect(port)
      for (const coding of ["gzip", "GZIP"]) {
        yield* client.write(form(coding, Zlib.gzipSync("foo=bar")))
        const response = yield* client.readResponse()
        expect(response.status).toBe(200)
        expect(response.json().arguments).toEqual({ foo: ["bar"] })
        expect(response.json().bodyLength).toBe(7)
      }
    }))

  it.live("decompressRequest: deflate (zlib format) bodies are decoded", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ decompressRequest: true })
      const client = yield* RawClient.connect(port)
      yield* client.write(form("deflate", Zlib.deflateSync("foo=bar")))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().arguments).toEqual({ foo: ["bar"] })
    }))

  it.live("an uncompressed body with decompressRequest on is read as is", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ decompressRequest: true })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("POST", "/echo", "foo=bar", FORM))
      expect((yield* client.readResponse()).json().arguments).toEqual({ foo: ["bar"] })
    }))

  it.live("without decompressRequest, a gzip form body cannot be parsed: 400, connection usable", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo()
      const client = yield* RawClient.connect(port)
      yield* client.write(form("gzip", Zlib.gzipSync("foo=bar")))
      const response = yield* client.readResponse()
      expect(response.status).toBe(400)
      expect(response.header("Connection")).toBeUndefined()
      yield* client.write(RawClient.get("/"))
      expect((yield* client.readResponse()).text).toBe("Hello world")
    }))
})
