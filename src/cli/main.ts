/**
 * The `effect-httpserver` command: `npm start -- [options]`.
 *
 * - `--help`: usage on stdout, exit 0.
 * - Bad options: one line per problem on stderr, exit 2, nothing on stdout.
 * - Otherwise: serve the demo app until SIGTERM/SIGINT, then exit 0 once
 *   `serve` has shut down (its scope closes when the fiber is interrupted).
 * - Any other failure (e.g. the port is taken): reported on stderr, exit 1.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit } from "effect"
import { parseOptions } from "./Options.ts"
import { serve } from "./ServeDemo.ts"

const program = parseOptions(process.argv.slice(2)).pipe(
  Effect.matchEffect({
    onFailure: (error) =>
      Effect.sync(() => {
        if (error._tag === "HelpRequested") {
          process.stdout.write(error.usage)
        } else {
          process.stderr.write(error.problems.map((problem) => `${problem}\n`).join(""))
          process.exitCode = 2
        }
      }),
    onSuccess: serve
  }),
  Effect.catchCause((cause) =>
    Cause.hasInterruptsOnly(cause)
      ? Effect.failCause(cause)
      : Effect.sync(() => {
        process.stderr.write(`effect-httpserver: ${Cause.pretty(cause)}\n`)
        process.exitCode = 1
      })
  )
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  // SIGTERM/SIGINT interrupt the program: that is a clean shutdown, exit 0.
  teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)
})
