/**
 * Worker processes: Tornado's `tornado.process.fork_processes` and
 * `task_id`, for programs that bind their sockets first and fork when they
 * choose:
 *
 * ```ts
 * const sockets = yield* Sockets.bindSockets(8888)
 * const taskId = yield* ForkProcesses.forkProcesses(0) // from here on, in the workers only
 * yield* HTTPServer.addSockets(handler, sockets)
 * ```
 *
 * The workers run the same program (on `node:cluster`; see `Workers.ts`),
 * so everything before `forkProcesses` runs in them too: there the sockets'
 * binds share the parent's ports, and `forkProcesses` succeeds at once with
 * the worker's task id.
 *
 * @since 0.1.0
 */
import { Duration, Effect, type Scope } from "effect"
import * as Workers from "./Workers.ts"

/**
 * Options of {@link forkProcesses}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ForkProcessesOptions {
  /** Restarts of workers that died, in all, before giving up. Default 100 (Tornado's). */
  readonly maxRestarts?: number | undefined
  /**
   * When the Scope closes: how long the workers (sent SIGTERM) may take to
   * drain before they are killed (plus a few seconds). Default 30 s.
   */
  readonly shutdownTimeout?: Duration.Input | undefined
}

/**
 * This worker's task id, 0 to n-1, or `undefined` outside the workers of
 * {@link forkProcesses} (Tornado's `task_id`).
 *
 * @since 0.1.0
 * @category workers
 */
export const taskId = (): number | undefined => Workers.taskId()

/**
 * Forks `processes` workers (`0`: one per CPU) running this program
 * (Tornado's `fork_processes`).
 *
 * - In a worker, succeeds at once with its task id (0 to n-1).
 * - In the parent, never succeeds: it supervises. A worker that dies
 *   abnormally (a non-zero status, a signal) is restarted with the same
 *   task id, up to `maxRestarts` times in all; then the Effect fails with
 *   `TooManyRestarts`. A worker that exits with status 0 is not restarted;
 *   once all have, the Effect ends by interruption, which closes the
 *   parent's Scope (Tornado's `sys.exit(0)`; `NodeRuntime.runMain` then
 *   exits with its code for interruption, 130 unless its `teardown` says
 *   otherwise).
 *
 * Sockets bound in the parent before forking are handed over to the
 * workers. Closing the parent's Scope (SIGTERM/SIGINT under
 * `NodeRuntime.runMain`) sends SIGTERM to every worker and waits for them
 * to drain; a worker exits on its own if the parent dies.
 *
 * @since 0.1.0
 * @category constructors
 */
export const forkProcesses = (
  processes: number,
  options: ForkProcessesOptions = {}
): Effect.Effect<number, Workers.WorkersError, Scope.Scope> =>
  Effect.suspend(() => {
    const id = Workers.taskId()
    if (id !== undefined) return Effect.succeed(id)
    return Effect.gen(function*() {
      const supervisor = yield* Workers.forkWorkers(
        {
          processes,
          shutdownTimeout: Duration.fromInputUnsafe(options.shutdownTimeout ?? Duration.seconds(30))
        },
        { maxRestarts: options.maxRestarts, awaitListening: false, workersStdout: "stdout" }
      )
      yield* supervisor.exited
      return yield* Effect.interrupt
    })
  })

export {
  /**
   * Workers died more than `maxRestarts` times: the parent gave up.
   *
   * @since 0.1.0
   * @category errors
   */
  TooManyRestarts,
  /**
   * Why the supervisor gave up.
   *
   * @since 0.1.0
   * @category errors
   */
  type WorkersError
} from "./Workers.ts"
