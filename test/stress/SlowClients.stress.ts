/**
 * Slow clients (slowloris and its kin), against `headerTimeout: 1000` and
 * `writeTimeout: 1000`:
 * - heads dribbled one byte per 50 ms are cut off by the header timeout,
 *   while a normal client is still served at once;
 * - clients that never read a large response, streamed or written as one
 *   buffer (or many, pipelined), are cut off by the write timeout, and the
 *   server's memory meanwhile stays bounded by what one response holds, not
 *   by what the client asked for.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as L from "../support/LimitsClient.ts"
import * as RawClient from "../support/RawClient.ts"
import * as Load from "./support/Load.ts"
import type { Stats } from "./support/StressServer.ts"

const HEADER_TIMEOUT = 1000
const WRITE_TIMEOUT = 1000
const SLOWLORIS = 100

/**
 * Waits until the server has no connection left, sampling its memory
 * (after GC) meanwhile; returns the time it took and the peak of `arrayBuffers`.
 */
const waitAllClosed = (server: Load.Stressed["Service"]["server"], timeoutMillis: number) =>
  Effect.gen(function*() {
    const start = Load.now()
    let peak = 0
    const stats = yield* Load.waitForStats(server, "the server to close every connection", (s: Stats) => {
      peak = Math.max(peak, s.memory.arrayBuffers)
      return s.connections === 0
    }, timeoutMillis)
    return { elapsed: Load.now() - start, peak, stats }
  })

/** Cut off by the write timeout: not before it, and not long after (the responses take a moment to make). */
const expectCutOffByWriteTimeout = (elapsed: number) => {
  expect(elapsed).toBeGreaterThanOrEqual(WRITE_TIMEOUT - 300) // measured from when the server was seen to take the requests
  expect(elapsed).toBeLessThan(WRITE_TIMEOUT + 4000)
}

