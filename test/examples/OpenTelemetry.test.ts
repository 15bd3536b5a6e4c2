/**
 * `examples/opentelemetry.ts` runs as it says: spans printed to the console,
 * metrics on a Prometheus endpoint, the access log on the console, options from
 * the environment.
 */
import { spawn } from "node:child_process"
import * as Net from "node:net"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as RawClient from "../support/RawClient.ts"

const EXAMPLE = fileURLToPath(new URL("../../examples/opentelemetry.ts", import.meta.url))

/** A port nothing listens on now. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

const until = async (what: string, timeoutMillis: number, done: () => boolean | Promise<boolean>) => {
  const deadline = Date.now() + timeoutMillis
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = Net.connect(port, "127.0.0.1", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

const get = (port: number, path: string) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const client = yield* RawClient.connect(port)
    yield* client.write(RawClient.get(path, "Connection: close"))
    return yield* client.readResponse({ timeoutMillis: 5000 })
  })))

describe("examples/opentelemetry.ts", () => {
  it("prints spans, serves Prometheus metrics, logs each request", { timeout: 60_000 }, async () => {
    const port = await freePort()
    const metricsPort = await freePort()
    const child = spawn(process.execPath, [EXAMPLE], {
      env: { ...process.env, HTTP_PORT: String(port), METRICS_PORT: String(metricsPort) },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (text: string) => stdout += text)
    child.stderr.setEncoding("utf8").on("data", (text: string) => stderr += text)
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    try {
      await until("the server", 20_000, () => answers(port))
      expect((await get(port, "/hello")).text).toBe("Hello world")
      expect((await get(port, "/nope")).status).toBe(404)
      const metrics = await until("the metrics endpoint", 10_000, () => answers(metricsPort)).then(() =>
        get(metricsPort, "/metrics")
      )
      expect(metrics.text).toMatch(
        /http_server_requests_total\{http_request_method="GET",http_response_status_class="2xx"[^}]*\} 1/
      )
      expect(metrics.text).toMatch(/http_server_request_duration_bucket\{/)
      // Effect's default logger writes to the console (stdout).
      await until("the access lines", 5000, () => /404 GET \/nope/.test(stdout))
      expect(stdout).toMatch(/INFO .*200 GET \/hello \(127\.0\.0\.1\) \d+\.\d{2}ms/)
    } finally {
      child.kill("SIGTERM")
    }
    // Shutting down flushes the batched spans to the console.
    await exited
    expect(stdout).toContain("name: 'GET'")
    expect(stdout).toContain("'http.response.status_code': 200")
    expect(stdout).toContain("name: 'prepare greeting'")
    expect(stderr).toBe("")
  })
})
