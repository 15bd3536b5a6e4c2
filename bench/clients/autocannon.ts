/**
 * Fallback load generator (when wrk is not installed): runs autocannon for one
 * job given as JSON in argv[2], and prints `AUTOCANNON_RESULT {LoadResult}`.
 */
import { createRequire } from "node:module"
import type { AutocannonJob, LoadResult } from "../lib/load.ts"

interface AutocannonOptions {
  readonly url: string
  readonly connections: number
  readonly duration: number
  readonly pipelining: number
  readonly method: string
  readonly headers: Record<string, string>
  readonly body?: string
  readonly timeout: number
}

interface AutocannonResult {
  readonly duration: number
  readonly errors: number
  readonly timeouts: number
  readonly non2xx: number
  readonly latency: { readonly p50: number; readonly p99: number; readonly max: number }
  readonly requests: { readonly total: number }
}

type Autocannon = (options: AutocannonOptions) => Promise<AutocannonResult>

const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon

const raw = process.argv[2]
if (raw === undefined) {
  console.error("usage: autocannon.ts '<job json>'")
  process.exit(2)
}
const job = JSON.parse(raw) as AutocannonJob

const headers: Record<string, string> = { ...job.headers }
if (job.close) headers["connection"] = "close"
if (job.bodySize > 0) headers["content-type"] = job.body?.contentType ?? "application/octet-stream"

const result = await autocannon({
  url: job.url,
  connections: job.connections,
  duration: job.seconds,
  pipelining: job.pipelining,
  method: job.method,
  headers,
  ...(job.body !== undefined ? { body: job.body.text } : job.bodySize > 0 ? { body: "x".repeat(job.bodySize) } : {}),
  timeout: 10
})

const positive = (ms: number): number | null => (Number.isFinite(ms) && ms > 0 ? ms : null)
const errors = result.errors + result.non2xx
const output: LoadResult = {
  tool: "autocannon",
  requests: result.requests.total,
  seconds: result.duration,
  rps: result.duration > 0 ? result.requests.total / result.duration : 0,
  p50Ms: positive(result.latency.p50),
  p99Ms: positive(result.latency.p99),
  maxMs: positive(result.latency.max),
  errors,
  errorDetail: { errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx }
}
process.stdout.write(`AUTOCANNON_RESULT ${JSON.stringify(output)}\n`)
