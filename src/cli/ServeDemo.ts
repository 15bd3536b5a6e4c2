/**
 * Serves the demo app with a decoded configuration, through the library's
 * public `HTTPServer.start` (as `startWith`, the config being decoded
 * already): listens, prints the one `listening on ...` line, and serves
 * until interrupted (SIGTERM/SIGINT), when the scope closes and the server
 * shuts down gracefully.
 *
 * With `processes` other than 1 (`0`: one per CPU), this process binds the
 * address, forks the workers (which run this same command and serve),
 * prints the line once every worker listens, and on SIGTERM/SIGINT stops
 * the workers gracefully and waits for them. Workers print nothing on
 * stdout.
 *
 * SIGHUP, when serving TLS, reads the certificate and key files again (as
 * nginx's reload does): new connections get the new pair, open ones keep
 * theirs; a pair that does not load is logged and the old one stays. The
 * primary passes SIGHUP on to its workers.
 *
 * @since 0.1.0
 */
import { Effect, Logger, type Scope } from "effect"
import type { ServerConfig } from "../Config/ServerConfig.ts"
import * as HTTPServer from "../Server/HTTPServer.ts"
import type { WorkersError } from "../Listen/Workers.ts"
import { handler } from "./DemoApp.ts"

const printListening = (url: string) => Effect.sync(() => process.stdout.write(`listening on ${url}\n`))

/** Runs `onSignal` on every SIGHUP until the Scope closes. */
const onSighup = (onSignal: () => void): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => process.on("SIGHUP", onSignal)),
    () => Effect.sync(() => process.off("SIGHUP", onSignal))
  ).pipe(Effect.asVoid)

/** With TLS: SIGHUP reloads the certificate files. */
const reloadTlsOnSighup = (
  config: ServerConfig,
  server: HTTPServer.RunningServer
): Effect.Effect<void, never, Scope.Scope> =>
  config.ssl === undefined ? Effect.void : Effect.gen(function*() {
    const runFork = Effect.runForkWith(yield* Effect.context<never>())
    yield* onSighup(() =>
      runFork(server.reloadTls().pipe(
        Effect.matchEffect({
          onSuccess: () => Effect.logInfo("SIGHUP: TLS certificate reloaded"),
          onFailure: (error) => Effect.logError(`SIGHUP: TLS certificate not reloaded, the old one stays: ${error.message}`)
        })
      ))
    )
  })

/**
 * @since 0.1.0
 * @category serving
 */
export const serve = (
  config: ServerConfig
): Effect.Effect<void, HTTPServer.ListenError | WorkersError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const started = yield* HTTPServer.startWith(handler, config)
      if (started._tag === "Supervising") {
        if (config.ssl !== undefined) {
          yield* onSighup(() => {
            for (const pid of started.workers.pids()) process.kill(pid, "SIGHUP")
          })
        }
        yield* printListening(started.url)
        return yield* started.workers.exited
      }
      yield* reloadTlsOnSighup(config, started.server)
      // A worker prints nothing: the primary prints once every worker listens.
      if (started.taskId === undefined) yield* printListening(started.server.url)
      return yield* Effect.never
    })
  ).pipe(
    // stdout carries the one `listening on` line; logs go to stderr.
    Effect.provideService(Logger.LogToStderr, true)
  )
