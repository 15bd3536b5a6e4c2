/**
 * Peer: Effect's own HTTP stack, an `effect/http` HttpRouter app served by
 * `NodeHttpServer` from @effect/platform-node (node:http underneath).
 * The per-request logger is disabled, as every peer runs without logging.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import * as Http from "node:http"
import { announce, HELLO, KEEP_ALIVE_TIMEOUT_MS, makeLargeBody, portFromArgs } from "./common.ts"

const large = makeLargeBody()

const Routes = Layer.mergeAll(
  HttpRouter.add("GET", "/hello", HttpServerResponse.text(HELLO)),
  HttpRouter.add(
    "POST",
    "/upload",
    (request) => Effect.map(request.arrayBuffer, (body) => HttpServerResponse.text(String(body.byteLength)))
  ),
  HttpRouter.add("GET", "/large", HttpServerResponse.uint8Array(large))
)

const Announce = Layer.effectDiscard(Effect.gen(function*() {
  const server = yield* HttpServer.HttpServer
  if (server.address._tag === "UnixPathAddress") {
    return yield* Effect.die(new Error("unexpected unix socket address"))
  }
  announce(server.address.port)
}))

const Main = HttpRouter.serve(Routes, { disableLogger: true, disableListenLog: true }).pipe(
  Layer.merge(Announce),
  Layer.provide(
    NodeHttpServer.layer(
      () => Http.createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }),
      { host: "127.0.0.1", port: portFromArgs() }
    )
  )
)

NodeRuntime.runMain(Layer.launch(Main))
