/**
 * The README's example: a handler served as a Layer.
 * Run: `npx node examples/serve-layer.ts`, then `curl localhost:8888/hello`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { HTTPServer, Response } from "../src/index.ts"

const app = (request: HTTPServer.Request) =>
  Effect.gen(function*() {
    if (request.path === "/hello") return Response.text("Hello world")
    if (request.method === "POST" && request.path === "/upload") {
      const body = yield* request.body // fails with BodyTooLarge, BodyTimeout, ...
      return Response.json({ received: body.byteLength })
    }
    return Response.text("not found", { status: 404 })
  })

const ServerLive = HTTPServer.layer(app, { port: 8888, maxBodySize: "10 MiB", bodyTimeout: "30 seconds" })

// Listens when the layer is built; on SIGINT/SIGTERM the scope closes:
// stop accepting, finish in-flight requests, close idle connections.
NodeRuntime.runMain(Layer.launch(ServerLive))
