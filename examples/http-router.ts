/**
 * An `effect/http` HttpRouter app served by our engine.
 * Run: `npx node examples/http-router.ts`, then
 * `curl localhost:8888/hello/you` or `curl -d '{"name":"Ada"}' localhost:8888/greet`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as EffectHttpAdapter from "../src/EffectHttp/EffectHttpAdapter.ts"

const Routes = Layer.mergeAll(
  HttpRouter.add("GET", "/hello/:name", (request) =>
    Effect.map(HttpRouter.params, (params) => HttpServerResponse.text(`Hello ${params["name"]} (${request.url})`))),
  HttpRouter.add("POST", "/greet", Effect.gen(function*() {
    const { name } = yield* HttpServerRequest.schemaBodyJson(Schema.Struct({ name: Schema.String }))
    return HttpServerResponse.jsonUnsafe({ greeting: `Hello ${name}` })
  }))
)

// Listens when the layer is built; on SIGINT/SIGTERM the engine shuts down gracefully.
HttpRouter.serve(Routes).pipe(
  Layer.provide(EffectHttpAdapter.layer({ port: 8888, maxBodySize: "1 MiB" })),
  Layer.launch,
  NodeRuntime.runMain
)
