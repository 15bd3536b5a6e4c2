/**
 * `request.upgrade` for the `effect/http` adapter, as `NodeHttpServer` has
 * it: the route takes the connection away from HTTP (the engine's
 * `request.detach`) and gets an effect `Socket` over it.
 *
 * - `Upgrade: websocket`: the RFC 6455 handshake and framing are the `ws`
 *   package's (`WebSocketServer({ noServer: true })` and `handleUpgrade` over
 *   the detached connection), with the `websocket` options given to the
 *   adapter (`perMessageDeflate`, `maxPayload`, ...). Releasing the socket
 *   sends a close frame: 1000 when the route's scope ends normally, 1001 when
 *   interrupted, 1011 on failure; and when the server begins to shut down
 *   (its draining signal), 1001 at once.
 * - any other protocol: the engine answers `101 Switching Protocols` with the
 *   protocol asked for and the route's headers, and the `Socket` reads and
 *   writes the raw connection (bytes the client sent after the request first).
 *
 * Either way the connection is taken, and the response written, when the
 * socket's reader is acquired (as `NodeHttpServer` does); the request body
 * is read to its end first, its rest discarded. A route that never asks for
 * `upgrade` answers in HTTP, and the connection closes after that response.
 *
 * @since 0.1.0
 */
import { Effect, type Scope } from "effect"
import * as Headers from "effect/http/Headers"
import { HttpServerError, InternalError, RequestParseError } from "effect/http/HttpServerError"
import type * as Request from "effect/http/HttpServerRequest"
import * as Socket from "effect/socket/Socket"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as Ws from "ws"
import type { HTTPServerRequest } from "../Request/HTTPServerRequest.ts"
import { acceptWebSocket, detachAfterBody } from "../WebSocket/WebSocketAccept.ts"

/**
 * Options of the `ws` `WebSocketServer` that completes WebSocket upgrades
 * (`NodeHttpServer`'s `websocket` option), minus the wiring the adapter does
 * itself.
 *
 * @since 0.1.0
 * @category models
 */
export type WebSocketOptions = Omit<Ws.ServerOptions, "noServer" | "server" | "host" | "port" | "path">

/**
 * What upgrades share across the requests of one server: its
 * `WebSocketServer`, made on the first WebSocket upgrade.
 *
 * @since 0.1.0
 * @category models
 */
export interface Upgrades {
  readonly webSocketServer: () => Ws.WebSocketServer
  /** The server's draining signal: open WebSockets are closed with 1001 when it completes. */
  readonly draining?: Effect.Effect<void> | undefined
}

/**
 * The upgrades of one server; its `WebSocketServer`, if one was made, is
 * closed with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeUpgrades = (
  options: WebSocketOptions | undefined,
  draining?: Effect.Effect<void>
): Effect.Effect<Upgrades, never, Scope.Scope> =>
  Effect.gen(function*() {
    let server: Ws.WebSocketServer | undefined
    yield* Effect.addFinalizer(() =>
      server === undefined ? Effect.void : Effect.callback<void>((resume) => {
        server!.close(() => resume(Effect.void))
      })
    )
    return { webSocketServer: () => server ??= new Ws.WebSocketServer({ ...options, noServer: true }), draining }
  })

const upgradeError = (request: Request.HttpServerRequest, description: string, cause?: unknown) =>
  new HttpServerError({ reason: new InternalError({ request, description, cause }) })

/** The header fields the transport sets on a 101, and a body cannot follow one. */
const reservedUpgradeHeaders = new Set(["connection", "upgrade", "content-length", "transfer-encoding"])

/**
 * The effect `Socket` for `request.upgradeWith({ headers })`, or why there is
 * none: not an upgrade request (`RequestParseError`, 400), or response
 * headers an upgrade cannot carry (`InternalError`, 500).
 *
 * @since 0.1.0
 * @category upgrades
 */
export const upgrade = (
  request: Request.HttpServerRequest,
  source: HTTPServerRequest,
  upgrades: Upgrades,
  input: Headers.Input | undefined
): Effect.Effect<Socket.Socket, HttpServerError> => {
  const protocol = source.upgrade
  if (protocol === undefined) {
    return Effect.fail(
      new HttpServerError({
        reason: new RequestParseError({ request, description: "not an upgradeable ServerRequest" })
      })
    )
  }
  const headers = Headers.fromInput(input)
  if (protocol.trim().toLowerCase() === "websocket") {
    if (Object.keys(headers).length > 0) {
      return Effect.fail(upgradeError(request, "WebSocket upgrades do not support custom response headers"))
    }
    return webSocket(request, source, upgrades)
  }
  for (const name in headers) {
    if (reservedUpgradeHeaders.has(name)) {
      return Effect.fail(upgradeError(request, `Upgrade responses cannot set the ${name} header`))
    }
  }
  const response = { status: 101, headers: { ...headers, Upgrade: protocol }, body: { _tag: "Empty" } } as const
  return NodeSocket.fromDuplex(detachAfterBody(source, { response }))
}

/** The WebSocket handshake by `ws` over the detached connection, as the route's request has it. */
const webSocket = (
  request: Request.HttpServerRequest,
  source: HTTPServerRequest,
  upgrades: Upgrades
): Effect.Effect<Socket.Socket> =>
  Socket.fromWebSocket(acceptWebSocket(source, upgrades.webSocketServer(), { request, draining: upgrades.draining }))
