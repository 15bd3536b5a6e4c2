/**
 * A program started by "systemd" in `test/Listen/SocketActivation.test.ts`:
 * serves the demo app on the sockets passed to it (`LISTEN_FDS`, from fd 3)
 * and prints `serving URL NAME` for each, or the ListenError's message.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Exit } from "effect"
import { handler } from "../../src/cli/DemoApp.ts"
import { HTTPServer, SocketActivation } from "../../src/index.ts"

const program = Effect.gen(function*() {
  const sockets = yield* SocketActivation.socketsFromEnvironment()
  const server = yield* HTTPServer.addSockets(handler, sockets, { shutdownTimeout: "2 seconds" })
  for (const [i, address] of server.addresses.entries()) {
    process.stdout.write(`serving ${address._tag === "TcpAddress" ? address.port : address.path} ${sockets[i]?.name}\n`)
  }
  return yield* Effect.never
}).pipe(
  Effect.catchTag("ListenError", (error) => Effect.sync(() => process.stdout.write(`failed ${error.message}\n`)))
)

// SIGTERM/SIGINT interrupt the program: a clean shutdown, exit 0 (runMain's default says 130).
NodeRuntime.runMain(Effect.scoped(program), {
  teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)
})
