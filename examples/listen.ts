/**
 * Tornado's `HTTPServer(app).listen(8888)`: bind and serve in this process.
 * Run: `npx node examples/listen.ts`, then `curl localhost:8888/hello`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { HTTPServer, Response } from "../src/index.ts"

const app = (request: HTTPServer.Request) => Effect.succeed(Response.text(`Hello from ${process.pid}: ${request.path}`))

const program = Effect.gen(function*() {
  const server = yield* HTTPServer.listen(app, { port: 8888 })
  yield* Effect.log(`listening on ${server.url}`)
  return yield* Effect.never // until SIGINT/SIGTERM: then the server drains
})

NodeRuntime.runMain(Effect.scoped(program))
