/**
 * Tornado's `bind_sockets` + `fork_processes` + `add_sockets`: bind first
 * (TCP on every interface, IPv4 and IPv6, and a Unix socket), fork one
 * worker per CPU, serve every socket in each worker, one server per worker.
 * Run: `npx node examples/fork-processes.ts`, then
 * `curl localhost:8888/hello` or `curl --unix-socket /tmp/hello.sock localhost/hello`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { ForkProcesses, HTTPServer, Response, Sockets, UnixSocket } from "../src/index.ts"

const app = (request: HTTPServer.Request) => Effect.succeed(Response.text(`Hello from ${process.pid}: ${request.path}`))

const program = Effect.gen(function*() {
  const tcp = yield* Sockets.bindSockets(8888)
  const unix = yield* UnixSocket.bindUnixSocket("/tmp/hello.sock", { mode: 0o660 })
  const taskId = yield* ForkProcesses.forkProcesses(0) // from here on, in the workers only
  yield* HTTPServer.addSockets(app, [...tcp, unix])
  yield* Effect.log(`worker ${taskId} serving`)
  return yield* Effect.never
})

NodeRuntime.runMain(Effect.scoped(program))
