/**
 * Peer: Effect's own HTTP stack, the benchmark's `effect/http` HttpRouter app
 * (effect-routes.ts) served by `NodeHttpServer` from @effect/platform-node
 * (node:http underneath).
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Layer } from "effect"
import * as Http from "node:http"
import { KEEP_ALIVE_TIMEOUT_MS, portFromArgs } from "./common.ts"
import { serveRoutes } from "./effect-routes.ts"

const Main = serveRoutes.pipe(
  Layer.provide(
    NodeHttpServer.layer(
      () => Http.createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }),
      { host: "127.0.0.1", port: portFromArgs() }
    )
  )
)

NodeRuntime.runMain(Layer.launch(Main))
