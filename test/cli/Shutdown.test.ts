/**
 * SIGTERM through the demo command: a slow client does not hold the exit,
 * and pipelined requests received before the signal are all answered.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { startDemo } from "../support/DemoProcess.ts"
import * as RawClient from "../support/RawClient.ts"

describe("the demo command on SIGTERM", () => {
  it.live("a client that never finishes its head does not hold the exit (shutdown timeout 30 s)", () =>
    Effect.gen(function*() {
      const demo = yield* startDemo(["--shutdown-timeout", "30"])
      const slowloris = yield* RawClient.connect(demo.port)
      yield* slowloris.write("GET / HTTP/1.1\r\nHost: x\r\nX-Slow:")
      yield* RawClient.sleepReal(100)
      const started = Date.now()
      demo.child.kill("SIGTERM")
      expect(yield* demo.exited).toBe(0)
      expect(Date.now() - started).toBeLessThan(5000)
      expect((yield* slowloris.readUntilClose(1000)).length).toBe(0)
    }), 30_000)

  it.live("two pipelined /slow requests per connection, received before SIGTERM: both answered, then exit 0", () =>
    Effect.gen(function*() {
      const demo = yield* startDemo(["--shutdown-timeout", "10"])
      const clients = yield* Effect.forEach([1, 2, 3], () => RawClient.connect(demo.port))
      for (const client of clients) {
        yield* client.write(RawClient.get("/slow?ms=400") + RawClient.get("/slow?ms=100"))
      }
      yield* RawClient.sleepReal(150)
      demo.child.kill("SIGTERM")
      for (const client of clients) {
        const responses = RawClient.parseAllResponses(yield* client.readUntilClose(5000))
        expect(responses.map((r) => [r.status, r.text])).toEqual([[200, "done"], [200, "done"]])
        expect(responses[1]?.header("Connection")).toBe("close")
      }
      expect(yield* demo.exited).toBe(0)
    }), 30_000)
})