layer(
  Load.stressed({ headerTimeout: HEADER_TIMEOUT, writeTimeout: WRITE_TIMEOUT, idleConnectionTimeout: 60_000 }),
  { excludeTestServices: true, timeout: 60_000 }
)("slow clients", (it) => {
  it.effect(`${SLOWLORIS} heads dribbled one byte per 50 ms: each cut off by headerTimeout (${HEADER_TIMEOUT} ms), with nothing or a 408; a normal client is served meanwhile`, () =>
    Effect.gen(function*() {
      const { server, baseline } = yield* Load.Stressed
      const clients = yield* Load.connectMany(server.port, SLOWLORIS)
      const head = RawClient.get("/id/slow", `X-Filler: ${"s".repeat(300)}`) // ~15 s at this pace
      const start = Load.now()
      const dribbling = yield* Effect.forkChild(
        Effect.forEach(clients, (client) =>
          Effect.gen(function*() {
            const written = yield* L.dribble(client, head, 1, 50)
            const rest = yield* client.readUntilClose(5000)
            return { written, rest, closedAfter: Load.now() - start }
          }), { concurrency: "unbounded" })
      )
      // Meanwhile a normal client is served at once, several times.
      const served: Array<number> = []
      for (let i = 0; i < 5; i++) {
        yield* RawClient.sleepReal(150)
        served.push(yield* Load.expectServed(server.port, 1000))
      }
      const results = yield* Fiber.join(dribbling)
      for (const { closedAfter, rest, written } of results) {
        expect(written).toBeLessThan(head.length)
        expect(closedAfter).toBeGreaterThanOrEqual(HEADER_TIMEOUT - 50)
        expect(closedAfter).toBeLessThan(HEADER_TIMEOUT + 2000)
        if (rest.length > 0) expect(RawClient.parseAllResponses(rest).map((r) => r.status)).toEqual([408])
      }
      const latest = Math.max(...results.map((r) => r.closedAfter))
      yield* Load.report(
        `slowloris x${SLOWLORIS}: all cut off within ${Math.round(latest)} ms; ` +
          `normal requests meanwhile took ${served.map(Math.round).join(", ")} ms`
      )
      const stats = yield* Load.expectRecovered(server, baseline)
      yield* Load.report(`after slowloris: ${Load.describeStats(stats)}`)
    }), 60_000)

  // A client that sends its request and reads nothing of the answer.
  // Returns once the server has taken every request (its handler started).
  const nonReaders = (server: Load.Stressed["Service"]["server"], count: number, request: string) =>
    Effect.gen(function*() {
      const before = yield* server.stats
      const clients = yield* Load.connectMany(server.port, count)
      for (const client of clients) client.socket.pause()
      yield* Effect.forEach(clients, (client) => client.write(request), { discard: true })
      yield* Load.waitForStats(server, "the requests to start", (s) => s.started - before.started >= count)
      return clients
    })

  it.effect("8 clients never read a 256 MiB streamed response: memory stays bounded (backpressure), writeTimeout cuts them off", () =>
    Effect.gen(function*() {
      const { server, baseline } = yield* Load.Stressed
      const before = yield* server.stats
      yield* nonReaders(server, 8, RawClient.get(`/stream?size=${256 * Load.MiB}&chunk=65536`))
      const { elapsed, peak, stats } = yield* waitAllClosed(server, WRITE_TIMEOUT + 8000)
      yield* Load.report(
        `streamed non-readers x8: closed after ${Math.round(elapsed)} ms; peak arrayBuffers ${Load.mib(peak)} ` +
          `(baseline ${Load.mib(baseline.arrayBuffers)})`
      )
      expectCutOffByWriteTimeout(elapsed)
      // What the server holds per client: the socket's buffer and a piece or two, not the 256 MiB.
      expect(peak).toBeLessThan(baseline.arrayBuffers + 8 * Load.MiB)
      expect(stats.streamsCutShort - before.streamsCutShort).toBe(8)
      const recovered = yield* Load.expectRecovered(server, baseline)
      yield* Load.report(`after streamed non-readers: ${Load.describeStats(recovered)}`)
    }), 60_000)

  it.effect("4 clients never read a 64 MiB response written at once: writeTimeout cuts them off, the buffers are freed", () =>
    Effect.gen(function*() {
      const { server, baseline } = yield* Load.Stressed
      yield* nonReaders(server, 4, RawClient.get(`/large?size=${64 * Load.MiB}`))
      const { elapsed, peak } = yield* waitAllClosed(server, WRITE_TIMEOUT + 8000)
      yield* Load.report(`large non-readers x4: closed after ${Math.round(elapsed)} ms; peak arrayBuffers ${Load.mib(peak)}`)
      expectCutOffByWriteTimeout(elapsed)
      // Each response is one buffer the handler made: held until the connection goes, no more.
      expect(peak).toBeLessThan(baseline.arrayBuffers + 4 * 64 * Load.MiB + 8 * Load.MiB)
      const recovered = yield* Load.expectRecovered(server, baseline)
      yield* Load.report(`after large non-readers: ${Load.describeStats(recovered)}`)
    }), 60_000)

  it.effect("a client pipelines 64 requests for 4 MiB each and reads nothing: the server holds a few responses at most, not 256 MiB", () =>
    Effect.gen(function*() {
      const { server, baseline } = yield* Load.Stressed
      const before = yield* server.stats
      const request = RawClient.get(`/large?size=${4 * Load.MiB}`)
      yield* nonReaders(server, 1, request.repeat(64))
      const { elapsed, peak, stats } = yield* waitAllClosed(server, WRITE_TIMEOUT + 8000)
      const answered = stats.answered - before.answered
      yield* Load.report(
        `pipelined non-reader: closed after ${Math.round(elapsed)} ms; ${answered} of 64 responses made; ` +
          `peak arrayBuffers ${Load.mib(peak)}`
      )
      expectCutOffByWriteTimeout(elapsed)
      // "Responses wait in memory for the peer to read them: no more requests
      // are taken meanwhile" (HttpConnection.awaitWriteDrain).
      expect(peak, "server memory held for one client that reads nothing").toBeLessThan(
        baseline.arrayBuffers + 4 * 4 * Load.MiB
      )
      const recovered = yield* Load.expectRecovered(server, baseline)
      yield* Load.report(`after pipelined non-reader: ${Load.describeStats(recovered)}`)
    }), 60_000)
})
