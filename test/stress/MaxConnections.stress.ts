/**
 * `maxConnections`: with the limit reached, each new connection is closed
 * at once and gets no response; the open ones are unharmed and keep being
 * served; once some close, new connections are accepted again.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as RawClient from "../support/RawClient.ts"
import * as Load from "./support/Load.ts"

const LIMIT = 100
const EXCESS = 100

layer(Load.stressed({ maxConnections: LIMIT, idleConnectionTimeout: 60_000 }), {
  excludeTestServices: true,
  timeout: 60_000
})("maxConnections", (it) => {
  it.effect(`maxConnections ${LIMIT}: ${EXCESS} more are closed at once, the ${LIMIT} open ones unharmed`, () =>
    Effect.gen(function*() {
      const { server, baseline } = yield* Load.Stressed
      const open = yield* Load.connectMany(server.port, LIMIT)
      yield* Effect.forEach(open, (client, i) => Load.roundTrip(client, `open${i}`), {
        concurrency: "unbounded",
        discard: true
      })
      yield* Load.waitForStats(server, `${LIMIT} connections`, (s) => s.connections === LIMIT)

      // Past the limit: closed at once, whether they send a request or not.
      const start = Load.now()
      const excess = yield* Load.connectMany(server.port, EXCESS)
      const rests = yield* Effect.forEach(excess, (client, i) =>
        Effect.gen(function*() {
          if (i % 2 === 0) yield* client.write(RawClient.get(`/id/excess${i}`))
          const rest = yield* client.readUntilClose(2000)
          return { rest, after: Load.now() - start }
        }), { concurrency: "unbounded" })
      for (const { rest } of rests) expect(rest.length, "bytes sent to a connection past the limit").toBe(0)
      const slowest = Math.max(...rests.map((r) => r.after))
      expect(slowest).toBeLessThan(1000)
      const during = yield* server.stats
      expect(during.connections).toBe(LIMIT)

      // The open ones: all still open, all served, twice (one pipelined pair).
      expect(open.filter((client) => client.isClosed).length, "open connections closed").toBe(0)
      yield* Effect.forEach(open, (client, i) =>
        Effect.gen(function*() {
          yield* Load.roundTrip(client, `again${i}`)
          yield* client.write(RawClient.get(`/id/p${i}a`) + RawClient.get(`/id/p${i}b`))
          expect((yield* client.readResponse()).text).toBe(`p${i}a`)
          expect((yield* client.readResponse()).text).toBe(`p${i}b`)
        }), { concurrency: "unbounded", discard: true })

      // Room again once some leave.
      yield* Effect.forEach(open.slice(0, LIMIT / 2), (client) => client.destroy(), { discard: true })
      yield* Load.waitForStats(server, "half of them to close", (s) => s.connections === LIMIT / 2)
      const newcomers = yield* Load.connectMany(server.port, LIMIT / 2)
      yield* Effect.forEach(newcomers, (client, i) => Load.roundTrip(client, `new${i}`), {
        concurrency: "unbounded",
        discard: true
      })
      yield* Load.report(
        `${EXCESS} connections past the limit all closed within ${Math.round(slowest)} ms; ` +
          `${LIMIT / 2} newcomers served after ${LIMIT / 2} left`
      )
      yield* Effect.forEach([...open, ...newcomers], (client) => client.destroy(), { discard: true })
      const stats = yield* Load.expectRecovered(server, baseline)
      yield* Load.report(`after maxConnections: ${Load.describeStats(stats)}`)
    }), 60_000)
})
