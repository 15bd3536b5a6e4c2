/**
 * Bodies read lent (`request.lentBody`, and `text`/`json`, which read lent
 * and keep only what they decode): the memory goes back to the pool when the
 * request is over, a view kept past that reads as empty, and memory a write
 * in progress still reads is never lent again (HTTP/1.1 and HTTP/2).
 */
import * as Crypto from "node:crypto"
import type * as Http2 from "node:http2"
import * as Net from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import type { HTTPServerRequest } from "../../src/Request/HTTPServerRequest.ts"
import * as Response from "../../src/Response/Response.ts"
import * as Http2Client from "../support/Http2Client.ts"
import * as RawClient from "../support/RawClient.ts"
import { serve } from "../support/TestServer.ts"

const MiB = 1024 * 1024
const digest = (bytes: Uint8Array) => Crypto.createHash("sha256").update(bytes).digest("hex")
const post = (body: Buffer, path = "/") => RawClient.withBody("POST", path, body)
/** A body of `length` bytes, all `byte`. */
const filled = (length: number, byte: number) => Buffer.alloc(length, byte)

/** Answers with the lent body itself: the response's bytes are the request's memory. */
const echoLent = (request: HTTPServerRequest) => Effect.map(request.lentBody, (body) => Response.bytes(body))

/** Reads the body lent and keeps it in `kept` (past its request); answers with its length and SHA-256. */
const keepLent = (kept: Array<Uint8Array>) => (request: HTTPServerRequest) =>
  Effect.map(request.lentBody, (body) => {
    kept.push(body)
    return Response.text(`${body.byteLength} ${digest(body)}`)
  })

describe("lentBody over HTTP/1.1", () => {
  it.live("gives the body's bytes; a view kept past the response reads as empty; the next body is its own", () =>
    Effect.gen(function*() {
      const kept: Array<Uint8Array> = []
      const { port } = yield* serve(keepLent(kept))
      const client = yield* RawClient.connect(port)
      const first = filled(64 * 1024, 0x61)
      const second = filled(64 * 1024, 0x62)
      yield* client.write(post(first))
      expect((yield* client.readResponse()).text).toBe(`${first.length} ${digest(first)}`)
      expect(yield* RawClient.eventually(() => kept[0]?.byteLength === 0)).toBe(true)
      yield* client.write(post(second))
      expect((yield* client.readResponse()).text).toBe(`${second.length} ${digest(second)}`)
      // The first view stays empty: it never shows the second body's bytes.
      expect(kept[0]?.byteLength).toBe(0)
    }))

  it.live("a body of 4 KiB or less, or of unknown length (chunked), is the handler's own: it stays readable", () =>
    Effect.gen(function*() {
      const kept: Array<Uint8Array> = []
      const { port } = yield* serve(keepLent(kept))
      const client = yield* RawClient.connect(port)
      const small = filled(4096, 0x63)
      yield* client.write(post(small))
      expect((yield* client.readResponse()).text).toBe(`4096 ${digest(small)}`)
      const chunk = filled(10_000, 0x64).toString("latin1")
      yield* client.write(
        `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`
      )
      expect((yield* client.readResponse()).text).toBe(`10000 ${digest(filled(10_000, 0x64))}`)
      yield* RawClient.sleepReal(20)
      expect(kept.map((body) => body.byteLength)).toEqual([4096, 10_000])
      expect(Buffer.from(kept[1] as Uint8Array).equals(filled(10_000, 0x64))).toBe(true)
    }))

  it.live("text, then body: the body is a copy the handler owns, intact after the request is over", () =>
    Effect.gen(function*() {
      const kept: Array<Uint8Array> = []
      const { port } = yield* serve((request) =>
        Effect.gen(function*() {
          const text = yield* request.text
          const body = yield* request.body
          kept.push(body)
          return Response.text(`${text.length} ${digest(body)}`)
        })
      )
      const client = yield* RawClient.connect(port)
      const sent = filled(50_000, 0x65)
      yield* client.write(post(sent))
      expect((yield* client.readResponse()).text).toBe(`50000 ${digest(sent)}`)
      yield* client.write(post(filled(50_000, 0x66)))
      yield* client.readResponse()
      expect(digest(kept[0] as Uint8Array)).toBe(digest(sent))
    }))

  it.live("an echoed lent body still being written to a slow reader is not lent again while other uploads run", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(echoLent, { maxBufferSize: 16 * MiB, maxBodySize: 16 * MiB })
      // A slow reader: several 1 MiB echoes pipelined, more than the kernel's buffers hold.
      const slow = yield* RawClient.connect(port)
      slow.socket.pause()
      const slowBodies = Array.from({ length: 8 }, (_, i) => filled(MiB, 0x41 + i))
      slow.socket.write(Buffer.concat(slowBodies.map((body) => post(body))))
      yield* RawClient.sleepReal(200)
      // Meanwhile other uploads of the same size class are lent memory and answered.
      const other = yield* RawClient.connect(port)
      for (let i = 0; i < 4; i++) {
        const body = filled(MiB, 0x61 + i)
        yield* other.write(post(body))
        const answer = yield* other.readResponse()
        expect(answer.body.equals(body)).toBe(true)
      }
      slow.socket.resume()
      for (const body of slowBodies) {
        const answer = yield* slow.readResponse({ timeoutMillis: 10_000 })
        expect(answer.body.length).toBe(MiB)
        expect(answer.body.equals(body)).toBe(true)
      }
    }), 30_000)
})

