/**
 * systemd socket activation (`sd_listen_fds`): serve the sockets systemd
 * bound and passed (a `.socket` unit with `Accept=no`).
 * Run: `systemd-socket-activate -l 8888 npx node examples/socket-activation.ts`,
 * then `curl localhost:8888/hello`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { HTTPServer, Response, SocketActivation } from "../src/index.ts"

const app = (request: HTTPServer.Request) => Effect.succeed(Response.text(`Hello from ${process.pid}: ${request.path}`))

const program = Effect.gen(function*() {
  const sockets = yield* SocketActivation.socketsFromEnvironment() // fds 3, 4, ... (LISTEN_FDS)
  yield* HTTPServer.addSockets(app, sockets)
  return yield* Effect.never
})

NodeRuntime.runMain(Effect.scoped(program))
