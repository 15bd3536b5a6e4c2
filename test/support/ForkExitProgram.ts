/**
 * For `test/Listen/ForkProcesses.test.ts`: `forkProcesses(2, { maxRestarts: 2 })`
 * whose workers print `worker TASK_ID` and exit at once with `WORKER_EXIT`.
 * The parent prints `gave up: MESSAGE` if the supervisor gives up, and
 * `parent done` when its program's Scope closes.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Exit } from "effect"
import { ForkProcesses } from "../../src/index.ts"

const program = Effect.gen(function*() {
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      if (ForkProcesses.taskId() === undefined) process.stdout.write("parent done\n")
    })
  )
  const taskId = yield* ForkProcesses.forkProcesses(2, { maxRestarts: 2 })
  process.stdout.write(`worker ${taskId}\n`)
  process.exit(Number(process.env["WORKER_EXIT"]))
}).pipe(
  Effect.catchTag("TooManyRestarts", (error) => Effect.sync(() => process.stdout.write(`gave up: ${error.message}\n`)))
)

NodeRuntime.runMain(Effect.scoped(program), {
  teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)
})
