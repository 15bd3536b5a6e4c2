/**
 * The demo command's `/status`, `/health`, `/events` and `/ws`, as
 * `shared/spec/demo-server.md` has them, through the command (a child
 * process); the long-lived ones end by themselves at SIGTERM.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { startDemo } from "../support/DemoProcess.ts"
import * as RawClient from "../support/RawClient.ts"
import * as WsClient from "../support/WsClient.ts"

const get = (port: number, path: string, ...headers: Array<string>) =>
  RawClient.requestOnce(port, RawClient.get(path, ...headers))

describe("the demo command's routes", () => {
  it.live("/status answers the code asked for, with the reason asked for or the standard one, empty body", () =>
    Effect.gen(function*() {
      const { port } = yield* startDemo()
      const teapot = yield* get(port, "/status?code=418&reason=Short%20and%20stout")
      expect([teapot.status, teapot.reason, teapot.body.length]).toEqual([418, "Short and stout", 0])
      expect(teapot.header("content-length")).toBe("0")
      const standard = yield* get(port, "/status?code=503")
      expect([standard.status, standard.reason]).toEqual([503, "Service Unavailable"])
      const emptyReason = yield* get(port, "/status?code=299&reason=")
      expect(emptyReason.raw.toString("latin1").startsWith("HTTP/1.1 299 \r\n")).toBe(true)
      expect((yield* get(port, "/status?code=42")).status).toBe(400)
      expect((yield* get(port, "/status?code=200&reason=a%0D%0Ab")).status).toBe(400)
    }), 30_000)

  it.live("/health answers 200 ok while serving, 503 draining once SIGTERM has come", () =>
    Effect.gen(function*() {
      const demo = yield* startDemo(["--shutdown-timeout", "10"])
      const healthy = yield* get(demo.port, "/health")
      expect([healthy.status, healthy.text]).toEqual([200, "ok"])
      // A /health pipelined behind a slow request is answered after the signal.
      const client = yield* RawClient.connect(demo.port)
      yield* client.write(RawClient.get("/slow?ms=500") + RawClient.get("/health"))
      yield* RawClient.sleepReal(150)
      demo.child.kill("SIGTERM")
      const responses = RawClient.parseAllResponses(yield* client.readUntilClose(5000))
      expect(responses.map((r) => [r.status, r.text])).toEqual([[200, "done"], [503, "draining"]])
      expect(yield* demo.exited).toBe(0)
    }), 30_000)

  it.live("/events sends `data: N` every 100 ms; at SIGTERM a last `event: shutdown`, the stream ends, exit at once", () =>
    Effect.gen(function*() {
      const demo = yield* startDemo(["--shutdown-timeout", "30"])
      const client = yield* RawClient.connect(demo.port)
      yield* client.write(RawClient.get("/events"))
      const head = (yield* client.readUntil("\r\n\r\n")).toString("latin1")
      expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
      expect(head).toMatch(/\r\nContent-Type: text\/event-stream/i)
      const started = performance.now()
      yield* client.readUntil("data: 3\n\n", 5000)
      // Four events (0 to 3) take three periods of 100 ms.
      expect(performance.now() - started).toBeGreaterThanOrEqual(250)

      const signalled = Date.now()
      demo.child.kill("SIGTERM")
      const rest = (yield* client.readUntilClose(5000)).toString("latin1")
      expect(rest).toMatch(/event: shutdown\ndata:\n\n\r\n0\r\n\r\n$/)
      expect(yield* demo.exited).toBe(0)
      // Not cut at --shutdown-timeout (30 s): the stream ended on the signal.
      expect(Date.now() - signalled).toBeLessThan(5000)
    }), 30_000)

  it.live("/ws echoes text and binary, answers pings, returns the client's close code; 426 without an upgrade", () =>
    Effect.gen(function*() {
      const { port } = yield* startDemo()
      const plain = yield* get(port, "/ws")
      expect(plain.status).toBe(426)
      expect(plain.header("upgrade")).toBe("websocket")

      const ws = yield* WsClient.connect(`ws://127.0.0.1:${port}/ws`)
      expect(yield* ws.roundTrip("hello")).toEqual({ data: "hello", binary: false })
      const bytes = yield* ws.roundTrip(new Uint8Array([0, 1, 2, 255]))
      expect([bytes.binary, [...(bytes.data as Buffer)]]).toEqual([true, [0, 1, 2, 255]])
      const pong = yield* Effect.callback<string>((resume) => {
        ws.socket.once("pong", (data: Buffer) => resume(Effect.succeed(data.toString())))
        ws.socket.ping("are you there")
      })
      expect(pong).toBe("are you there")
      expect(yield* ws.close(4321)).toBe(4321)
    }), 30_000)

  it.live("/ws is closed with 1001 Going Away at SIGTERM, and the command exits at once", () =>
    Effect.gen(function*() {
      const demo = yield* startDemo(["--shutdown-timeout", "30"])
      const ws = yield* WsClient.connect(`ws://127.0.0.1:${demo.port}/ws`)
      expect(yield* ws.roundTrip("before")).toEqual({ data: "before", binary: false })
      const signalled = Date.now()
      demo.child.kill("SIGTERM")
      expect(yield* ws.closed(5000)).toBe(1001)
      expect(yield* demo.exited).toBe(0)
      expect(Date.now() - signalled).toBeLessThan(5000)
    }), 30_000)

  it.live("--drain-delay: after SIGTERM it serves on that long, /health 503 and Connection: close, then stops accepting", () =>
    Effect.gen(function*() {
      const demo = yield* startDemo(["--drain-delay", "1"])
      const signalled = Date.now()
      demo.child.kill("SIGTERM")
      yield* RawClient.sleepReal(200)
      const health = yield* get(demo.port, "/health")
      expect([health.status, health.text, health.header("connection")]).toEqual([503, "draining", "close"])
      const hello = yield* get(demo.port, "/hello")
      expect([hello.status, hello.header("connection")]).toEqual([200, "close"])
      expect(yield* demo.exited).toBe(0)
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(1000)
      expect(yield* RawClient.tryConnect(demo.port)).toBeInstanceOf(Error)
    }), 30_000)
})
