/**
 * The request model and its limits over HTTP/2 streams, with Node's
 * `http2` client: bodies (whole, streamed, compressed, in `chunkSize`
 * pieces), the limits' statuses on their stream (413 then RST_STREAM, 408),
 * responses (whole, streamed with backpressure, HEAD/204/304 without a
 * body), and a handler's failure answered on its stream while the others go on.
 */
import * as Zlib from "node:zlib"
import * as Http2 from "node:http2"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Stream } from "effect"
import * as Response from "../../src/Response/Response.ts"
import * as Frames from "../support/Http2Frames.ts"
import * as Http2Client from "../support/Http2Client.ts"
import * as RawClient from "../support/RawClient.ts"
import { serve, serveDemo } from "../support/TestServer.ts"

const { NGHTTP2_NO_ERROR } = Http2.constants

describe("HTTP/2 request bodies", () => {
  it.live("a body read as a stream comes in chunkSize pieces", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true, chunkSize: 1000 })
      const session = yield* Http2Client.connect(port)
      const answer = yield* Http2Client.request(session, { method: "POST", path: "/stream", body: "x".repeat(2500) })
      expect(answer.status).toBe(200)
      const data = answer.json()
      expect(data.bodyLength).toBe(2500)
      expect(Math.max(...data.chunks)).toBeLessThanOrEqual(1000)
    }))

  it.live("a body larger than the flow-control window is read whole (the stream resumes as it is read)", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true })
      const session = yield* Http2Client.connect(port)
      const body = Buffer.alloc(1024 * 1024, 0x62)
      const answer = yield* Http2Client.request(session, { method: "POST", path: "/echo", body })
      expect(answer.status).toBe(200)
      expect(answer.json().bodyLength).toBe(body.byteLength)
    }))

  it.live("maxBodySize: 413 on the stream, then RST_STREAM; the session serves the next request", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true, maxBodySize: 1000 })
      const session = yield* Http2Client.connect(port)
      // No content-length: the limit is met while reading.
      const big = Buffer.alloc(200_000, 0x61)
      const answer = yield* Http2Client.request(session, { method: "POST", path: "/stream", body: big })
      expect(answer.status).toBe(413)
      expect(answer.rstCode).toBe(NGHTTP2_NO_ERROR)
      const declared = yield* Http2Client.request(session, {
        method: "POST",
        path: "/echo",
        headers: { "content-length": "5000" },
        body: Buffer.alloc(5000, 0x61)
      })
      expect(declared.status).toBe(413)
      expect((yield* Http2Client.request(session)).text).toBe("Hello world")
    }))

  it.live("bodyTimeout: a body that stalls is answered 408 on its stream", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true, bodyTimeout: "200 millis" })
      const session = yield* Http2Client.connect(port)
      const answer = yield* Effect.callback<number>((resume) => {
        const stream = session.request({ ":method": "POST", ":path": "/stream" })
        stream.write("partial") // and never ends
        stream.on("response", (headers) => resume(Effect.succeed(Number(headers[":status"]))))
        stream.on("error", () => {})
      })
      expect(answer).toBe(408)
      expect((yield* Http2Client.request(session)).text).toBe("Hello world")
    }))

  it.live("decompressRequest decodes a gzip body", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true, decompressRequest: true })
      const session = yield* Http2Client.connect(port)
      const answer = yield* Http2Client.request(session, {
        method: "POST",
        path: "/echo",
        headers: { "content-encoding": "gzip", "content-type": "application/x-www-form-urlencoded" },
        body: Zlib.gzipSync("a=1&b=hello")
      })
      expect(answer.status).toBe(200)
      expect(answer.json().bodyArguments).toEqual({ a: ["1"], b: ["hello"] })
    }))
})

