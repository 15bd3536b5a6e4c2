/**
 * Load generators, each in its own process: wrk (preferred) and autocannon
 * (fallback) for HTTP/1.1, h2load (Debian's nghttp2-client) for the HTTP/2
 * scenarios.
 */
import { spawnSync } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type { ProxyJob } from "../clients/proxy.ts"
import type { WebSocketJob } from "../clients/websocket.ts"
import type { LoadScenario } from "../scenarios.ts"
import { collect, spawnPinned, waitForExit } from "./proc.ts"

export const benchDir = Path.dirname(Path.dirname(fileURLToPath(import.meta.url)))

export type Tool = "wrk" | "autocannon"

/** What one measurement found, whichever tool produced it. */
export interface LoadResult {
  /** `ws`: the WebSocket echo client (bench/clients/websocket.ts); `proxy`: bench/clients/proxy.ts; `h2load`: the HTTP/2 scenarios. */
  readonly tool: Tool | "ws" | "proxy" | "h2load"
  readonly requests: number
  readonly seconds: number
  /** Responses per second. */
  readonly rps: number
  /** Latency percentiles in milliseconds; null when the tool could not tell. */
  readonly p50Ms: number | null
  readonly p99Ms: number | null
  readonly maxMs: number | null
  /** Socket errors, timeouts and non-2xx/3xx responses. */
  readonly errors: number
  readonly errorDetail: Readonly<Record<string, number>>
}

export const wrkVersion = (): string | undefined => {
  const result = spawnSync("wrk", ["--version"], { encoding: "utf8" })
  if (result.error !== undefined) return undefined
  return /wrk\s+(\S+)/.exec(`${result.stdout}${result.stderr}`)?.[1] ?? "unknown"
}

const run = async (
  cpu: string | undefined,
  command: string,
  args: ReadonlyArray<string>,
  marker: string,
  timeoutMs: number
): Promise<unknown> => {
  const child = spawnPinned(cpu, command, args)
  child.stdin?.end()
  const stdout = collect(child.stdout)
  const stderr = collect(child.stderr)
  const code = await waitForExit(child, timeoutMs)
  if (code === undefined) {
    child.kill("SIGKILL")
    throw new Error(`${command} did not finish within ${timeoutMs} ms`)
  }
  const line = stdout().split("\n").find((l) => l.startsWith(`${marker} `))
  if (line === undefined) {
    throw new Error(`${command} exited with ${code} and no result: ${(stderr() || stdout()).trim().slice(-500)}`)
  }
  return JSON.parse(line.slice(marker.length + 1)) as unknown
}

interface WrkJson {
  readonly requests: number
  readonly duration_us: number
  readonly errors: Readonly<Record<string, number>>
  readonly latency_us: { readonly p50: number; readonly p99: number; readonly max: number }
}

const msOrNull = (us: number): number | null => (us > 0 ? us / 1000 : null)

const runWrk = async (scenario: LoadScenario, port: number, seconds: number, cpu: string | undefined): Promise<LoadResult> => {
  const duration = Math.max(1, Math.round(seconds))
  const args = [
    "-t1",
    `-c${scenario.connections}`,
    `-d${duration}s`,
    "--timeout",
    "10s",
    ...Object.entries(scenario.headers ?? {}).flatMap(([name, value]) => ["-H", `${name}: ${value}`]),
    "-s",
    Path.join(benchDir, "wrk", scenario.wrkScript),
    `${scenario.tls === true ? "https" : "http"}://127.0.0.1:${port}${scenario.path}`,
    ...(scenario.wrkArgs.length > 0 ? ["--", ...scenario.wrkArgs] : [])
  ]
  const json = (await run(cpu, "wrk", args, "WRK_RESULT", (duration + 30) * 1000)) as WrkJson
  const seconds_ = json.duration_us / 1e6
  const errors = Object.values(json.errors).reduce((a, b) => a + b, 0)
  return {
    tool: "wrk",
    requests: json.requests,
    seconds: seconds_,
    rps: seconds_ > 0 ? json.requests / seconds_ : 0,
    p50Ms: msOrNull(json.latency_us.p50),
    p99Ms: msOrNull(json.latency_us.p99),
    maxMs: msOrNull(json.latency_us.max),
    errors,
    errorDetail: json.errors
  }
}

