/**
 * Serves the demo app with a decoded configuration: listens, prints the one
 * `listening on ...` line, and serves until interrupted (SIGTERM/SIGINT),
 * when the scope closes and the server shuts down gracefully.
 *
 * With `processes` other than 1 (`0`: one per CPU), this process becomes the
 * primary of `src/Server/Workers.ts`: it forks the workers, which run this
 * same command and serve, prints the line once every worker listens, and on
 * SIGTERM/SIGINT stops the workers gracefully and waits for them.
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
import { listenWith, type RunningServer } from "../Server/HTTPServer.ts"
import * as Workers from "../Server/Workers.ts"
import { handler } from "./DemoApp.ts"

const printListening = (url: string) => Effect.sync(() => process.stdout.write(`listening on ${url}\n`))

/** Runs `onSignal` on every SIGHUP until the Scope closes. */
const onSighup = (onSignal: () => void): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => process.on("SIGHUP", onSignal)),
    () => Effect.sync(() => process.off("SIGHUP", onSignal))
  ).pipe(Effect.asVoid)

/** With TLS: SIGHUP reloads the certificate files. */
const reloadTlsOnSighup = (config: ServerConfig, server: RunningServer): Effect.Effect<void, never, Scope.Scope> =>
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

/** One process: listen, print, serve. */
const serveSingle = (config: ServerConfig): Effect.Effect<void, unknown> =>
  Effect.scoped(
    Effect.gen(function*() {
      const server = yield* listenWith(handler, config)
      yield* reloadTlsOnSighup(config, server)
      yield* printListening(server.url)
      return yield* Effect.never
    })
  )

/**
 * The primary: fork the workers, print once all listen, supervise them until
 * interrupted (or until they all exit normally, or the supervisor gives up).
 */
const servePrimary = (config: ServerConfig): Effect.Effect<void, unknown> =>
  Effect.scoped(
    Effect.gen(function*() {
      const workers = yield* Workers.forkWorkers(config)
      if (config.ssl !== undefined) {
        yield* onSighup(() => {
          for (const pid of workers.pids()) process.kill(pid, "SIGHUP")
        })
      }
      yield* printListening(workers.url)
      return yield* workers.exited
    })
  )

/** A worker: serve, telling the primary when listening; it prints nothing to stdout. */
const serveWorker = (config: ServerConfig): Effect.Effect<void, unknown> =>
  Workers.serveAsWorker(
    listenWith(handler, Workers.workerConfig(config)).pipe(
      Effect.tap((server) => reloadTlsOnSighup(config, server))
    )
  )

/**
 * @since 0.1.0
 * @category serving
 */
export const serve = (config: ServerConfig): Effect.Effect<void, unknown> =>
  (Workers.isWorker()
    ? serveWorker(config)
    : config.processes === 1
    ? serveSingle(config)
    : servePrimary(config)).pipe(
      // stdout carries the one `listening on` line; logs go to stderr.
      Effect.provideService(Logger.LogToStderr, true)
    )
