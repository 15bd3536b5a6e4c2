/**
 * The `effect-httpserver` command: `npm start -- [options]`.
 *
 * - `--help`: usage on stdout, exit 0.
 * - Bad options: one line per problem on stderr, exit 2, nothing on stdout.
 * - An address it cannot listen on (port in use, permission denied, a host
 *   that is not this machine's, a Unix socket path that cannot be bound):
 *   one line naming the option and the cause, exit 2, as a bad option.
 * - Otherwise: serve the demo app until SIGTERM/SIGINT, then exit 0 once
 *   `serve` has shut down (its scope closes when the fiber is interrupted).
 * - Any other failure (workers that keep dying, ...): one line on stderr,
 *   exit 1.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit } from "effect"
import { flagOf } from "../Config/ServerOptions.ts"
import type { ListenError } from "../Listen/ListenError.ts"
import { parseOptions } from "./Options.ts"
import { serve } from "./ServeDemo.ts"

/** Names the command-line option a listen failure is about. */
const listenProblem = (error: ListenError): string =>
  `${error.option === undefined ? "effect-httpserver" : flagOf(error.option)}: ${error.message}`

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
    onSuccess: (config) =>
      serve(config).pipe(Effect.catchTag("ListenError", (error) =>
        Effect.sync(() => {
          process.stderr.write(`${listenProblem(error)}\n`)
          process.exitCode = 2
        })))
  }),
  Effect.catchCause((cause) =>
    Cause.hasInterruptsOnly(cause)
      ? Effect.failCause(cause)
      : Effect.sync(() => {
        // A typed failure is one line (its message); a defect gets its stack.
        const failure = cause.reasons.find(Cause.isFailReason)
        const text = failure !== undefined && failure.error instanceof Error ? failure.error.message : Cause.pretty(cause)
        process.stderr.write(`effect-httpserver: ${text}\n`)
        process.exitCode = 1
      })
  )
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  // SIGTERM/SIGINT interrupt the program: that is a clean shutdown, exit 0.
  teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)
})
