/**
 * The demo app's long-lived routes, which end by themselves when the server
 * begins to shut down (its `draining` signal) instead of being cut at
 * `shutdownTimeout`: `/events` (Server-Sent Events) and `/ws` (a WebSocket
 * echo).
 *
 * @since 0.1.0
 */
import { Duration, Effect, Schedule, Stream } from "effect"
import * as Ws from "ws"
import type { HTTPServerRequest } from "../Request/HTTPServerRequest.ts"
import * as Response from "../Response/Response.ts"
import { HTTPServer } from "../Server/HTTPServer.ts"
import { acceptWebSocket } from "../WebSocket/WebSocketAccept.ts"

const encoder = new TextEncoder()

/** The last event of `/events` (an event needs a data field to be dispatched, even empty). */
const shutdownEvent = encoder.encode("event: shutdown\ndata:\n\n")

/**
 * `/events`: `data: N` every 100 ms, N counting from 0; when shutdown
 * begins, a last `event: shutdown` and the stream ends.
 *
 * @since 0.1.0
 * @category handlers
 */
export const events: Effect.Effect<Response.Response, never, HTTPServer> = Effect.map(
  Effect.service(HTTPServer),
  (server) => {
    const ticks = Stream.fromSchedule(Schedule.spaced(Duration.millis(100))).pipe(
      Stream.map((n) => encoder.encode(`data: ${n}\n\n`)),
      Stream.interruptWhen(server.draining),
      Stream.concat(Stream.make(shutdownEvent))
    )
    return Response.stream(ticks, {
      contentType: "text/event-stream; charset=utf-8",
      headers: { "Cache-Control": "no-cache" }
    })
  }
)

let webSocketServer: Ws.WebSocketServer | undefined

/** 426 names the protocol to upgrade to (RFC 9110 section 15.5.22). */
const upgradeRequired = Response.text("426 Upgrade Required: /ws speaks WebSocket\n", {
  status: 426,
  headers: { Upgrade: "websocket", Connection: "Upgrade" }
})

/**
 * `/ws`: a WebSocket (RFC 6455) that echoes every text and binary message;
 * `ws` answers pings and returns the client's close code. When shutdown
 * begins it closes with 1001 Going Away. Without an upgrade: 426.
 *
 * @since 0.1.0
 * @category handlers
 */
export const webSocket = (request: HTTPServerRequest): Effect.Effect<Response.Response, never, HTTPServer> => {
  if (request.upgrade?.trim().toLowerCase() !== "websocket") return Effect.succeed(upgradeRequired)
  return Effect.scoped(Effect.gen(function*() {
    const server = yield* HTTPServer
    // Closed with 1001 as soon as shutdown begins; the client's close frame
    // (or ws's own timeout) then ends it.
    const ws = yield* acceptWebSocket(request, webSocketServer ??= new Ws.WebSocketServer({ noServer: true }), {
      draining: server.draining
    })
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }))
    yield* Effect.callback<void>((resume) => {
      if (ws.readyState === Ws.WebSocket.CLOSED) return resume(Effect.void)
      ws.once("close", () => resume(Effect.void))
    })
    // The connection is no longer HTTP: this response is never sent.
    return Response.empty()
  })).pipe(
    // A handshake ws refused was answered (400) by ws itself.
    Effect.catchTag("SocketError", () => Effect.succeed(Response.empty()))
  )
}
