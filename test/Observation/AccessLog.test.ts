/**
 * The access log: one line per answered request through Effect's logger,
 * in Tornado's `log_request` form, at info / warning / error by status; off
 * unless `accessLog` is set. Over real sockets, through the library, the
 * `effect/http` adapter and the demo command.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as EffectHttpAdapter from "../../src/EffectHttp/EffectHttpAdapter.ts"
import * as HTTPServer from "../../src/Server/HTTPServer.ts"
import * as Response from "../../src/Response/Response.ts"
import * as RawClient from "../support/RawClient.ts"
import { type LogLine, makeLogCapture, portOf } from "../support/TestServer.ts"

/** Sends `request` on a fresh connection and reads the response. */
const send = (port: number, request: string | Buffer) =>
  Effect.scoped(RawClient.requestOnce(port, request, { timeoutMillis: 5000 }))


const app: HTTPServer.Handler = (request) => {
  switch (request.path) {
    case "/hello":
      return Effect.succeed(Response.text("Hello world"))
    case "/slow":
      return Effect.as(Effect.sleep("20 millis"), Response.text("done"))
    case "/fail":
      return Effect.die(new Error("boom"))
    default:
      return Effect.succeed(Response.text("nope", { status: 404 }))
  }
}

/** The access lines logged (the lines that look like one). */
const accessLines = (lines: ReadonlyArray<LogLine>) =>
  lines.filter((line) => /^\d{3} /.test(line.message)).map((line) => ({ level: line.level, message: line.message }))

/** Waits for `count` access lines (the line is logged once the response is written). */
const waitForLines = (lines: ReadonlyArray<LogLine>, count: number) =>
  Effect.promise(async () => {
    const deadline = Date.now() + 2000
    while (accessLines(lines).length < count && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    return accessLines(lines)
  })

const MS = String.raw`\d+\.\d{2}ms`

describe("access log", () => {
  it.live("one line per request, Tornado's form, the level by status", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const context = yield* Layer.build(HTTPServer.layerTest(app, { accessLog: true }).pipe(Layer.provide(logs.layer)))
      const port = portOf(Context.get(context, HTTPServer.HTTPServer))
      yield* send(port, RawClient.get("/hello?name=x"))
      yield* send(port, RawClient.withBody("POST", "/missing", "abc"))
      yield* send(port, RawClient.get("/fail"))
      yield* send(port, RawClient.get("/slow"))
      const lines = yield* waitForLines(logs.lines, 4)
      expect(lines).toHaveLength(4)
      expect(lines[0]?.level).toBe("Info")
      expect(lines[0]?.message).toMatch(new RegExp(`^200 GET /hello\\?name=x \\(127\\.0\\.0\\.1\\) ${MS}$`))
      expect(lines[1]?.level).toBe("Warn")
      expect(lines[1]?.message).toMatch(new RegExp(`^404 POST /missing \\(127\\.0\\.0\\.1\\) ${MS}$`))
      expect(lines[2]?.level).toBe("Error")
      expect(lines[2]?.message).toMatch(new RegExp(`^500 GET /fail \\(127\\.0\\.0\\.1\\) ${MS}$`))
      // The request time is the handler's: /slow sleeps 20 ms.
      const slow = Number(/ (\d+\.\d{2})ms$/.exec(lines[3]?.message ?? "")?.[1])
      expect(slow).toBeGreaterThanOrEqual(19)
      // The failure itself is still logged with its cause, as before.
      expect(logs.lines.some((line) => line.message === "request failed" && line.cause.includes("boom"))).toBe(true)
    }))

  it.effect("the client's address is the one X-Real-Ip gives when the server trusts it", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const context = yield* Layer.build(
        HTTPServer.layerTest(app, { accessLog: true, xheaders: true }).pipe(Layer.provide(logs.layer))
      )
      const port = portOf(Context.get(context, HTTPServer.HTTPServer))
      yield* send(port, RawClient.get("/hello", "X-Real-Ip: 203.0.113.9"))
      const [line] = yield* waitForLines(logs.lines, 1)
      expect(line?.message).toMatch(new RegExp(`^200 GET /hello \\(203\\.0\\.113\\.9\\) ${MS}$`))
    }))

  it.effect("is off by default", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const context = yield* Layer.build(HTTPServer.layerTest(app).pipe(Layer.provide(logs.layer)))
      const port = portOf(Context.get(context, HTTPServer.HTTPServer))
      yield* send(port, RawClient.get("/hello"))
      yield* send(port, RawClient.get("/missing"))
      yield* RawClient.sleepReal(50)
      expect(accessLines(logs.lines)).toEqual([])
    }))

  it.effect("logs the requests of an effect/http app too", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const routes = HttpRouter.add("GET", "/users/:id", HttpServerResponse.text("user"))
      const context = yield* Layer.build(
        HttpRouter.serve(routes, { disableListenLog: true, disableLogger: true }).pipe(
          Layer.provideMerge(EffectHttpAdapter.layerTest({ accessLog: true })),
          Layer.provide(logs.layer)
        )
      )
      const address = Context.get(context, HttpServer.HttpServer).address
      const port = address._tag === "UnixPathAddress" ? 0 : address.port
      yield* send(port, RawClient.get("/users/7"))
      yield* send(port, RawClient.get("/nowhere"))
      const lines = yield* waitForLines(logs.lines, 2)
      expect(lines.map((line) => line.level)).toEqual(["Info", "Warn"])
      expect(lines[0]?.message).toMatch(new RegExp(`^200 GET /users/7 \\(127\\.0\\.0\\.1\\) ${MS}$`))
      expect(lines[1]?.message).toMatch(new RegExp(`^404 GET /nowhere \\(127\\.0\\.0\\.1\\) ${MS}$`))
    }))
})

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url))

