/**
 * The access log: one line per answered request through Effect's logger, in
 * the form of Tornado's `log_request`:
 *
 * ```
 * 200 GET /path?q=1 (127.0.0.1) 1.23ms
 * ```
 *
 * status, method, URI as sent, the client's address (after `X-Real-Ip` /
 * `X-Forwarded-For` when the server trusts them), and the request time (from
 * its head's arrival until the handler answered). Logged at info for 1xx-3xx,
 * warning for 4xx, error for 5xx. Off unless the `accessLog` option is set.
 *
 * @since 0.1.0
 */
import { Effect, type LogLevel } from "effect"
import type { HTTPServerRequest } from "../Request/HTTPServerRequest.ts"

/**
 * The line for a request answered with `status` (Tornado's
 * `"%d %s %.2fms" % (status, request_summary, request_time * 1000)`).
 *
 * @example
 * accessLine(request, 200) // "200 GET /hello (127.0.0.1) 0.42ms"
 *
 * @since 0.1.0
 * @category formatting
 */
export const accessLine = (request: HTTPServerRequest, status: number): string =>
  `${status} ${request.method} ${request.uri} (${request.remoteIp}) ${(request.requestTime() * 1000).toFixed(2)}ms`

/**
 * The level a status is logged at: info below 400, warning for 4xx, error
 * for 5xx (Tornado's `log_request`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const accessLogLevel = (status: number): LogLevel.Severity =>
  status < 400 ? "Info" : status < 500 ? "Warn" : "Error"

/**
 * Logs the line of a request answered with `status`, as an Effect to run in
 * the server's context (its logger).
 *
 * @since 0.1.0
 * @category logging
 */
export const logRequest = (request: HTTPServerRequest, status: number): Effect.Effect<void> =>
  Effect.logWithLevel(accessLogLevel(status))(accessLine(request, status))
