/**
 * Abusive HTTP/2 clients, each on raw frames or Node's client: the abusive
 * session is closed (GOAWAY, then the connection), another client is served
 * while the abuse goes on, and nothing is left of the abusive session.
 * nghttp2's limits do the work (see `src/Http2/Http2Limits.ts`); these
 * tests hold the server to them.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import type * as HTTPServer from "../../src/Server/HTTPServer.ts"
import { MAX_INVALID_FRAMES } from "../../src/Http2/Http2Limits.ts"
import * as Response from "../../src/Response/Response.ts"
import * as Frames from "../support/Http2Frames.ts"
import * as Http2Client from "../support/Http2Client.ts"
import * as RawClient from "../support/RawClient.ts"
import { serve, serveDemo } from "../support/TestServer.ts"

/**
 * Runs `abuse` while another client, whose session was open before it
 * began, asks for a response: the other client is answered, and `abuse`'s
 * result is handed back.
 */
const servedDuring = <A, E>(port: number, abuse: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.gen(function*() {
    const other = yield* Http2Client.connect(port)
    const [result, answer] = yield* Effect.all([abuse, Http2Client.request(other, { path: "/slow?ms=20" })], {
      concurrency: "unbounded"
    })
    expect(answer.status).toBe(200)
    expect(answer.text).toBe("done")
    return result
  })

/**
 * An abusive client on raw frames: `count` frames from `make` (after
 * `before`, if given), as fast as the server takes them, until the server
 * closes the connection (or all are sent); `read: false` reads nothing back.
 */
const abuse = (
  port: number,
  make: (i: number) => Buffer,
  count: number,
  options: { readonly read?: boolean; readonly before?: Buffer } = {}
) =>
  Effect.gen(function*() {
    const raw = yield* Frames.open(port, { read: options.read ?? true })
    if (options.before !== undefined) raw.socket.write(options.before)
    const sent = yield* Frames.flood(raw, make, count)
    yield* raw.whenClosed
    return { raw, sent }
  })

/** The abusive session is gone from the server: only the other client's remains, and a new client is served. */
const onlyOthersLeft = (port: number, server: HTTPServer.RunningServer) =>
  Effect.gen(function*() {
    expect(yield* RawClient.eventually(() => server.connectionCount() === 1)).toBe(true)
    yield* Effect.scoped(Effect.gen(function*() {
      const session = yield* Http2Client.connect(port)
      expect((yield* Http2Client.request(session)).status).toBe(200)
    }))
  })

const getRoot = (id: number): Buffer =>
  Frames.frame(Frames.FRAME.HEADERS, Frames.FLAG.END_HEADERS | Frames.FLAG.END_STREAM, id, Frames.GET_ROOT)

const rapidReset = (i: number): Buffer => {
  const id = 2 * i + 1
  return Buffer.concat([getRoot(id), Frames.frame(Frames.FRAME.RST_STREAM, 0, id, Buffer.from([0, 0, 0, Frames.ERROR.CANCEL]))])
}

/** `GET /hang` over http, authority `localhost`. */
const HANG = Buffer.concat([Buffer.from([0x82, 0x86, 0x01, 9]), Buffer.from("localhost"), Frames.literal(":path", "/hang")])
const getHang = (i: number): Buffer =>
  Frames.frame(Frames.FRAME.HEADERS, Frames.FLAG.END_HEADERS | Frames.FLAG.END_STREAM, 2 * i + 1, HANG)

/** A handler whose `/hang` never answers (it counts how often it ran); anything else is `ok`. */
const hangingServer = (maxConcurrentStreams: number) => {
  const counts = { handlers: 0 }
  return Effect.map(
    serve((request) => {
      if (request.path !== "/hang") return Effect.succeed(Response.text("done"))
      counts.handlers++
      return Effect.as(Effect.never, Response.text("never"))
    }, { http2: true, maxConcurrentStreams, shutdownTimeout: 100 }),
    (served) => ({ ...served, counts })
  )
}

describe("HTTP/2 floods", () => {
  it.live("rapid reset: streams opened and reset at once; the session is closed with GOAWAY, others are served", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveDemo({ http2: true })
      const { raw, sent } = yield* servedDuring(port, abuse(port, rapidReset, 100_000))
      expect(sent).toBeGreaterThan(1000)
      // nghttp2's reset rate limit (streamResetBurst, streamResetRate) ends the session with GOAWAY.
      expect(Frames.goawayCodes(raw.received()).length).toBeGreaterThan(0)
      yield* onlyOthersLeft(port, server)
    }))

  it.live("a client that resets a few hundred streams is not cut off (below the reset burst)", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true })
      const raw = yield* Frames.open(port)
      yield* Frames.flood(raw, rapidReset, 300)
      raw.socket.write(getRoot(601))
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
    it.live(`${name} flood from a client that reads no ACK: the session is closed, others are served`, () =>
      Effect.gen(function*() {
        const { port, server } = yield* serveDemo({ http2: true })
        const { sent } = yield* servedDuring(port, abuse(port, make, 2_000_000, { read: false }))
        // Cut off long before the flood's end: the ACKs it leaves unread are capped (nghttp2), not queued.
        expect(sent).toBeLessThan(2_000_000)
        yield* onlyOthersLeft(port, server)
      }))
  }

  it.live("endless CONTINUATION frames: the session is closed with GOAWAY, others are served", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveDemo({ http2: true })
      const continuation = (i: number) =>
        Frames.frame(Frames.FRAME.CONTINUATION, 0, 1, Frames.literal(`x-h${i % 1000}`, "v".repeat(100)))
      // A HEADERS frame without END_HEADERS, then CONTINUATION frames that never end the block.
      const before = Frames.frame(Frames.FRAME.HEADERS, 0, 1, Frames.GET_ROOT)
      const { raw } = yield* servedDuring(port, abuse(port, continuation, 1_000_000, { before }))
      expect(Frames.goawayCodes(raw.received()).length).toBeGreaterThan(0)
      yield* onlyOthersLeft(port, server)
    }))

  it.live("streams past maxConcurrentStreams before the SETTINGS ACK: each refused, no handler runs; the session is closed after about a hundred", () =>
    Effect.gen(function*() {
      const { counts, port, server } = yield* hangingServer(5)
      const { raw } = yield* servedDuring(port, abuse(port, getHang, 10_000))
      const refused = Frames.resets(raw.received()).filter((reset) => reset.code === Frames.ERROR.REFUSED_STREAM)
      // Only streams past the first five were refused, and only as many as the invalid-frame limit allows.
      expect(refused.every((reset) => reset.streamId > 9)).toBe(true)
      expect(refused.length).toBeGreaterThanOrEqual(MAX_INVALID_FRAMES)
      expect(refused.length).toBeLessThanOrEqual(MAX_INVALID_FRAMES + 2)
      expect(counts.handlers).toBe(5)
      expect(Frames.goawayCodes(raw.received()).length).toBe(1)
      // The five hanging handlers were interrupted with their session: nothing of it is left.
      yield* onlyOthersLeft(port, server)
    }))

  it.live("a stream past maxConcurrentStreams after the SETTINGS ACK: the session is closed with GOAWAY PROTOCOL_ERROR", () =>
    Effect.gen(function*() {
      const { counts, port, server } = yield* hangingServer(5)
      const { raw } = yield* servedDuring(port, abuse(port, getHang, 6, { before: Frames.SETTINGS_ACK }))
      // RFC 9113 section 5.1.2: a connection error, at the first stream past the limit.
      expect(Frames.goawayCodes(raw.received())).toEqual([Frames.ERROR.PROTOCOL_ERROR])
      expect(counts.handlers).toBe(5)
      yield* onlyOthersLeft(port, server)
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
