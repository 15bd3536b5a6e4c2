/**
 * An `effect/http` app as an engine {@link Handler}: each request wrapped in
 * the adapter's `HttpServerRequest`, the app run through
 * `HttpEffect.toHandled`, and the `HttpServerResponse` it answers with
 * recorded as the engine's `Response` (a streamed body runs after the app
 * has returned, in the engine's fiber, with the request's Scope and
 * context).
 *
 * @since 0.1.0
 */
import { Cause, Context, Effect, Exit, Fiber, Scope } from "effect"
import * as HttpEffect from "effect/http/HttpEffect"
import type * as HttpMiddleware from "effect/http/HttpMiddleware"
import * as Request from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Ws from "ws"
import type { HTTPServerRequest } from "../Request/HTTPServerRequest.ts"
import type { Response } from "../Response/Response.ts"
import type { Upgrades } from "./EffectHttpUpgrade.ts"
import type { Handler } from "../Server/HTTPServer.ts"
import { toResponse } from "./EffectResponseConversion.ts"
import { type Exchange, ServerRequest } from "./EffectServerRequest.ts"
import { StreamedBody } from "./EffectStreamedBody.ts"

/**
 * Responses an app answers with again and again (a constant
 * `HttpServerResponse.text("Hello")` in a route) are converted once: the
 * same engine `Response` each time, whose bytes the serializer then keeps.
 * As in the serializer, only a response seen twice in a row is kept, so an
 * app that makes a new response each time pays one comparison. Only bodies
 * known in full are kept: `HttpServerResponse`s are immutable, and such a
 * conversion depends on nothing else (not on HEAD, which only changes
 * streamed bodies).
 */
const convertedResponses = new WeakMap<HttpServerResponse.HttpServerResponse, Response>()
let lastConverted: HttpServerResponse.HttpServerResponse | undefined = undefined

const isReusable = (response: HttpServerResponse.HttpServerResponse): boolean =>
  response.body._tag === "Empty" || response.body._tag === "Uint8Array"

/**
 * A converted response to keep: frozen, its header fields in a frozen copy
 * of their own, so that the serializer trusts the bytes it keeps for them
 * without comparing the fields at each use (`ResponseSerializer`).
 */
const kept = (response: Response): Response => {
  const headers: Record<string, string | ReadonlyArray<string>> = Object.create(null)
  for (const name in response.headers) headers[name] = response.headers[name] as string | ReadonlyArray<string>
  return Object.freeze({ ...response, headers: Object.freeze(headers) })
}

/**
 * The `handleResponse` of `HttpEffect.toHandled`: records the converted
 * response and hands it to the engine (`Exchange.onRecorded`). A streamed
 * body runs in the engine's fiber, with the request's context (services,
 * logger, tracer) and its Scope handed over (closed when the stream ends,
 * fails or is interrupted); the app's fiber waits here until the stream has
 * ended, so that its span and its log line cover the body, and a client
 * leaving mid-stream ends them interrupted, as on `NodeHttpServer`. A body
 * the engine never runs (the connection closed first, a head it cannot
 * send) ends the wait interrupted when the engine is done with the request
 * (`HTTPServerRequest.whenOver`), and the Scope is closed then.
 */
const recordResponse = (
  request: Request.HttpServerRequest,
  response: HttpServerResponse.HttpServerResponse
): Effect.Effect<void, unknown> => {
  if (!(request instanceof ServerRequest)) {
    return Effect.die(new Error("effect-httpserver: the request is not one of the adapter's"))
  }
  const exchange = request.exchange
  if (exchange.response !== undefined) return Effect.void
  const converted = convertedResponses.get(response)
  if (converted !== undefined) {
    record(exchange, converted)
    return Effect.void
  }
  let sent: Effect.Effect<void, unknown> | undefined
  try {
    toResponse(response, request.method === "HEAD", (status, headers, body) => {
      const reason = response.statusText
      if ("_tag" in body) {
        let made: Response = { status, reason, headers, body }
        if (isReusable(response)) {
          if (response === lastConverted) convertedResponses.set(response, made = kept(made))
          lastConverted = response
        }
        record(exchange, made)
        return
      }
      // `handleResponse` runs in the app's fiber: its context is the request's.
      const context = Fiber.getCurrent()?.context
      const scope = context === undefined ? undefined : Context.getOrUndefined(context, Scope.Scope) as Scope.Closeable | undefined
      if (scope !== undefined) HttpEffect.scopeDisableClose(scope)
      const streamed = new StreamedBody(body.stream, context, scope)
      // The engine drops a body it will not send (its connection closed
      // first, its head cannot be sent): the exchange is then over with the
      // stream never started, and the app's fiber ends interrupted.
      request.source.whenOver(() => streamed.dropIfUnstarted())
      sent = streamed.wait
      record(exchange, {
        status,
        reason,
        headers,
        body: { _tag: "Stream", stream: streamed.stream, contentLength: body.contentLength }
      })
    })
  } catch (defect) {
    return Effect.die(defect)
  }
  return sent ?? Effect.void
}

