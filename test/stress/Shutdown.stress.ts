/**
 * Graceful shutdown under load: the demo command (`src/cli/main.ts --port 0`)
 * gets SIGTERM while 100 `/slow?ms=300` requests are in flight and 50 idle
 * keep-alive connections are open. Every request in flight completes with
 * 200, the idle connections are closed at once, new connections are
 * refused, and the process exits with 0 well before `shutdownTimeout`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as RawClient from "../support/RawClient.ts"
import * as Load from "./support/Load.ts"
import * as ServerProcess from "./support/ServerProcess.ts"

const IN_FLIGHT = 100
const IDLE = 50

describe("graceful shutdown", () => {
  it.live(`SIGTERM with ${IN_FLIGHT} /slow?ms=300 requests in flight: all complete with 200, new connections are refused, exit 0`, () =>
    Effect.gen(function*() {
      const demo = yield* ServerProcess.startDemo()
      const idle = yield* Load.connectMany(demo.port, IDLE)
      yield* Effect.forEach(idle, (client) =>
        Effect.gen(function*() {
          yield* client.write(RawClient.get("/hello"))
          expect((yield* client.readResponse()).status).toBe(200)
        }), { concurrency: "unbounded", discard: true })

      const busy = yield* Load.connectMany(demo.port, IN_FLIGHT)
      yield* Effect.forEach(busy, (client) => client.write(RawClient.get("/slow?ms=300")), { discard: true })
      const responses = yield* Effect.forkChild(
        Effect.forEach(busy, (client) => client.readResponse({ timeoutMillis: 10_000 }), { concurrency: "unbounded" })
      )
      const idleClosed = yield* Effect.forkChild(
        Effect.forEach(idle, (client) => client.readUntilClose(5000), { concurrency: "unbounded" })
      )
      yield* RawClient.sleepReal(150) // the requests are in the handlers now (they sleep 300 ms)
      const signalledAt = Load.now()
      demo.child.kill("SIGTERM")

      yield* RawClient.sleepReal(50)
      const late = yield* RawClient.tryConnect(demo.port)
      expect(late, "a connection attempted after SIGTERM").toBeInstanceOf(Error)
      expect((late as Error & { code?: string }).code).toBe("ECONNREFUSED")

      const idleRests = yield* Fiber.join(idleClosed)
      const idleClosedAfter = Load.now() - signalledAt
      for (const rest of idleRests) expect(rest.length, "bytes sent to an idle connection").toBe(0)

      const answered = yield* Fiber.join(responses)
      for (const response of answered) {
        expect(response.status).toBe(200)
        expect(response.text).toBe("done")
      }
      const exitCode = yield* demo.exited
      const exitedAfter = Load.now() - signalledAt
      expect(exitCode).toBe(0)
      expect(exitedAfter).toBeLessThan(5000)
      yield* Load.report(
        `SIGTERM: ${IDLE} idle connections closed within ${Math.round(idleClosedAfter)} ms; ` +
          `${answered.length} in-flight requests answered 200; exit ${exitCode} after ${Math.round(exitedAfter)} ms`
      )
    }), 60_000)
})
