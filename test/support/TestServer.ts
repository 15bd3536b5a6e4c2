/**
 * Servers for tests: `HTTPServer.listen` on a free loopback port, closed
 * with the test's Scope, and a logger that records what the server logs.
 */
import { Cause, Effect, type Fiber, Logger, References, type Scope } from "effect"
import type { ServerConfigInput } from "../../src/Config/ServerConfig.ts"
import * as HTTPServer from "../../src/Server/HTTPServer.ts"
import { handler as demoHandler } from "../../src/cli/DemoApp.ts"

export interface Served {
  readonly server: HTTPServer.RunningServer
  readonly port: number
}

/** The port of a server listening on TCP. */
export const portOf = (server: HTTPServer.RunningServer): number => {
  if (server.address._tag !== "TcpAddress") throw new Error("not a TCP server")
  return server.address.port
}

/**
 * Serves `handler` on 127.0.0.1, a free port, until the Scope closes. The
 * shutdown timeout defaults to 2 s (not 30 s) so that a failing test that
 * leaves a request in flight does not hang the suite.
 */
export const serve = <E, R>(
  handler: HTTPServer.Handler<E, R>,
  config: ServerConfigInput = {}
): Effect.Effect<Served, never, Exclude<R, HTTPServer.HTTPServer> | Scope.Scope> =>
  HTTPServer.listen(handler, { host: "127.0.0.1", port: 0, shutdownTimeout: 2000, ...config }).pipe(
    Effect.map((server) => ({ server, port: portOf(server) })),
    Effect.orDie
  )

/** Serves the demo app of `src/cli/DemoApp.ts`. */
export const serveDemo = (config: ServerConfigInput = {}): Effect.Effect<Served, never, Scope.Scope> =>
  serve(demoHandler, config)

/** One log line, as a test looks at it. */
export interface LogLine {
  readonly level: string
  readonly message: string
  readonly cause: string
  readonly annotations: Readonly<Record<string, unknown>>
}

/**
 * A logger that records every line, and the Layer that installs it instead
 * of the default one (so tests print nothing).
 */
export const makeLogCapture = () => {
  const lines: Array<LogLine> = []
  const logger = Logger.make((options) => {
    const message = Array.isArray(options.message) ? options.message.map(String).join(" ") : String(options.message)
    lines.push({
      level: options.logLevel,
      message,
      cause: options.cause.reasons.length === 0 ? "" : Cause.pretty(options.cause),
      annotations: annotationsOf(options.fiber)
    })
  })
  return { lines, layer: Logger.layer([logger]) }
}

const annotationsOf = (fiber: Fiber.Fiber<unknown, unknown>): Readonly<Record<string, unknown>> =>
  fiber.getRef(References.CurrentLogAnnotations)
