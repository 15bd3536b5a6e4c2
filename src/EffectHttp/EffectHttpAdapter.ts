/**
 * The seam to Effect's HTTP world: an `effect/http` `HttpServer` served by
 * our HTTP/1.1 engine, so that an `HttpRouter` / `HttpApi` application runs
 * on it unchanged.
 *
 * ```ts
 * import { NodeRuntime } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { HttpRouter, HttpServerResponse } from "effect/http"
 * import { EffectHttpAdapter } from "effect-httpserver"
 *
 * const Routes = HttpRouter.add("GET", "/hello", HttpServerResponse.text("Hello world"))
 *
 * HttpRouter.serve(Routes).pipe(
 *   Layer.provide(EffectHttpAdapter.layer({ port: 8888, maxBodySize: "10 MiB" })),
 *   Layer.launch,
 *   NodeRuntime.runMain
 * )
 * ```
 *
 * How a request goes through:
 *
 * - the engine parses it into an `HTTPServerRequest`; the adapter wraps it in
 *   an `effect/http` `HttpServerRequest` (lower-cased `Headers`, cookies,
 *   remote address, and the body read through the engine, its typed errors
 *   becoming `HttpServerError`s with a `RequestParseError`);
 * - the app runs through `HttpEffect.toHandled`, so failures become responses
 *   exactly as `effect/http` decides (`Respondable` errors, 404 for
 *   `RouteNotFound`, 500 otherwise, 413 for `RequestParseError` with reason
 *   `BodyTooLarge`);
 * - the `HttpServerResponse` becomes our `Response` (status, `statusText` as
 *   the reason phrase, headers, `Set-Cookie` from its cookies, and its body),
 *   which the engine writes.
 *
 * The engine's limits and timeouts (`maxBodySize`, `bodyTimeout`, ...) apply
 * as for any handler; the request's `source` is the engine's
 * `HTTPServerRequest` (for `setMaxBodySize`, `setBodyTimeout`, ...).
 *
 * @since 0.1.0
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import * as Etag from "effect/http/Etag"
import type * as HttpPlatform from "effect/http/HttpPlatform"
import type * as HttpClient from "effect/http/HttpClient"
import * as HttpServer from "effect/http/HttpServer"
import { ClientAbort } from "effect/http/HttpServerError"
import type * as FileSystem from "effect/FileSystem"
import type * as Path from "effect/Path"
import * as NetAddress from "effect/net/NetAddress"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpPlatform from "@effect/platform-node/NodeHttpPlatform"
import * as NodePath from "@effect/platform-node/NodePath"
import { type ConfigError, decodeServerConfig, type ServerConfig, type ServerConfigInput } from "../Config/ServerConfig.ts"
import { loadServerConfig } from "../Config/ServerConfigFromEnv.ts"
import { errorResponse } from "../Wire/ErrorResponse.ts"
import type { HTTPServerRequest } from "../Request/HTTPServerRequest.ts"
import type { Response } from "../Response/Response.ts"
import { makeUpgrades, type WebSocketOptions } from "./EffectHttpUpgrade.ts"
import { type Handler, HTTPServer, type ListenError, listenWith, refuseProcesses, type ServerAddress } from "../Server/HTTPServer.ts"
import { layerClient, testServerConfig } from "../Server/TestLayer.ts"
import { makeHandler } from "./EffectHttpHandler.ts"

export {
  /**
   * A failure reading the request body, as `effect/http` sees it (see
   * `EffectServerRequest.ts`).
   *
   * @since 0.1.0
   * @category errors
   */
  BodyReadError
} from "./EffectServerRequest.ts"

export {
  /**
   * Turns an `effect/http` app into a {@link Handler} for `HTTPServer.listen`
   * (see `EffectHttpHandler.ts`).
   *
   * @since 0.1.0
   * @category handlers
   */
  makeHandler
} from "./EffectHttpHandler.ts"

/**
 * Options of the adapter beyond the engine's config.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Options of the `ws` `WebSocketServer` that completes WebSocket upgrades
   * (as `NodeHttpServer`'s `websocket` option), minus the wiring the adapter
   * does itself: for example `{ perMessageDeflate: true }` or `maxPayload`.
   */
  readonly websocket?: WebSocketOptions | undefined
}

const notServing: Response = errorResponse(503, "no app is being served")

const socketAddressOf = (address: ServerAddress): Effect.Effect<NetAddress.SocketAddress> =>
  address._tag === "UnixAddress"
    ? Effect.succeed(NetAddress.unixPathAddress(address.path))
    : Effect.orDie(Effect.fromResult(NetAddress.inetAddressFromIpString(address.hostname, address.port)))

/**
 * What the adapter's layers provide beside the {@link HttpServices}: the
 * `effect/http` `HttpServer`, and our `HTTPServer` (the same server's
 * controls: address, connection count, `reloadTls`, `stop`, the `draining`
 * signal), which routes reach with `yield* HTTPServer.HTTPServer`.
 *
 * @since 0.1.0
 * @category models
 */
export type Servers = HttpServer.HttpServer | HTTPServer