/**
 * A TCP relay to `port` whose reading from the server can be stopped: the
 * server's socket then backs up as under a client that does not read.
 */
const pausableRelay = (port: number) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly port: number; readonly server: Net.Server; readonly upstreams: Array<Net.Socket> }>((resume) => {
      const upstreams: Array<Net.Socket> = []
      const server = Net.createServer((client) => {
        const upstream = Net.connect(port, "127.0.0.1")
        upstreams.push(upstream)
        client.on("error", () => upstream.destroy())
        upstream.on("error", () => client.destroy())
        client.pipe(upstream)
        upstream.pipe(client)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ port: (server.address() as Net.AddressInfo).port, server, upstreams })))
    }),
    ({ server, upstreams }) => Effect.sync(() => {
      for (const upstream of upstreams) upstream.destroy()
      server.close()
    })
  ).pipe(Effect.map(({ port, upstreams }) => ({
    port,
    stopReading: () => upstreams.forEach((upstream) => upstream.pause()),
    startReading: () => upstreams.forEach((upstream) => upstream.resume())
  })))

describe("lentBody over HTTP/2", () => {
  it.live("an echoed lent body still being written to a client that stopped reading is not lent again while other uploads run", () =>
    Effect.gen(function*() {
      // The slow client's handlers hold their answers until the client stops reading.
      const release = yield* Deferred.make<void>()
      let held = 0
      const { port } = yield* serve(
        (request) =>
          Effect.flatMap(request.lentBody, (body) =>
            body[0] === 0x61 + 25 // the other client's uploads go through at once
              ? Effect.succeed(Response.bytes(body))
              : Effect.sync(() => held++).pipe(Effect.andThen(Deferred.await(release)), Effect.as(Response.bytes(body)))),
        { http2: true, maxBufferSize: 16 * MiB, maxBodySize: 16 * MiB }
      )
      // A client with wide-open flow-control windows, behind a relay that stops reading once
      // the requests are in: the answers fill the TCP buffers, and the last DATA frame of a
      // stream may wait in the server's socket after its stream closed.
      const wide = 2 ** 31 - 1
      const relay = yield* pausableRelay(port)
      const slowSession = yield* Http2Client.connect(relay.port, { settings: { initialWindowSize: wide } })
      slowSession.setLocalWindowSize(wide)
      const slowBodies = Array.from({ length: 24 }, (_, i) => filled(MiB, 0x41 + i))
      const answers = slowBodies.map(() => [] as Array<Buffer>)
      const ends = slowBodies.map((body, i) =>
        Effect.callback<void>((resume) => {
          const stream = slowSession.request({ ":method": "POST", ":path": "/", "content-length": body.length }) as Http2.ClientHttp2Stream
          stream.on("data", (chunk: Buffer) => answers[i]?.push(chunk))
          stream.on("close", () => resume(Effect.void))
          stream.end(body)
        })
      )
      const allAnswered = yield* Effect.forkChild(Effect.all(ends, { concurrency: "unbounded" }))
      expect(yield* RawClient.eventually(() => held === slowBodies.length, 10_000)).toBe(true)
      relay.stopReading()
      yield* Deferred.succeed(release, undefined)
      yield* RawClient.sleepReal(200)
      // Meanwhile another client's uploads of the same size class are lent memory and answered.
      const other = yield* Http2Client.connect(port)
      for (let i = 0; i < 8; i++) {
        const body = filled(MiB, 0x61 + 25)
        const answer = yield* Http2Client.request(other, { method: "POST", body, headers: { "content-length": body.length } })
        expect(answer.body.equals(body)).toBe(true)
      }
      relay.startReading()
      yield* Fiber.join(allAnswered)
      slowBodies.forEach((body, i) => {
        const whole = Buffer.concat(answers[i] ?? [])
        expect(whole.length).toBe(MiB)
        expect(whole.equals(body)).toBe(true)
      })
    }), 30_000)
})
