/**
 * Many clients at once: 2,000 concurrent keep-alive connections, each doing
 * sequential and pipelined requests, and 500 concurrent uploads; every
 * request gets exactly one correct response, and the server returns to its
 * baseline afterwards.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as L from "../support/LimitsClient.ts"
import * as RawClient from "../support/RawClient.ts"
import * as Load from "./support/Load.ts"

const CONNECTIONS = 2000
const SEQUENTIAL = 3
const PIPELINED = 2

const UPLOADS = 500
const UPLOAD_SIZE = 64 * Load.KiB

layer(Load.stressed({ headerTimeout: 20_000, idleConnectionTimeout: 60_000 }), {
  excludeTestServices: true,
  timeout: 60_000
})("concurrency", (it) => {
  it.effect(`${CONNECTIONS} concurrent connections, ${SEQUENTIAL} sequential + ${PIPELINED} pipelined keep-alive requests each: exactly one correct response per request`, () =>
    Effect.gen(function*() {
      const { server, baseline } = yield* Load.Stressed
      const before = yield* server.stats

      const connectStart = Load.now()
      const clients = yield* Load.connectMany(server.port, CONNECTIONS, 250)
      const open = yield* Load.waitForStats(server, `${CONNECTIONS} connections`, (s) => s.connections === CONNECTIONS)
      yield* Load.report(`${CONNECTIONS} connections open in ${Math.round(Load.now() - connectStart)} ms: ${Load.describeStats(open)}`)

      const requestStart = Load.now()
      yield* Effect.forEach(clients, (client, i) =>
        Effect.gen(function*() {
          for (let r = 0; r < SEQUENTIAL; r++) yield* Load.roundTrip(client, `c${i}r${r}`)
          const tokens = Array.from({ length: PIPELINED }, (_, p) => `c${i}p${p}`)
          yield* client.write(tokens.map((token) => RawClient.get(`/id/${token}`)).join(""))
          for (const token of tokens) {
            const response = yield* client.readResponse({ timeoutMillis: 20_000 })
            expect(response.status).toBe(200)
            expect(response.text).toBe(token)
          }
        }), { concurrency: "unbounded", discard: true })
      const requests = CONNECTIONS * (SEQUENTIAL + PIPELINED)
      const elapsed = Load.now() - requestStart
      yield* Load.report(`${requests} requests in ${Math.round(elapsed)} ms (${Math.round(requests / (elapsed / 1000))} req/s)`)

      // Exactly one response each: nothing more arrives, and every connection is still open.
      yield* RawClient.sleepReal(300)
      const extra = clients.filter((client) => client.pending.length > 0).length
      const closed = clients.filter((client) => client.isClosed).length
      expect(extra, "connections that received bytes beyond their responses").toBe(0)
      expect(closed, "connections the server closed").toBe(0)
      const after = yield* server.stats
      expect(after.answered - before.answered).toBe(requests)
      expect(after.started - before.started).toBe(requests)
      expect(after.connections).toBe(CONNECTIONS)
      yield* Load.report(`with ${CONNECTIONS} connections open: ${Load.describeStats(after)}`)

      yield* Effect.forEach(clients, (client) => client.destroy(), { discard: true })
      const final = yield* Load.expectRecovered(server, baseline)
      yield* Load.report(`recovered: ${Load.describeStats(final)}`)
    }), 120_000)

  it.effect(`${UPLOADS} concurrent uploads of ${UPLOAD_SIZE / Load.KiB} KiB (half Content-Length, half chunked), two per connection: every body read whole`, () =>
    Effect.gen(function*() {
      const { server, baseline } = yield* Load.Stressed
      const before = yield* server.stats
      const clients = yield* Load.connectMany(server.port, UPLOADS)
      const body = Buffer.alloc(UPLOAD_SIZE, 0x75)
      const start = Load.now()
      yield* Effect.forEach(clients, (client, i) =>
        Effect.gen(function*() {
          for (let round = 0; round < 2; round++) {
            const pieces = [body.subarray(0, 1000), body.subarray(1000, 40_000), body.subarray(40_000)]
            yield* client.write(
              (i + round) % 2 === 0 ? RawClient.withBody("POST", "/body", body) : L.chunkedRequest("POST", "/body", pieces)
            )
            const response = yield* client.readResponse({ timeoutMillis: 20_000 })
            expect(response.status).toBe(200)
            expect(response.text).toBe(String(UPLOAD_SIZE))
          }
        }), { concurrency: "unbounded", discard: true })
      const elapsed = Load.now() - start
      const after = yield* server.stats
      expect(after.answered - before.answered).toBe(2 * UPLOADS)
      yield* Load.report(
        `${2 * UPLOADS} uploads (${Load.mib(2 * UPLOADS * UPLOAD_SIZE)}) in ${Math.round(elapsed)} ms: ${Load.describeStats(after)}`
      )
      yield* Effect.forEach(clients, (client) => client.destroy(), { discard: true })
      const final = yield* Load.expectRecovered(server, baseline)
      yield* Load.report(`recovered: ${Load.describeStats(final)}`)
    }), 60_000)
})
