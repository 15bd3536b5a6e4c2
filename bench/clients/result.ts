/** What the Node load clients (websocket.ts, proxy.ts) share: their timing and their {@link LoadResult}. */
import type { LoadResult } from "../lib/load.ts"

/**
 * The result of `count` answers over `seconds`, with latency percentiles from
 * `latenciesUs` (microseconds, sorted here) and errors by kind.
 */
export const loadResult = (
  tool: LoadResult["tool"],
  count: number,
  seconds: number,
  latenciesUs: Array<number>,
  errorDetail: Readonly<Record<string, number>>
): LoadResult => {
  latenciesUs.sort((a, b) => a - b)
  const percentile = (p: number): number | null =>
    latenciesUs.length === 0 ? null : (latenciesUs[Math.min(latenciesUs.length - 1, Math.floor(latenciesUs.length * p))] as number) / 1000
  return {
    tool,
    requests: count,
    seconds,
    rps: seconds > 0 ? count / seconds : 0,
    p50Ms: percentile(0.5),
    p99Ms: percentile(0.99),
    maxMs: percentile(1),
    errors: Object.values(errorDetail).reduce((a, b) => a + b, 0),
    errorDetail
  }
}

const sleep = (seconds: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, seconds * 1000))

/**
 * The measurement window of a client whose connections are already busy:
 * waits out the warm-up, calls `start`, waits `seconds`, calls `stop`, and
 * returns the seconds measured.
 */
export const measureWindow = async (
  warmupSeconds: number,
  seconds: number,
  start: () => void,
  stop: () => void
): Promise<number> => {
  await sleep(warmupSeconds)
  start()
  const started = performance.now()
  await sleep(seconds)
  stop()
  return (performance.now() - started) / 1000
}
