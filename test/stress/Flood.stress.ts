/**
 * A flood of connections that send nothing (1,000), and of connections that
 * send one byte of a head and stop (200): both are closed by `headerTimeout`,
 * which for a connection's first request runs from the accept (a silent
 * connection is a slow head: nothing is sent to it), well before
 * `idleConnectionTimeout`; meanwhile a normal client is served at once.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as RawClient from "../support/RawClient.ts"
import * as Load from "./support/Load.ts"

const HEADER_TIMEOUT = 1000
const IDLE_TIMEOUT = 2000
const SILENT = 1000
const ONE_BYTE = 200

layer(
  Load.stressed({ headerTimeout: HEADER_TIMEOUT, idleConnectionTimeout: IDLE_TIMEOUT }),
  { excludeTestServices: true, timeout: 60_000 }
)("flood", (it) => {
  it.effect(`${SILENT} silent and ${ONE_BYTE} one-byte connections: closed by the header timeout (from the accept for the silent ones); a normal client is served meanwhile`, () =>
    Effect.gen(function*() {
      const { server, baseline } = yield* Load.Stressed
      const start = Load.now()
      const silent = yield* Load.connectMany(server.port, SILENT, 250)
      const oneByte = yield* Load.connectMany(server.port, ONE_BYTE, 250)
      const opened = Load.now() - start
      yield* Effect.forEach(oneByte, (client) => client.write("G"), { discard: true })
      const sentAt = Load.now()
      const flooded = yield* Load.waitForStats(server, "the flood to be accepted", (s) => s.connections === SILENT + ONE_BYTE)
      yield* Load.report(`${SILENT + ONE_BYTE} connections open in ${Math.round(opened)} ms: ${Load.describeStats(flooded)}`)

      const closeTimes = (clients: ReadonlyArray<RawClient.RawConnection>, from: number) =>
        Effect.forEach(clients, (client) =>
          Effect.map(client.readUntilClose(IDLE_TIMEOUT + 5000), (rest) => ({ rest, after: Load.now() - from })), {
          concurrency: "unbounded"
        })
      const silentClosed = yield* Effect.forkChild(closeTimes(silent, start))
      const oneByteClosed = yield* Effect.forkChild(closeTimes(oneByte, sentAt))

      // A normal client meanwhile, every 200 ms, on a fresh connection and on a kept one.
      const kept = yield* RawClient.connect(server.port)
      const served: Array<number> = []
      for (let i = 0; i < 10; i++) {
        served.push(yield* Load.expectServed(server.port, 1000))
        const t = Load.now()
        yield* Load.roundTrip(kept, `kept${i}`, 1000)
        served.push(Load.now() - t)
        yield* RawClient.sleepReal(200)
      }

      const silentResults = yield* Fiber.join(silentClosed)
      const oneByteResults = yield* Fiber.join(oneByteClosed)
      for (const { after, rest } of silentResults) {
        expect(rest.length, "bytes sent to a connection that sent nothing").toBe(0)
        expect(after).toBeGreaterThanOrEqual(HEADER_TIMEOUT - 100)
        expect(after).toBeLessThan(HEADER_TIMEOUT + opened + 2000)
      }
      for (const { after, rest } of oneByteResults) {
        expect(after).toBeGreaterThanOrEqual(HEADER_TIMEOUT - 100)
        expect(after).toBeLessThan(HEADER_TIMEOUT + 2000)
        if (rest.length > 0) expect(RawClient.parseAllResponses(rest).map((r) => r.status)).toEqual([408])
      }
      const with408 = oneByteResults.filter((r) => r.rest.length > 0).length
      yield* Load.report(
        `silent closed after ${Math.round(Math.min(...silentResults.map((r) => r.after)))}..` +
          `${Math.round(Math.max(...silentResults.map((r) => r.after)))} ms; one-byte closed after ` +
          `${Math.round(Math.min(...oneByteResults.map((r) => r.after)))}..` +
          `${Math.round(Math.max(...oneByteResults.map((r) => r.after)))} ms (${with408} with a 408); ` +
          `normal requests meanwhile: max ${Math.round(Math.max(...served))} ms`
      )
      expect(Math.max(...served)).toBeLessThan(1000)
      yield* kept.destroy()
      const stats = yield* Load.expectRecovered(server, baseline)
      yield* Load.report(`after the flood: ${Load.describeStats(stats)}`)
    }), 60_000)
})