/** What bench/clients/autocannon.ts takes as its JSON argument. */
export interface AutocannonJob {
  readonly url: string
  readonly connections: number
  readonly seconds: number
  readonly pipelining: number
  readonly method: string
  readonly bodySize: number
  readonly body: LoadScenario["body"]
  readonly close: boolean
  readonly headers: Readonly<Record<string, string>>
}

const runAutocannon = async (
  scenario: LoadScenario,
  port: number,
  seconds: number,
  cpu: string | undefined
): Promise<LoadResult> => {
  const job: AutocannonJob = {
    url: `${scenario.tls === true ? "https" : "http"}://127.0.0.1:${port}${scenario.path}`,
    connections: scenario.connections,
    seconds,
    pipelining: scenario.pipeline,
    method: scenario.method,
    bodySize: scenario.bodySize,
    body: scenario.body,
    close: scenario.close,
    headers: scenario.headers ?? {}
  }
  const script = Path.join(benchDir, "clients", "autocannon.ts")
  return (await run(cpu, process.execPath, [script, JSON.stringify(job)], "AUTOCANNON_RESULT", (seconds + 30) * 1000)) as LoadResult
}

/** A WebSocket scenario: echoes per second over its connections, by bench/clients/websocket.ts. */
const runWebSocket = async (
  scenario: LoadScenario,
  messageSize: number,
  port: number,
  seconds: number,
  cpu: string | undefined
): Promise<LoadResult> => {
  const job: WebSocketJob = {
    url: `ws://127.0.0.1:${port}${scenario.path}`,
    connections: scenario.connections,
    seconds,
    warmupSeconds: 0.5,
    messageSize
  }
  const script = Path.join(benchDir, "clients", "websocket.ts")
  return (await run(cpu, process.execPath, [script, JSON.stringify(job)], "WS_RESULT", (seconds + 30) * 1000)) as LoadResult
}

/** A number of h2load's report, or undefined when the line is missing. */
const h2loadNumber = (out: string, pattern: RegExp): number | undefined => {
  const match = pattern.exec(out)
  return match === null ? undefined : Number(match[1])
}

/** h2load's time (`123us`, `4.56ms`, `1.2s`) in milliseconds. */
const h2loadMs = (text: string | undefined): number | null => {
  const match = text === undefined ? null : /^([\d.]+)(us|ms|s)$/.exec(text)
  if (match === null) return null
  const value = Number(match[1])
  return match[2] === "us" ? value / 1000 : match[2] === "s" ? value * 1000 : value
}

