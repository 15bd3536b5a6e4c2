/**
 * Helpers of the stress scenarios: many loopback connections at once
 * (through `RawClient`), polling the server child's counters, and the check
 * every scenario ends with (`expectRecovered`): the connections are all
 * gone, no handler or response stream is left running, the server still
 * answers, and its memory after GC is back near the baseline.
 */
import { expect } from "@effect/vitest"
import { Context, Effect, Layer, type Scope } from "effect"
import type { ServerConfigInput } from "../../../src/Config/ServerConfig.ts"
import * as RawClient from "../../support/RawClient.ts"
import { type ServerProcess, start } from "./ServerProcess.ts"
import type { Stats } from "./StressServer.ts"

export const KiB = 1024
export const MiB = 1024 * 1024

/**
 * How far memory after a full GC may stay above its baseline once a
 * scenario is over: V8 keeps some grown tables and code (the baseline is
 * taken after a warm-up, not on a cold process); a leak of one object per
 * connection or request would pass this within one scenario.
 */
export const HEAP_TOLERANCE = 8 * MiB
/** Likewise for Buffers (`arrayBuffers`): what a lost response or input buffer would hold. */
export const BUFFER_TOLERANCE = 4 * MiB

export const now = (): number => performance.now()

export const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`

/** One line about the server's state, for logs and failure messages. */
export const describeStats = (stats: Stats): string =>
  `connections=${stats.connections} inFlight=${stats.inFlight} started=${stats.started} answered=${stats.answered} ` +
  `interrupted=${stats.interrupted} activeStreams=${stats.activeStreams} heapUsed=${mib(stats.memory.heapUsed)} ` +
  `arrayBuffers=${mib(stats.memory.arrayBuffers)} rss=${mib(stats.memory.rss)}`

/** Polls the server's stats every 100 ms until `done` holds; dies with the last ones after `timeoutMillis`. */
export const waitForStats = (
  server: ServerProcess,
  what: string,
  done: (stats: Stats) => boolean,
  timeoutMillis = 10_000
): Effect.Effect<Stats> =>
  Effect.gen(function*() {
    const deadline = now() + timeoutMillis
    for (;;) {
      const stats = yield* server.stats
      if (done(stats)) return stats
      if (now() > deadline) {
        return yield* Effect.die(new Error(`waiting for ${what}: still ${describeStats(stats)}`))
      }
      yield* RawClient.sleepReal(100)
    }
  })

/** Opens `count` connections, at most `concurrency` connecting at a time; closed with the Scope. */
export const connectMany = (
  port: number,
  count: number,
  concurrency = 200
): Effect.Effect<Array<RawClient.RawConnection>, never, Scope.Scope> =>
  Effect.forEach(Array.from({ length: count }, (_, i) => i), () => RawClient.connect(port), { concurrency })

/** `GET /id/TOKEN`, read back and checked: one 200 whose body is the token. */
export const roundTrip = (client: RawClient.RawConnection, token: string, timeoutMillis = 20_000) =>
  Effect.gen(function*() {
    yield* client.write(RawClient.get(`/id/${token}`))
    const response = yield* client.readResponse({ timeoutMillis })
    expect(response.status).toBe(200)
    expect(response.text).toBe(token)
  })

/** A fresh connection is served at once (within `timeoutMillis`). */
export const expectServed = (port: number, timeoutMillis = 2000): Effect.Effect<number> =>
  Effect.scoped(
    Effect.gen(function*() {
      const start = now()
      const client = yield* RawClient.connect(port)
      yield* roundTrip(client, `probe${Math.floor(start)}`, timeoutMillis)
      return now() - start
    })
  )

/** Memory after GC: the baseline every scenario returns to. */
export interface Baseline {
  readonly heapUsed: number
  readonly arrayBuffers: number
}

/**
 * Warms the server up (connections, keep-alive requests, bodies, a large
 * and a streamed response) and returns its memory after GC.
 */
export const warmUp = (server: ServerProcess): Effect.Effect<Baseline> =>
  Effect.scoped(
    Effect.gen(function*() {
      const clients = yield* connectMany(server.port, 50)
      for (let round = 0; round < 4; round++) {
        yield* Effect.forEach(clients, (client, i) => roundTrip(client, `w${round}x${i}`), { concurrency: "unbounded" })
      }
      const client = clients[0] as RawClient.RawConnection
      yield* client.write(RawClient.withBody("POST", "/body", Buffer.alloc(256 * KiB)))
      expect((yield* client.readResponse()).text).toBe(String(256 * KiB))
      yield* client.write(RawClient.get("/large?size=1048576"))
      expect((yield* client.readResponse()).body.length).toBe(MiB)
      yield* client.write(RawClient.get("/stream?size=1048576&chunk=65536"))
      expect((yield* client.readResponse()).body.length).toBe(MiB)
      yield* Effect.forEach(clients, (c) => c.destroy())
      const stats = yield* waitForStats(server, "the warm-up connections to close", (s) => s.connections === 0)
      return { heapUsed: stats.memory.heapUsed, arrayBuffers: stats.memory.arrayBuffers }
    })
  )

/**
 * The end of every scenario: no connection, handler or stream left; a new
 * client is served; memory after GC back within the tolerances of
 * `baseline` (polled for up to 5 s: buffers of destroyed sockets are freed
 * a little later). Returns the final stats.
 */
export const expectRecovered = (server: ServerProcess, baseline: Baseline, connectionTimeoutMillis = 10_000) =>
  Effect.gen(function*() {
    yield* waitForStats(
      server,
      "every connection, handler and stream to end",
      (s) => s.connections === 0 && s.inFlight === 0 && s.activeStreams === 0,
      connectionTimeoutMillis
    )
    yield* expectServed(server.port)
    const stats = yield* waitForStats(server, "the connection count to return to 0", (s) => s.connections === 0)
    let last = stats
    const deadline = now() + 5000
    while (
      (last.memory.heapUsed > baseline.heapUsed + HEAP_TOLERANCE ||
        last.memory.arrayBuffers > baseline.arrayBuffers + BUFFER_TOLERANCE) && now() < deadline
    ) {
      yield* RawClient.sleepReal(250)
      last = yield* server.stats
    }
    expect(
      last.memory.heapUsed,
      `heapUsed after GC ${mib(last.memory.heapUsed)} vs baseline ${mib(baseline.heapUsed)}`
    ).toBeLessThanOrEqual(baseline.heapUsed + HEAP_TOLERANCE)
    expect(
      last.memory.arrayBuffers,
      `arrayBuffers after GC ${mib(last.memory.arrayBuffers)} vs baseline ${mib(baseline.arrayBuffers)}`
    ).toBeLessThanOrEqual(baseline.arrayBuffers + BUFFER_TOLERANCE)
    return last
  })

/** Logs a line to the test output (the verbose reporter shows it). */
export const report = (line: string): Effect.Effect<void> => Effect.sync(() => console.log(`[stress] ${line}`))

/** The server child of one test file, warmed up, with its baseline. */
export class Stressed extends Context.Service<Stressed, {
  readonly server: ServerProcess
  readonly baseline: Baseline
}>()("test/stress/Stressed") {}

/**
 * A server child with `config`, shared by the tests of a file (through
 * `layer(...)` of `@effect/vitest`, with `excludeTestServices`: real time),
 * warmed up; killed when the file is done.
 */
export const stressed = (config: ServerConfigInput): Layer.Layer<Stressed> =>
  Layer.effect(
    Stressed,
    Effect.gen(function*() {
      const server = yield* start(config)
      const baseline = yield* warmUp(server)
      yield* report(
        `server pid ${server.pid} on port ${server.port}, config ${JSON.stringify(config)}; baseline after GC: ` +
          `heapUsed=${mib(baseline.heapUsed)} arrayBuffers=${mib(baseline.arrayBuffers)}`
      )
      return { server, baseline }
    })
  )
