/**
 * Clients that go away at the worst moment: a TCP reset (RST, through
 * `socket.resetAndDestroy()`) in the middle of a request head, of a request
 * body, of a large response and of a streamed one; a FIN (half-close) in the
 * middle of a head and of a body. Each wave is a couple of hundred clients
 * at once; after each, the server has no connection, handler or response
 * stream left, still answers, and is back near its baseline memory.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as RawClient from "../support/RawClient.ts"
import * as Load from "./support/Load.ts"

const WAVE = 200
const BODY_SIZE = Load.MiB
/** Fewer clients for the large responses: each holds its response buffer. */
const LARGE_WAVE = 40
const LARGE_SIZE = 16 * Load.MiB

const partialHead = (i: number) => `GET /id/h${i} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: ${"f".repeat(200)}`
const bodyHead = `POST /body HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${BODY_SIZE}\r\n\r\n`
const bodyStart = Buffer.alloc(64 * Load.KiB, 0x78)

const midBody = Buffer.concat([Buffer.from(bodyHead), bodyStart])

layer(Load.stressed({ headerTimeout: 20_000, idleConnectionTimeout: 60_000 }), { excludeTestServices: true, timeout: 60_000 })(
  "aborts",
  (it) => {
    it.effect(`RST mid-head x${WAVE}`, () =>
      Effect.gen(function*() {
        const { server, baseline } = yield* Load.Stressed
        const clients = yield* Load.connectMany(server.port, WAVE)
        yield* Effect.forEach(clients, (client, i) => client.write(partialHead(i)), { discard: true })
        yield* Load.waitForStats(server, "the mid-head connections", (s) => s.connections === WAVE)
        yield* RawClient.sleepReal(100)
        yield* Effect.forEach(clients, (client) => client.reset(), { discard: true })
        const stats = yield* Load.expectRecovered(server, baseline)
        yield* Load.report(`RST mid-head x${WAVE}: ${Load.describeStats(stats)}`)
      }), 60_000)

    it.effect(`RST mid-body x${WAVE}: the handlers waiting for the body end, none is answered`, () =>
      Effect.gen(function*() {
        const { server, baseline } = yield* Load.Stressed
        const before = yield* server.stats
        const clients = yield* Load.connectMany(server.port, WAVE)
        yield* Effect.forEach(clients, (client) => client.write(midBody), { discard: true })
        yield* Load.waitForStats(server, "the mid-body handlers", (s) => s.inFlight === WAVE)
        yield* Effect.forEach(clients, (client) => client.reset(), { discard: true })
        const stats = yield* Load.expectRecovered(server, baseline)
        // None of them was answered (the probe of expectRecovered was).
        expect(stats.answered - before.answered).toBe(1)
        expect(stats.started - before.started).toBe(WAVE + 1)
        yield* Load.report(`RST mid-body x${WAVE}: ${Load.describeStats(stats)}`)
      }), 60_000)

    // A 16 MiB response written as one buffer, and a 256 MiB stream.
    for (const path of [`/large?size=${LARGE_SIZE}`, `/stream?size=${256 * Load.MiB}&chunk=65536`]) {
      it.effect(`RST mid-response x${LARGE_WAVE}: GET ${path}`, () =>
        Effect.gen(function*() {
          const { server, baseline } = yield* Load.Stressed
          const before = yield* server.stats
          const clients = yield* Load.connectMany(server.port, LARGE_WAVE)
          yield* Effect.forEach(clients, (client) =>
            Effect.gen(function*() {
              yield* client.write(RawClient.get(path))
              yield* client.readUntil("\r\n\r\n", 20_000)
              client.socket.pause() // stop reading: the response is left mid-way
            }), { concurrency: "unbounded", discard: true })
          yield* RawClient.sleepReal(100)
          yield* Effect.forEach(clients, (client) => client.reset(), { discard: true })
          const stats = yield* Load.expectRecovered(server, baseline)
          if (path.startsWith("/stream")) {
            expect(stats.streamsCutShort - before.streamsCutShort, "streams interrupted").toBe(LARGE_WAVE)
          }
          yield* Load.report(`RST mid-response ${path} x${LARGE_WAVE}: ${Load.describeStats(stats)}`)
        }), 60_000)
    }

    it.effect(`FIN mid-head x${WAVE}: closed at once, with nothing or a 400`, () =>
      Effect.gen(function*() {
        const { server, baseline } = yield* Load.Stressed
        const clients = yield* Load.connectMany(server.port, WAVE)
        yield* Effect.forEach(clients, (client, i) => client.write(partialHead(i)), { discard: true })
        yield* Load.waitForStats(server, "the mid-head connections", (s) => s.connections === WAVE)
        yield* Effect.forEach(clients, (client) => client.end(), { discard: true })
        const rests = yield* Effect.forEach(clients, (client) => client.readUntilClose(5000), {
          concurrency: "unbounded"
        })
        for (const rest of rests) {
          if (rest.length > 0) expect(RawClient.parseAllResponses(rest).map((r) => r.status)).toEqual([400])
        }
        const stats = yield* Load.expectRecovered(server, baseline)
        yield* Load.report(`FIN mid-head x${WAVE}: ${Load.describeStats(stats)}`)
      }), 60_000)

    it.effect(`FIN mid-body x${WAVE}: abandoned, no response, closed`, () =>
      Effect.gen(function*() {
        const { server, baseline } = yield* Load.Stressed
        const before = yield* server.stats
        const clients = yield* Load.connectMany(server.port, WAVE)
        yield* Effect.forEach(clients, (client) => client.write(midBody), { discard: true })
        yield* Load.waitForStats(server, "the mid-body handlers", (s) => s.inFlight === WAVE)
        yield* Effect.forEach(clients, (client) => client.end(), { discard: true })
        const rests = yield* Effect.forEach(clients, (client) => client.readUntilClose(5000), {
          concurrency: "unbounded"
        })
        expect(rests.filter((rest) => rest.length > 0).length, "responses to abandoned requests").toBe(0)
        const stats = yield* Load.expectRecovered(server, baseline)
        expect(stats.answered - before.answered).toBe(1)
        yield* Load.report(`FIN mid-body x${WAVE}: ${Load.describeStats(stats)}`)
      }), 60_000)
  }
)