describe("access log of the demo command", () => {
  /** Runs the command until it has logged `lines` access lines; its stderr. */
  const serveAndLog = (args: ReadonlyArray<string>, env: Record<string, string>) =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const child = spawn(process.execPath, [MAIN, "--port", "0", ...args], {
          env: { ...process.env, ...env },
          stdio: ["ignore", "pipe", "pipe"]
        })
        const output = { stdout: "", stderr: "" }
        child.stdout.setEncoding("utf8").on("data", (text: string) => output.stdout += text)
        child.stderr.setEncoding("utf8").on("data", (text: string) => output.stderr += text)
        return { child, output }
      }),
      ({ output }) =>
        Effect.gen(function*() {
          const port = yield* Effect.promise(async () => {
            const deadline = Date.now() + 15_000
            while (!output.stdout.includes("\n") && Date.now() < deadline) {
              await new Promise((resolve) => setTimeout(resolve, 20))
            }
            return Number(/:(\d+)\n/.exec(output.stdout)?.[1])
          })
          expect(output.stdout).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+\n$/)
          expect((yield* send(port, RawClient.get("/hello"))).status).toBe(200)
          expect((yield* send(port, RawClient.get("/nowhere"))).status).toBe(404)
          return yield* Effect.promise(async () => {
            const deadline = Date.now() + 5000
            while ((output.stderr.match(/\d{3} GET /g) ?? []).length < 2 && Date.now() < deadline) {
              await new Promise((resolve) => setTimeout(resolve, 20))
            }
            return { stderr: output.stderr, stdout: output.stdout }
          })
        }),
      ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
    )

  it.effect("--access-log: a line per request on stderr, nothing more on stdout", () =>
    Effect.gen(function*() {
      const { stderr, stdout } = yield* serveAndLog(["--access-log"], {})
      expect(stdout.split("\n").filter((line) => line !== "")).toHaveLength(1)
      expect(stderr).toMatch(new RegExp(`200 GET /hello \\(127\\.0\\.0\\.1\\) ${MS}`))
      expect(stderr).toMatch(new RegExp(`404 GET /nowhere \\(127\\.0\\.0\\.1\\) ${MS}`))
    }))

  it.effect("HTTP_ACCESS_LOG=true does the same", () =>
    Effect.gen(function*() {
      const { stderr } = yield* serveAndLog([], { HTTP_ACCESS_LOG: "true" })
      expect(stderr).toMatch(new RegExp(`200 GET /hello \\(127\\.0\\.0\\.1\\) ${MS}`))
    }))
})