const record = (exchange: Exchange, response: Response): void => {
  exchange.response = response
  exchange.onRecorded?.(response)
}

let defaultWebSocketServer: Ws.WebSocketServer | undefined
const defaultUpgrades: Upgrades = { webSocketServer: () => defaultWebSocketServer ??= new Ws.WebSocketServer({ noServer: true }) }

/**
 * Turns an `effect/http` app into a {@link Handler} for
 * `HTTPServer.listen` / `listenWith`, run with the services of the fiber
 * that calls `makeHandler`.
 *
 * The app's failures become responses the way `effect/http` decides
 * (`HttpEffect.toHandled`); a failure past that (a response the engine cannot
 * send) is answered by the engine with 500 and logged.
 *
 * Listen with `{ handlersStartUninterruptible: true,
 * clientAbortAnnotations: ClientAbort.annotation }` (as `EffectHttpAdapter.make` does)
 * for `NodeHttpServer`'s semantics: an `{ uninterruptible: true }` route's
 * response is sent even if its fiber was interrupted meanwhile, and a client
 * going away is a client abort (499).
 *
 * @since 0.1.0
 * @category handlers
 */
export const makeHandler = <E, R>(
  httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  options?: {
    readonly middleware?: HttpMiddleware.HttpMiddleware | undefined
    /** What upgrades share (the `WebSocketServer`); by default one with `ws`'s defaults. */
    readonly upgrades?: Upgrades | undefined
  }
): Effect.Effect<Handler<unknown>, never, Exclude<R, Request.HttpServerRequest | Scope.Scope>> =>
  Effect.map(Effect.context<Exclude<R, Request.HttpServerRequest | Scope.Scope>>(), (context) => {
    const upgrades = options?.upgrades ?? defaultUpgrades
    const handled = HttpEffect.toHandled(httpEffect, recordResponse, options?.middleware) as Effect.Effect<
      void,
      unknown,
      Request.HttpServerRequest
    >
    // The app runs in a root fiber of its own (as on `NodeHttpServer`),
    // started at once: an app that answers in the turn (most routes) hands
    // the engine an `Exit`, which it sends without a fiber of its own.
    const run = (requestContext: Context.Context<Request.HttpServerRequest>) => Effect.runForkWith(requestContext)(handled)
    return (source: HTTPServerRequest): Effect.Effect<Response, unknown> => {
      const exchange: Exchange = { response: undefined, arrayBuffer: undefined, upgrades, onRecorded: undefined }
      const request = new ServerRequest(source, exchange)
      const app = run(Context.add(context, Request.HttpServerRequest, request))
      const exit = app.pollUnsafe()
      if (exit !== undefined) return respond(exchange, exit)
      // Recorded, with the app's fiber still on (its streamed body runs next).
      if (exchange.response !== undefined) return Exit.succeed(exchange.response)
      return awaitResponse(exchange, app)
    }
  })

/**
 * The response once the app has ended. A response recorded is a response
 * sent, whatever came after it (middleware failures are already reported
 * by `toHandled`).
 */
const respond = (exchange: Exchange, exit: Exit.Exit<void, unknown>): Effect.Effect<Response, unknown> => {
  const response = exchange.response
  if (response !== undefined) return Effect.succeed(response)
  if (Exit.isFailure(exit)) return Effect.failCause(exit.cause)
  return Effect.die(new Error("effect-httpserver: the app completed without a response"))
}

/**
 * Waits for the app's response (or its end), interruptibly: the engine
 * interrupting the request (a client that went away, a server closing it)
 * interrupts the app with the same annotations (`ClientAbort`), and waits
 * for it to end.
 */
const awaitResponse = (exchange: Exchange, app: Fiber.Fiber<void, unknown>): Effect.Effect<Response, unknown> =>
  Effect.onExit(
    Effect.interruptible(Effect.callback<Response, unknown>((resume) => {
      if (exchange.response !== undefined) return resume(Effect.succeed(exchange.response))
      exchange.onRecorded = (response) => resume(Effect.succeed(response))
      app.addObserver((exit) => resume(respond(exchange, exit)))
    })),
    (exit) =>
      Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) && app.pollUnsafe() === undefined
        ? Effect.callback<void>((resume) => {
          app.addObserver(() => resume(Effect.void))
          app.interruptUnsafe(undefined, Cause.annotations(exit.cause))
        })
        : Effect.void
  )
