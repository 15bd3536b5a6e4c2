/**
 * Abusive HTTP/2 clients, each on raw frames or Node's client: the abusive
 * session is closed, and the server goes on serving another client.
 * nghttp2's limits do the work (see `src/Http2/Http2Limits.ts`); these
 * tests hold the server to them.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Response from "../../src/Response/Response.ts"
import * as Frames from "../support/Http2Frames.ts"
import * as Http2Client from "../support/Http2Client.ts"
import * as RawClient from "../support/RawClient.ts"
import { serve, serveDemo } from "../support/TestServer.ts"

/** Another client is served meanwhile. */
const stillServes = (port: number) =>
  Effect.scoped(Effect.gen(function*() {
    const session = yield* Http2Client.connect(port)
    const answer = yield* Http2Client.request(session)
    expect(answer.status).toBe(200)
  }))

describe("HTTP/2 floods", () => {
  it.live("rapid reset: streams opened and reset at once; the session is closed with GOAWAY", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveDemo({ http2: true })
      const raw = yield* Frames.open(port)
      const sent = yield* Frames.flood(raw, (i) => {
        const id = 2 * i + 1
        return Buffer.concat([
          Frames.frame(Frames.FRAME.HEADERS, Frames.FLAG.END_HEADERS | Frames.FLAG.END_STREAM, id, Frames.GET_ROOT),
          Frames.frame(Frames.FRAME.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8])) // CANCEL
        ])
      }, 100_000)
      yield* raw.whenClosed
      expect(sent).toBeGreaterThan(1000)
      // nghttp2's reset rate limit (streamResetBurst, streamResetRate) ends the session with GOAWAY.
      expect(Frames.goawayCodes(raw.received()).length).toBeGreaterThan(0)
      yield* stillServes(port)
      expect(yield* RawClient.eventually(() => server.connectionCount() === 0)).toBe(true)
    }))

  it.live("a client that resets a few hundred streams is not cut off (below the reset burst)", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true })
      const raw = yield* Frames.open(port)
      yield* Frames.flood(raw, (i) => {
        const id = 2 * i + 1
        return Buffer.concat([
          Frames.frame(Frames.FRAME.HEADERS, Frames.FLAG.END_HEADERS | Frames.FLAG.END_STREAM, id, Frames.GET_ROOT),
          Frames.frame(Frames.FRAME.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8]))
        ])
      }, 300)
      raw.socket.write(Frames.frame(Frames.FRAME.HEADERS, Frames.FLAG.END_HEADERS | Frames.FLAG.END_STREAM, 601, Frames.GET_ROOT))
      expect(yield* RawClient.eventually(() => Frames.responseStreams(raw.received()).includes(601), 5000)).toBe(true)
      expect(raw.closed()).toBe(false)
    }))

  for (const [name, make] of [
    ["SETTINGS", () => Frames.frame(Frames.FRAME.SETTINGS, 0, 0)],
    ["PING", (i: number) => {
      const payload = Buffer.alloc(8)
      payload.writeUInt32BE(i, 4)
      return Frames.frame(Frames.FRAME.PING, 0, 0, payload)
    }]
  ] as const) {
    it.live(`${name} flood from a client that reads no ACK: the session is closed`, () =>
      Effect.gen(function*() {
        const { port } = yield* serveDemo({ http2: true })
        const raw = yield* Frames.open(port, { read: false })
        const sent = yield* Frames.flood(raw, make, 2_000_000)
        yield* raw.whenClosed
        expect(sent).toBeLessThan(2_000_000)
        yield* stillServes(port)
      }))
  }

  it.live("endless CONTINUATION frames: the session is closed", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true })
      const raw = yield* Frames.open(port)
      yield* Frames.flood(raw, (i) =>
        i === 0
          ? Frames.frame(Frames.FRAME.HEADERS, 0, 1, Frames.GET_ROOT)
          : Frames.frame(Frames.FRAME.CONTINUATION, 0, 1, Frames.literal(`x-h${i % 1000}`, "v".repeat(100))), 1_000_000)
      yield* raw.whenClosed
      expect(Frames.goawayCodes(raw.received()).length).toBeGreaterThan(0)
      yield* stillServes(port)
    }))

  it.live("streams past maxConcurrentStreams are refused (RST_STREAM), no handler runs for them; others are served", () =>
    Effect.gen(function*() {
      let handlers = 0
      const { port } = yield* serve((request) => {
        if (request.path !== "/hang") return Effect.succeed(Response.text("ok"))
        handlers++
        return Effect.as(Effect.never, Response.text("never"))
      }, { http2: true, maxConcurrentStreams: 5, shutdownTimeout: 100 })
      const raw = yield* Frames.open(port)
      const hang = Buffer.concat([Buffer.from([0x82, 0x86, 0x01, 9]), Buffer.from("localhost"), Frames.literal(":path", "/hang")])
      yield* Frames.flood(raw, (i) =>
        Frames.frame(Frames.FRAME.HEADERS, Frames.FLAG.END_HEADERS | Frames.FLAG.END_STREAM, 2 * i + 1, hang), 1000)
      expect(yield* RawClient.eventually(() => Frames.resets(raw.received()).length === 995, 5000)).toBe(true)
      expect(handlers).toBe(5)
      expect(Frames.resets(raw.received()).every((reset) => reset.streamId > 9)).toBe(true)
      yield* stillServes(port)
    }))

  it.live("Node's client keeps to maxConcurrentStreams: the streams past it wait, then are served", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true, maxConcurrentStreams: 2 })
      const session = yield* Http2Client.connect(port)
      const answers = yield* Effect.all(
        Array.from({ length: 10 }, () => Http2Client.request(session, { path: "/slow?ms=20" })),
        { concurrency: "unbounded" }
      )
      expect(answers.map((a) => a.text)).toEqual(Array(10).fill("done"))
      expect(session.remoteSettings.maxConcurrentStreams).toBe(2)
    }))
})
