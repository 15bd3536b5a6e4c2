/**
 * Compressed responses for a core handler (Tornado's `compress_response=True`):
 * `ResponseCompression.middleware` around the handler.
 * Run: `npx node examples/compress-handler.ts`, then
 * `curl --compressed -i localhost:8888/items`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { HTTPServer, Response, ResponseCompression } from "../src/index.ts"

const items = Array.from({ length: 200 }, (_, id) => ({ id, name: `item ${id}` }))

const app = (request: HTTPServer.Request) =>
  Effect.succeed(request.path === "/items" ? Response.json(items) : Response.text("not found", { status: 404 }))

// br, gzip or zstd as the client's Accept-Encoding prefers; bodies under 1 KiB,
// images and the like go as they are.
const compressed = ResponseCompression.middleware({ codings: ["br", "gzip", "zstd"], threshold: 1024 })(app)

NodeRuntime.runMain(Effect.scoped(Effect.andThen(HTTPServer.listen(compressed, { port: 8888 }), Effect.never)))
