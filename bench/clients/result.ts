/** What the Node load clients (websocket.ts, proxy.ts) print: a {@link LoadResult} from their counts. */
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
