/**
 * WebSockets in an `effect/http` app on our engine, as on NodeHttpServer:
 * `request.upgrade` gives the route an effect `Socket` (handshake and framing
 * by `ws`, `permessage-deflate` on). `/echo` echoes; `/chat` sends every
 * message to everyone connected, through a PubSub.
 * Run: `npx node examples/websocket-chat.ts` (PORT=8888 by default), then
 * connect a WebSocket client to ws://localhost:8888/chat.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, PubSub, type Scope, Stream } from "effect"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as EffectHttpAdapter from "../src/EffectHttp/EffectHttpAdapter.ts"

/** Runs `session` on the route's socket; the peer closing ends it, as a normal end. */
const webSocketRoute = <E>(
  session: (
    pull: Effect.Effect<ReadonlyArray<string | Uint8Array>, unknown>,
    write: (frame: string | Uint8Array) => Effect.Effect<void, unknown>
  ) => Effect.Effect<void, E, Scope.Scope>
) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const socket = yield* request.upgrade
    yield* Effect.scoped(Effect.gen(function*() {
      const reader = yield* socket.reader
      const writer = yield* socket.writer
      yield* session(reader.pull, writer.write)
    })).pipe(Effect.ignore)
    return HttpServerResponse.empty()
  })

const Routes = Layer.unwrap(Effect.gen(function*() {
  const room = yield* PubSub.unbounded<string | Uint8Array>()
  return Layer.mergeAll(
    HttpRouter.add("GET", "/", HttpServerResponse.text("WebSocket endpoints: /echo and /chat\n")),
    HttpRouter.add(
      "GET",
      "/echo",
      webSocketRoute((pull, write) => Effect.forever(Effect.flatMap(pull, Effect.forEach(write))))
    ),
    HttpRouter.add(
      "GET",
      "/chat",
      webSocketRoute((pull, write) =>
        Effect.gen(function*() {
          // Everything said in the room, to this member, while it is connected.
          const subscription = yield* PubSub.subscribe(room)
          yield* Effect.forkScoped(Stream.runForEach(Stream.fromSubscription(subscription), write))
          yield* Effect.forever(Effect.flatMap(pull, Effect.forEach((frame) => PubSub.publish(room, frame))))
        })
      )
    )
  )
}))

/** The one `listening on ...` line on stdout. */
const PrintAddress = Layer.effectDiscard(
  HttpServer.addressFormattedWith((url) => Effect.sync(() => process.stdout.write(`listening on ${url}\n`)))
)

HttpRouter.serve(Routes, { disableListenLog: true }).pipe(
  Layer.merge(PrintAddress),
  Layer.provide(
    EffectHttpAdapter.layer({ port: Number(process.env["PORT"] ?? 8888) }, { websocket: { perMessageDeflate: true } })
  ),
  Layer.launch,
  NodeRuntime.runMain
)
