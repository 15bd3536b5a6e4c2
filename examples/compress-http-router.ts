/**
 * Compressed responses for an `effect/http` app on this engine: effect's own
 * `HttpMiddleware.compression`.
 * Run: `npx node examples/compress-http-router.ts`, then
 * `curl --compressed -i localhost:8888/items`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { HttpMiddleware, HttpRouter, HttpServerResponse } from "effect/http"
import { EffectHttpAdapter } from "../src/index.ts"

const items = Array.from({ length: 200 }, (_, id) => ({ id, name: `item ${id}` }))

const Routes = HttpRouter.add("GET", "/items", HttpServerResponse.jsonUnsafe(items))

HttpRouter.serve(Routes, { middleware: HttpMiddleware.compression({ algorithms: ["br", "gzip", "zstd"] }) }).pipe(
  Layer.provide(EffectHttpAdapter.layer({ port: 8888 })),
  Layer.launch,
  NodeRuntime.runMain
)
