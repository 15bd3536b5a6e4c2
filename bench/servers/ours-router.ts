/**
 * Ours under an Effect app: the same `effect/http` HttpRouter app as the
 * NodeHttpServer peer (effect-routes.ts), served by our engine through
 * `EffectHttpAdapter` with its default config.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Layer } from "effect"
import { EffectHttpAdapter } from "../../src/index.ts"
import { portFromArgs } from "./common.ts"
import { serveRoutes } from "./effect-routes.ts"

const Main = serveRoutes.pipe(
  Layer.provide(EffectHttpAdapter.layer({ host: "127.0.0.1", port: portFromArgs() }))
)

NodeRuntime.runMain(Layer.launch(Main))
