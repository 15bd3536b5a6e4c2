/**
 * WebSockets on a core handler, with `request.detach` (Tornado's
 * `HTTP1Connection.detach()`): the `ws` package completes the handshake over
 * the raw connection; `/echo` echoes, `/chat` sends every message to everyone
 * connected. Other requests get a plain answer.
 * Run: `npx node examples/websocket-detach.ts` (PORT=8888 by default), then
 * connect a WebSocket client to ws://localhost:8888/chat.
 */
import type { IncomingMessage } from "node:http"
import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { WebSocket, WebSocketServer } from "ws"
import { HTTPServer, Response } from "../src/index.ts"

const webSockets = new WebSocketServer({ noServer: true })
const chatRoom = new Set<WebSocket>()

/** The handshake by `ws` over the detached connection; the session lasts until the socket closes. */
const webSocketSession = (request: HTTPServer.Request, onOpen: (ws: WebSocket) => void) =>
  Effect.scoped(Effect.gen(function*() {
    const socket = yield* request.detach()
    // What `ws` reads of a request: method, URL, lower-cased headers, the socket.
    const headers: Record<string, string> = {}
    for (const [name, value] of request.headers) headers[name.toLowerCase()] = value
    const incoming = { method: request.method, url: request.uri, headers, socket } as unknown as IncomingMessage
    yield* Effect.callback<void>((resume) => {
      socket.once("close", () => resume(Effect.void))
      webSockets.handleUpgrade(incoming, socket, Buffer.alloc(0), onOpen)
    })
    return Response.empty() // not sent: the connection is no longer HTTP
  }))

const app = (request: HTTPServer.Request) => {
  if (request.upgrade?.toLowerCase() === "websocket") {
    if (request.path === "/echo") {
      return webSocketSession(request, (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })))
    }
    if (request.path === "/chat") {
      return webSocketSession(request, (ws) => {
        chatRoom.add(ws)
        ws.on("close", () => chatRoom.delete(ws))
        ws.on("message", (data, isBinary) => {
          for (const member of chatRoom) member.send(data, { binary: isBinary })
        })
      })
    }
  }
  return Effect.succeed(Response.text("WebSocket endpoints: /echo and /chat\n"))
}

const program = Effect.gen(function*() {
  const server = yield* HTTPServer.listen(app, { port: Number(process.env["PORT"] ?? 8888) })
  yield* Effect.sync(() => process.stdout.write(`listening on ${server.url}\n`))
  return yield* Effect.never // until SIGINT/SIGTERM: open sessions get shutdownTimeout to end
})

NodeRuntime.runMain(Effect.scoped(program))
