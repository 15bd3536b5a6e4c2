/**
 * The benchmark routes as an `effect/http` HttpRouter app, served by both
 * Effect peers: `NodeHttpServer` (effect-platform.ts) and our adapter
 * (ours-router.ts), so that the two differ only in the server underneath.
 */
import { Effect, Layer, Stream } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { announce, HELLO, makeHelloPieceBytes, makeLargeBody, makeSmallJsonValue } from "./common.ts"

const large = makeLargeBody()
const smallJson = makeSmallJsonValue()
const [firstPiece, secondPiece] = makeHelloPieceBytes()

export const Routes = Layer.mergeAll(
  HttpRouter.add("GET", "/hello", HttpServerResponse.text(HELLO)),
  // A stream of two ready chunks, without a length: sent chunked (one response, its stream run anew each time).
  HttpRouter.add("GET", "/chunked", HttpServerResponse.stream(Stream.make(firstPiece, secondPiece), { contentType: "text/plain" })),
  HttpRouter.add(
    "POST",
    "/upload",
    (request) => Effect.map(request.arrayBuffer, (body) => HttpServerResponse.text(String(body.byteLength)))
  ),
  HttpRouter.add("GET", "/large", HttpServerResponse.uint8Array(large)),
  // Serialized per request, as the other servers do.
  HttpRouter.add("GET", "/json-small", () => HttpServerResponse.json(smallJson)),
  HttpRouter.add("POST", "/echo-json", (request) => Effect.flatMap(request.json, (value) => HttpServerResponse.json(value))),
  HttpRouter.add(
    "GET",
    "/ws",
    // The WebSocket scenario: every frame echoed as it came, until the peer goes.
    (request) =>
      Effect.gen(function*() {
        const socket = yield* request.upgrade
        yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          const writer = yield* socket.writer
          while (true) yield* writer.writeAll(yield* reader.pull)
        })).pipe(Effect.ignore)
        return HttpServerResponse.empty()
      })
  )
)

/** Prints the start-up line once the `HttpServer` listens. */
export const Announce = Layer.effectDiscard(Effect.gen(function*() {
  const server = yield* HttpServer.HttpServer
  if (server.address._tag === "UnixPathAddress") {
    return yield* Effect.die(new Error("unexpected unix socket address"))
  }
  announce(server.address.port)
}))

/** The app without the per-request logger (every peer runs without logging), announcing itself. */
export const serveRoutes = HttpRouter.serve(Routes, { disableLogger: true, disableListenLog: true }).pipe(
  Layer.merge(Announce)
)
