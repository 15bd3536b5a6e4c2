/**
 * A program in Tornado's third start-up pattern, for the tests of
 * `test/Listen/ForkProcesses.test.ts`: bind (a TCP port, and a Unix socket
 * when `UNIX_SOCKET` is set), fork `PROCESSES` workers, serve the demo app
 * on the sockets in each.
 *
 * stdout: `bound PORT` from the parent before forking, then
 * `worker TASK_ID PID serving` from each worker once it serves.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Exit } from "effect"
import { handler } from "../../src/cli/DemoApp.ts"
import { ForkProcesses, HTTPServer, Sockets, UnixSocket } from "../../src/index.ts"

const program = Effect.gen(function*() {
  const tcp = yield* Sockets.bindSockets(0, { host: "127.0.0.1" })
  const path = process.env["UNIX_SOCKET"]
  const unix = path === undefined ? [] : [yield* UnixSocket.bindUnixSocket(path, { mode: 0o640 })]
  const port = tcp[0]?.address._tag === "TcpAddress" ? tcp[0].address.port : 0
  if (ForkProcesses.taskId() === undefined) process.stdout.write(`bound ${port}\n`)
  const taskId = yield* ForkProcesses.forkProcesses(Number(process.env["PROCESSES"] ?? "2"), {
    maxRestarts: 5,
    shutdownTimeout: "5 seconds"
  })
  yield* HTTPServer.addSockets(handler, [...tcp, ...unix], { shutdownTimeout: "5 seconds" })
  process.stdout.write(`worker ${taskId} ${process.pid} serving\n`)
  return yield* Effect.never
})

// SIGTERM/SIGINT interrupt the program: a clean shutdown, exit 0 (runMain's default says 130).
NodeRuntime.runMain(Effect.scoped(program), {
  teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)
})