/**
 * {@link make}, with our `HTTPServer` service of the same server beside the
 * `effect/http` one (what the layers provide).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeServers = (
  config: ServerConfig,
  options?: Options
): Effect.Effect<Context.Context<Servers>, ListenError, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const serverScope = yield* Scope.fork(scope, "sequential")
    let current: Handler<unknown> | undefined = undefined
    const dispatch = (request: HTTPServerRequest): Effect.Effect<Response, unknown> =>
      current === undefined ? Effect.succeed(notServing) : current(request)
    // A client that goes away mid-request is reported as effect/http expects
    // (499 in HttpMiddleware.logger), not as a failure. Spans are made by
    // effect/http (HttpEffect.toHandled), as on NodeHttpServer: not twice.
    const running = yield* Scope.provide(
      listenWith(dispatch, config, {
        clientAbortAnnotations: ClientAbort.annotation,
        tracing: false,
        handlersStartUninterruptible: true
      }),
      serverScope
    )
    const address = yield* socketAddressOf(running.address)
    const upgrades = yield* makeUpgrades(options?.websocket, running.draining)

    const httpServer = HttpServer.make({
      address,
      serve: (httpEffect, middleware) =>
        Effect.gen(function*() {
          const serveScope = yield* Effect.scope
          const handler = yield* makeHandler(httpEffect, { middleware, upgrades })
          current = handler
          yield* Scope.addFinalizer(
            serveScope,
            Effect.ensuring(
              Scope.close(serverScope, Exit.void),
              Effect.sync(() => {
                if (current === handler) current = undefined
              })
            )
          )
        })
    })
    return Context.make(HttpServer.HttpServer, httpServer).pipe(Context.add(HTTPServer, running))
  })

/**
 * An `effect/http` `HttpServer` on our engine: listens at once (so the
 * address is known, port `0` resolved); `serve` registers the app. Until an
 * app is served, requests are answered with 503.
 *
 * When the Scope of `serve` closes (the serving layer is released), the
 * server shuts down gracefully, with the app's services still there: it
 * stops accepting, closes idle connections, lets requests in flight finish
 * within `shutdownTimeout`, then closes the rest. The Scope of `make` closing
 * does the same, if `serve`'s did not.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  config: ServerConfig,
  options?: Options
): Effect.Effect<HttpServer.HttpServer["Service"], ListenError, Scope.Scope> =>
  Effect.map(makeServers(config, options), Context.get(HttpServer.HttpServer))

/**
 * The `effect/http` `HttpServer` on our engine, and our `HTTPServer` service
 * of the same server (see {@link Servers}), from a config (decoded and
 * checked first: a bad field, or `processes` other than 1, fails the layer
 * with `ConfigError`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServer = (
  config?: ServerConfigInput,
  options?: Options
): Layer.Layer<Servers, ConfigError | ListenError> =>
  Layer.effectContext(
    decodeServerConfig(config ?? {}).pipe(
      Effect.flatMap(refuseProcesses),
      Effect.flatMap((decoded) => makeServers(decoded, options))
    )
  )

/**
 * What {@link layerHttpServices} provides.
 *
 * @since 0.1.0
 * @category models
 */
export type HttpServices = HttpPlatform.HttpPlatform | Etag.Generator | FileSystem.FileSystem | Path.Path

/**
 * The services an `effect/http` app commonly needs beside the server:
 * `HttpPlatform` (file responses, compression), `Etag.Generator`,
 * `FileSystem` and `Path` (also what `multipart` persists files with), from
 * `@effect/platform-node`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHttpServices: Layer.Layer<HttpServices> = Layer.mergeAll(NodeHttpPlatform.layer, Etag.layerWeak, NodeFileSystem.layer, NodePath.layer)

/**
 * {@link layerServer} and {@link layerHttpServices}: what `HttpRouter.serve`
 * / `HttpServer.serve` need to run an app on our engine.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  config?: ServerConfigInput,
  options?: Options
): Layer.Layer<Servers | HttpServices, ConfigError | ListenError> =>
  Layer.merge(layerServer(config, options), layerHttpServices)

/**
 * {@link layer} with its options from the environment (`HTTP_PORT`,
 * `HTTP_MAX_BODY_SIZE`, ...: see `ServerConfigFromEnv`) over `defaults`, read
 * through Effect's `Config` and the current `ConfigProvider`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  defaults?: ServerConfigInput,
  options?: Options
): Layer.Layer<Servers | HttpServices, ConfigError | ListenError> =>
  Layer.merge(
    Layer.effectContext(
      loadServerConfig(defaults).pipe(
        Effect.flatMap(refuseProcesses),
        Effect.flatMap((config) => makeServers(config, options))
      )
    ),
    layerHttpServices
  )

/**
 * {@link layer} for a test, with an `effect/http` `HttpClient` whose relative
 * URLs go to the server (as `NodeHttpServer.layerTest`): 127.0.0.1, a free
 * port, a 2 s `shutdownTimeout`, overridden by `config`. When the layer's
 * scope closes, the port is free and no socket or timer is left.
 *
 * @since 0.1.0
 * @category testing
 */
export const layerTest = (
  config?: ServerConfigInput,
  options?: Options
): Layer.Layer<Servers | HttpServices | HttpClient.HttpClient, ConfigError | ListenError> => {
  const scheme = config?.ssl === undefined ? "http" : "https"
  const client = Layer.unwrap(
    Effect.map(Effect.service(HttpServer.HttpServer), (server) =>
      layerClient(HttpServer.formatAddress(server.address).replace(/^http:/, `${scheme}:`)))
  )
  return Layer.provideMerge(client, layer(testServerConfig(config), options))
}
