/**
 * Serves the demo app with a decoded configuration: listens, prints the one
 * `listening on ...` line, and serves until interrupted (SIGTERM/SIGINT),
 * when the scope closes and the server shuts down gracefully.
 *
 * @since 0.1.0
 */
import { Effect, Logger } from "effect"
import type { ServerConfig } from "../Config/ServerConfig.ts"
import { listenWith } from "../Server/HTTPServer.ts"
import { handler } from "./DemoApp.ts"

/**
 * @since 0.1.0
 * @category serving
 */
export const serve = (config: ServerConfig): Effect.Effect<void, unknown> =>
  Effect.scoped(
    Effect.gen(function*() {
      const server = yield* listenWith(handler, config)
      yield* Effect.sync(() => process.stdout.write(`listening on ${server.url}\n`))
      return yield* Effect.never
    })
  ).pipe(
    // stdout carries the one `listening on` line; logs go to stderr.
    Effect.provideService(Logger.LogToStderr, true)
  )
