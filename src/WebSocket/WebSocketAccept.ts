/**
 * A WebSocket (RFC 6455) over a connection taken from HTTP: the request
 * body is read to its end (the new protocol starts after it), the
 * connection detached, and the `ws` package answers the handshake and
 * frames the messages. The core's handlers use it directly (the demo's
 * `/ws`), the `effect/http` adapter under `request.upgrade`.
 *
 * Releasing the WebSocket sends a close frame whose code says how the
 * Scope ended (RFC 6455 section 7.4.1): 1000 normally, 1001 Going Away
 * when interrupted (a server shutting down), 1011 on a failure. Given the
 * server's draining signal, it is closed with 1001 as soon as shutdown
 * begins.
 *
 * @since 0.1.0
 */
import type { IncomingMessage } from "node:http"
import { Cause, Effect, Exit, type Scope, Stream } from "effect"
import * as Socket from "effect/socket/Socket"
import type * as Ws from "ws"
import type { DetachedSocket, DetachOptions } from "../Request/Detach.ts"
import type { HTTPServerRequest } from "../Request/HTTPServerRequest.ts"

/**
 * The request as `ws` reads it: method, URL and lower-cased header fields
 * (the `effect/http` adapter passes its own request's).
 *
 * @since 0.1.0
 * @category models
 */
export interface HandshakeRequest {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

/**
 * Why a connection could not become a socket: the body could not be read,
 * the connection could not be detached, or the handshake was refused.
 */
export const openError = (cause: unknown): Socket.SocketError =>
  new Socket.SocketError({
    reason: new Socket.SocketOpenError({ kind: "Unknown", cause: typeof cause === "string" ? new Error(cause) : cause })
  })

/** The close code for how the Scope ended (RFC 6455 section 7.4.1). */
export const closeCode = (exit: Exit.Exit<unknown, unknown>): number =>
  Exit.isSuccess(exit) ? 1000 : Cause.hasInterruptsOnly(exit.cause) ? 1001 : 1011

/**
 * Reads the rest of the body, then takes the connection, in the Scope.
 *
 * @since 0.1.0
 * @category upgrades
 */
export const detachAfterBody = (
  source: HTTPServerRequest,
  options?: DetachOptions
): Effect.Effect<DetachedSocket, Socket.SocketError, Scope.Scope> =>
  Effect.andThen(
    Effect.mapError(Stream.runDrain(source.stream), openError),
    Effect.mapError(source.detach(options), openError)
  )

/** The header fields of the engine's request, names lower-cased (a repeated field joined with `, `). */
const handshakeRequestOf = (source: HTTPServerRequest): HandshakeRequest => {
  const headers: Record<string, string> = Object.create(null)
  for (const [name, value] of source.headers) {
    const key = name.toLowerCase()
    const previous = headers[key]
    headers[key] = previous === undefined ? value : `${previous}, ${value}`
  }
  return { method: source.method, url: source.uri, headers }
}

const EMPTY = Buffer.alloc(0)

/**
 * The WebSocket of an upgrade request, open until the Scope closes (then
 * closed with the code of {@link closeCode}), or until `draining` completes
 * (then closed with 1001 Going Away). A handshake `ws` refuses (a missing
 * `Sec-WebSocket-Key`, say: `ws` answers 400 and closes) fails with a
 * `SocketError`.
 *
 * @since 0.1.0
 * @category upgrades
 */
export const acceptWebSocket = (
  source: HTTPServerRequest,
  server: Ws.WebSocketServer,
  options?: {
    /** The server's draining signal (`RunningServer.draining`). */
    readonly draining?: Effect.Effect<void> | undefined
    /** The request as the handshake reads it; by default the engine's. */
    readonly request?: HandshakeRequest | undefined
  }
): Effect.Effect<Ws.WebSocket, Socket.SocketError, Scope.Scope> => {
  const draining = options?.draining
  const open = acceptUntilReleased(source, server, options?.request ?? handshakeRequestOf(source))
  return draining === undefined
    ? open
    : Effect.tap(open, (ws) => Effect.forkScoped(Effect.andThen(draining, Effect.sync(() => ws.close(1001)))))
}

const acceptUntilReleased = (
  source: HTTPServerRequest,
  server: Ws.WebSocketServer,
  request: HandshakeRequest
): Effect.Effect<Ws.WebSocket, Socket.SocketError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.flatMap(detachAfterBody(source), (socket) =>
      Effect.callback<Ws.WebSocket, Socket.SocketError>((resume) => {
        // A refused handshake never calls back: fail on the close.
        const onClose = () => resume(Effect.fail(openError("The socket closed before the upgrade")))
        if (socket.destroyed) return onClose()
        socket.once("close", onClose)
        const incoming = { method: request.method, url: request.url, headers: request.headers, socket } as unknown as IncomingMessage
        server.handleUpgrade(incoming, socket, EMPTY, (ws) => {
          socket.off("close", onClose)
          resume(Effect.succeed(ws))
        })
        return Effect.sync(() => {
          socket.off("close", onClose)
          socket.destroy()
        })
      })),
    (ws, exit) => Effect.sync(() => ws.close(closeCode(exit)))
  )