/** An HTTP/2 scenario: h2load for `seconds` after a second's warm-up, its report parsed. */
const runH2load = async (
  scenario: LoadScenario,
  streams: number,
  port: number,
  seconds: number,
  cpu: string | undefined
): Promise<LoadResult> => {
  const duration = Math.max(1, Math.round(seconds))
  const args = [
    `-c${scenario.connections}`,
    `-m${streams}`,
    "-t1",
    `-D${duration}`,
    "--warm-up-time=1",
    `${scenario.tls === true ? "https" : "http"}://127.0.0.1:${port}${scenario.path}`
  ]
  const child = spawnPinned(cpu, "h2load", args)
  child.stdin?.end()
  const stdout = collect(child.stdout)
  const stderr = collect(child.stderr)
  const code = await waitForExit(child, (duration + 30) * 1000)
  if (code === undefined) {
    child.kill("SIGKILL")
    throw new Error(`h2load did not finish within ${duration + 30} s`)
  }
  const out = stdout()
  const succeeded = h2loadNumber(out, /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded/)
  const finished = h2loadNumber(out, /finished in ([\d.]+)s/)
  if (code !== 0 || succeeded === undefined || finished === undefined) {
    throw new Error(`h2load exited with ${code} and no report: ${(stderr() || out).trim().slice(-500)}`)
  }
  const failed = h2loadNumber(out, /(\d+) failed/) ?? 0
  const errored = h2loadNumber(out, /(\d+) errored/) ?? 0
  const timedOut = h2loadNumber(out, /(\d+) timeout/) ?? 0
  const times = /time for request:\s+(\S+)\s+(\S+)/.exec(out)
  return {
    tool: "h2load",
    requests: succeeded,
    seconds: finished,
    rps: finished > 0 ? succeeded / finished : 0,
    // h2load reports min, max, mean and sd, no percentiles.
    p50Ms: null,
    p99Ms: null,
    maxMs: h2loadMs(times?.[2]),
    errors: failed + errored + timedOut,
    errorDetail: { failed, errored, timeout: timedOut }
  }
}

/** The scenario's request as bytes on the wire (latin1), for a client that writes it as it is. */
const requestText = (scenario: LoadScenario, port: number): string => {
  const body = scenario.body?.text ?? "x".repeat(scenario.bodySize)
  const fields = [
    `Host: 127.0.0.1:${port}`,
    ...Object.entries(scenario.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    ...scenario.close ? ["Connection: close"] : [],
    ...scenario.bodySize > 0
      ? [`Content-Type: ${scenario.body?.contentType ?? "application/octet-stream"}`, `Content-Length: ${Buffer.byteLength(body)}`]
      : []
  ]
  return `${scenario.method} ${scenario.path} HTTP/1.1\r\n${fields.map((f) => `${f}\r\n`).join("")}\r\n${
    Buffer.from(body).toString("latin1")
  }`
}

/**
 * A PROXY scenario, by bench/clients/proxy.ts: each connection begins with
 * `preamble` (the PROXY header for a server that requires one, else ""). It
 * warms up over its own connections for `warmupSeconds` first.
 */
const runProxyClient = async (
  scenario: LoadScenario,
  preamble: string,
  port: number,
  seconds: number,
  warmupSeconds: number,
  cpu: string | undefined
): Promise<LoadResult> => {
  const job: ProxyJob = {
    port,
    connections: scenario.connections,
    seconds,
    warmupSeconds,
    preamble,
    request: requestText(scenario, port),
    close: scenario.close
  }
  const script = Path.join(benchDir, "clients", "proxy.ts")
  const timeoutMs = (warmupSeconds + seconds + 30) * 1000
  return (await run(cpu, process.execPath, [script, JSON.stringify(job)], "PROXY_RESULT", timeoutMs)) as LoadResult
}

/**
 * Drives the server at `port` with the scenario's load for `seconds`:
 * wrk or autocannon (`tool`), or the scenario's own client. `preamble` is
 * what each connection of a PROXY scenario begins with, `warmupSeconds` how
 * long that client warms up over its own connections.
 */
export const runLoad = (
  tool: Tool,
  scenario: LoadScenario,
  port: number,
  seconds: number,
  cpu: string | undefined,
  client: { readonly preamble: string; readonly warmupSeconds: number }
): Promise<LoadResult> =>
  scenario.http2 !== undefined
    ? runH2load(scenario, scenario.http2.streams, port, seconds, cpu)
    : scenario.websocket !== undefined
    ? runWebSocket(scenario, scenario.websocket.messageSize, port, seconds, cpu)
    : scenario.proxyClient === true
    ? runProxyClient(scenario, client.preamble, port, seconds, client.warmupSeconds, cpu)
    : tool === "wrk"
    ? runWrk(scenario, port, seconds, cpu)
    : runAutocannon(scenario, port, seconds, cpu)
