/**
 * Tornado's `server.bind(8888); server.start(0)`: one worker process per
 * CPU, sharing the port; the parent supervises them.
 * Run: `npx node examples/start-processes.ts`, then `curl localhost:8888/hello`
 * a few times (each answer names the worker's pid).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { HTTPServer, Response } from "../src/index.ts"

const app = (request: HTTPServer.Request) => Effect.succeed(Response.text(`Hello from ${process.pid}: ${request.path}`))

const program = Effect.gen(function*() {
  // The workers run this program too: there, `start` serves and returns "Serving".
  const started = yield* HTTPServer.start(app, { port: 8888, processes: 0 })
  if (started._tag === "Supervising") {
    yield* Effect.log(`${started.workers.pids().length} workers on ${started.url}`)
    return yield* started.workers.exited // a worker that dies is restarted
  }
  return yield* Effect.never
})

NodeRuntime.runMain(Effect.scoped(program))