describe("HTTP/2 request heads", () => {
  it.live("maxHeaderSize is SETTINGS_MAX_HEADER_LIST_SIZE: a larger header list is refused on its stream; the session goes on", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true, maxHeaderSize: 2000 })
      const session = yield* Http2Client.connect(port)
      expect(session.remoteSettings.maxHeaderListSize).toBe(2000)
      // Node holds a client that acknowledged the SETTINGS to them: RST_STREAM ENHANCE_YOUR_CALM.
      const big = yield* Http2Client.request(session, { path: "/echo", headers: { "x-big": "a".repeat(2000) } })
      expect([big.status, big.rstCode]).toEqual([0, Http2.constants.NGHTTP2_ENHANCE_YOUR_CALM])
      const fits = yield* Http2Client.request(session, { path: "/echo", headers: { "x-fits": "a".repeat(1500) } })
      expect(fits.status).toBe(200)
    }))

  it.live("before the client acknowledged the SETTINGS, a header list past maxHeaderSize is answered 431, without the handler", () =>
    Effect.gen(function*() {
      let handlers = 0
      const { port } = yield* serve(() => {
        handlers++
        return Effect.succeed(Response.text("ok"))
      }, { http2: true, maxHeaderSize: 2000 })
      // Raw frames: this client never sends a SETTINGS ACK.
      const raw = yield* Frames.open(port)
      const block = Buffer.concat([Frames.GET_ROOT, Frames.literal("x-big", "a".repeat(3000))])
      raw.socket.write(Frames.frame(Frames.FRAME.HEADERS, Frames.FLAG.END_HEADERS | Frames.FLAG.END_STREAM, 1, block))
      raw.socket.write(Frames.frame(Frames.FRAME.HEADERS, Frames.FLAG.END_HEADERS | Frames.FLAG.END_STREAM, 3, Frames.GET_ROOT))
      expect(yield* RawClient.eventually(() => Frames.responseStreams(raw.received()).includes(3), 5000)).toBe(true)
      // `:status: 431` is a literal with an indexed name: its value is sent as is (Huffman would not be shorter).
      expect(Frames.responseBlock(raw.received(), 1)?.includes("431")).toBe(true)
      expect(handlers).toBe(1)
    }))
})

describe("HTTP/2 responses", () => {
  it.live("whole, streamed, HEAD, 204 and 304: content-length where known, no body where none is allowed", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true })
      const session = yield* Http2Client.connect(port)
      const large = yield* Http2Client.request(session, { path: "/large?size=300000" })
      expect(large.body.byteLength).toBe(300000)
      expect(large.headers["content-length"]).toBe("300000")
      const chunked = yield* Http2Client.request(session, { path: "/chunked" })
      expect(chunked.text).toBe("Hello world")
      expect(chunked.headers["content-length"]).toBeUndefined()
      const head = yield* Http2Client.request(session, { method: "HEAD", path: "/chunked" })
      expect(head.status).toBe(200)
      expect(head.body.byteLength).toBe(0)
      for (const code of [204, 304]) {
        const answer = yield* Http2Client.request(session, { path: `/status?code=${code}` })
        expect(answer.status).toBe(code)
        expect(answer.body.byteLength).toBe(0)
        expect(answer.headers["content-length"]).toBeUndefined()
      }
    }))

  it.live("a streamed response waits for a client that does not read (flow control), then completes", () =>
    Effect.gen(function*() {
      let produced = 0
      const piece = new Uint8Array(32 * 1024)
      const pieces = 2048
      const { port } = yield* serve(() =>
        Effect.succeed(Response.stream(Stream.range(1, pieces, 1).pipe(Stream.map(() => {
          produced++
          return piece
        }))))
      , { http2: true })
      const session = yield* Http2Client.connect(port)
      const stream = session.request({ ":path": "/" })
      stream.pause()
      yield* Effect.sleep("300 millis")
      // 64 MiB offered; the client's window and the socket's buffers hold it back.
      expect(produced).toBeLessThan(pieces)
      const received = yield* Effect.callback<number>((resume) => {
        let bytes = 0
        stream.on("data", (chunk: Buffer) => {
          bytes += chunk.byteLength
        })
        stream.on("end", () => resume(Effect.succeed(bytes)))
        stream.resume()
      })
      expect(received).toBe(pieces * piece.byteLength)
    }))

  it.live("a handler's failure is a 500 on its stream; a stream in flight on the same session goes on", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const { port } = yield* serve((request) =>
        request.path === "/fail"
          ? Effect.die(new Error("boom"))
          : Effect.as(Deferred.await(release), Response.text("slow done"))
      , { http2: true })
      const session = yield* Http2Client.connect(port)
      const slow = yield* Effect.forkChild(Http2Client.request(session, { path: "/slow" }))
      const failed = yield* Http2Client.request(session, { path: "/fail" })
      expect(failed.status).toBe(500)
      yield* Deferred.succeed(release, undefined)
      const done = yield* Fiber.join(slow)
      expect(done.text).toBe("slow done")
    }))
})

describe("HTTP/2 Expect: 100-continue", () => {
  it.live("the 100 comes when the handler starts reading; the body then follows", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true })
      const session = yield* Http2Client.connect(port)
      const answer = yield* Effect.callback<{ status: number; body: string }>((resume) => {
        const stream = session.request({ ":method": "POST", ":path": "/echo", expect: "100-continue" }, { endStream: false })
        let status = 0
        const chunks: Array<Buffer> = []
        stream.on("continue", () => stream.end("a=1&b=2"))
        stream.on("response", (headers) => {
          status = Number(headers[":status"])
        })
        stream.on("data", (chunk: Buffer) => chunks.push(chunk))
        stream.on("end", () => resume(Effect.succeed({ status, body: Buffer.concat(chunks).toString() })))
      })
      expect(answer.status).toBe(200)
      expect(JSON.parse(answer.body).bodyLength).toBe(7)
    }))
})
