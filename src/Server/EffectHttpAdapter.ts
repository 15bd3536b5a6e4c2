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
import { Context, Effect, Exit, Fiber, Inspectable, Layer, Option, type Schema, Scope, Stream } from "effect"
import * as Cookies from "effect/http/Cookies"
import * as Etag from "effect/http/Etag"
import * as Headers from "effect/http/Headers"
import * as HttpEffect from "effect/http/HttpEffect"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import type * as HttpMiddleware from "effect/http/HttpMiddleware"
import type * as HttpPlatform from "effect/http/HttpPlatform"
import type * as HttpClient from "effect/http/HttpClient"
import * as HttpServer from "effect/http/HttpServer"
import { ClientAbort, HttpServerError, RequestParseError } from "effect/http/HttpServerError"
import * as Request from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Respondable from "effect/http/HttpServerRespondable"
import * as Multipart from "effect/http/Multipart"
import * as UrlParams from "effect/http/UrlParams"
import type * as FileSystem from "effect/FileSystem"
import type * as Path from "effect/Path"
import * as NetAddress from "effect/net/NetAddress"
import type * as Socket from "effect/socket/Socket"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpPlatform from "@effect/platform-node/NodeHttpPlatform"
import * as NodePath from "@effect/platform-node/NodePath"
import * as Ws from "ws"
import { type ConfigError, decodeServerConfig, type ServerConfig, type ServerConfigInput } from "../Config/ServerConfig.ts"
import { loadServerConfig } from "../Config/ServerConfigFromEnv.ts"
import { errorResponse } from "../Wire/ErrorResponse.ts"
import { type BodyError, statusOf } from "../Wire/HttpErrors.ts"
import type { HTTPServerRequest } from "../Request/HTTPServerRequest.ts"
import type { Response } from "../Response/Response.ts"
import { makeUpgrades, upgrade, type Upgrades, type WebSocketOptions } from "./EffectHttpUpgrade.ts"
import { type Handler, type ListenError, listenWith, refuseProcesses, type ServerAddress } from "./HTTPServer.ts"
import { toResponse } from "./EffectResponseConversion.ts"
import { layerClient, testServerConfig } from "./TestLayer.ts"

// -----------------------------------------------------------------------------
// requests
// -----------------------------------------------------------------------------

/**
 * What every view of one request shares (the request and the copies
 * `modify` makes): the response once the app has produced it, and the body
 * as an `ArrayBuffer` once read.
 */
interface Exchange {
  response: Response | undefined
  arrayBuffer: ArrayBuffer | undefined
  readonly upgrades: Upgrades
}

/**
 * A failure reading the request body, as `effect/http` sees it: a
 * `RequestParseError` with reason `BodyTooLarge` for the engine's
 * `BodyTooLarge`, `Parse` otherwise, the engine's error as its `cause`. Its
 * response follows the engine's table (`HttpErrors.statusOf`): 413, 408 for a
 * body timeout, 400 for a malformed body.
 *
 * @since 0.1.0
 * @category errors
 */
export class BodyReadError extends RequestParseError {
  override [Respondable.symbol]() {
    const status = statusOf(this.cause as BodyError) ?? 400
    return Effect.succeed(HttpServerResponse.empty({ status }))
  }
}

const bodyError = (request: Request.HttpServerRequest, error: BodyError): HttpServerError =>
  new HttpServerError({
    reason: new BodyReadError({
      request,
      reason: error._tag === "BodyTooLarge" ? "BodyTooLarge" : "Parse",
      description: error.message,
      cause: error
    })
  })

const parseError = (request: Request.HttpServerRequest, description: string, cause?: unknown): HttpServerError =>
  new HttpServerError({ reason: new RequestParseError({ request, description, cause }) })

const multipartError = (error: BodyError): Multipart.MultipartError => {
  switch (error._tag) {
    case "BodyTooLarge":
      return Multipart.MultipartError.fromReason("BodyTooLarge", error)
    case "MalformedRequest":
    case "UnsupportedContentEncoding":
      return Multipart.MultipartError.fromReason("Parse", error)
    case "BodyTimeout":
    case "ConnectionClosed":
      return Multipart.MultipartError.fromReason("InternalError", error)
  }
}

const textDecoder = new TextDecoder()
const EMPTY = new Uint8Array(0)

/** The bytes as an `ArrayBuffer` of their own (copied only when a view). */
const toArrayBuffer = (bytes: Uint8Array): ArrayBuffer =>
  bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : new Uint8Array(bytes).buffer

/** Whether a request-target is in absolute-form (`http://host/path`). */
const isAbsoluteForm = (target: string): boolean => target.charCodeAt(0) !== 0x2f && target.includes("://")

/** The path and query of the request, whatever form the target was in. */
const originFormOf = (source: HTTPServerRequest): string => {
  const target = source.uri
  if (!isAbsoluteForm(target)) return target
  return target.includes("?") ? `${source.path}?${source.query}` : source.path
}

/**
 * The header fields as `effect/http` `Headers`: names lower-cased; a field
 * sent several times joined with `", "` (`"; "` for `Cookie`). For an
 * absolute-form target, `host` is the target's authority (RFC 9112 section
 * 3.2.2).
 */
const headersOf = (source: HTTPServerRequest): Headers.Headers => {
  const record: Record<string, string> = Object.create(null)
  for (const [name, value] of source.headers) {
    const key = name.toLowerCase()
    const previous = record[key]
    record[key] = previous === undefined ? value : previous + (key === "cookie" ? "; " : ", ") + value
  }
  if (isAbsoluteForm(source.uri)) record["host"] = source.host
  return Headers.fromRecordUnsafe(record)
}

/**
 * An `effect/http` `HttpServerRequest` over the engine's request.
 */
class ServerRequest extends Inspectable.Class implements Request.HttpServerRequest {
  readonly [Request.TypeId]: typeof Request.TypeId = Request.TypeId
  readonly [HttpIncomingMessage.TypeId]: typeof HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly source: HTTPServerRequest
  readonly url: string
  readonly protocol: "http" | "https" | undefined
  /** @internal */
  readonly exchange: Exchange
  private headersCache: Headers.Headers | undefined
  private readonly remoteAddressOverride: Option.Option<string> | undefined
  private readonly peerAddressOverride: Option.Option<string> | undefined
  private cookiesCache: Readonly<Record<string, string>> | undefined = undefined
  private multipartCache:
    | Effect.Effect<Multipart.Persisted, Multipart.MultipartError, Scope.Scope | FileSystem.FileSystem | Path.Path>
    | undefined = undefined

  constructor(
    source: HTTPServerRequest,
    exchange: Exchange,
    url?: string,
    headers?: Headers.Headers,
    remoteAddress?: Option.Option<string>,
    peerAddress?: Option.Option<string>,
    protocol?: "http" | "https"
  ) {
    super()
    this.source = source
    this.exchange = exchange
    this.url = url ?? originFormOf(source)
    this.headersCache = headers
    this.remoteAddressOverride = remoteAddress
    this.peerAddressOverride = peerAddress
    this.protocol = protocol ?? (source.protocol === "https" ? "https" : "http")
  }

  get method(): string {
    const method = this.source.method
    return method === method.toUpperCase() ? method : method.toUpperCase()
  }

  /** The URL as the client asked for it: absolute, from `Host` and the scheme when the target was a path. */
  get originalUrl(): string {
    const target = this.source.uri
    if (isAbsoluteForm(target)) return target
    const host = this.source.headers.get("host")
    return host === undefined || host.length === 0 || target.charCodeAt(0) !== 0x2f
      ? target
      : `${this.source.protocol}://${host}${target}`
  }

  get headers(): Headers.Headers {
    return this.headersCache ??= headersOf(this.source)
  }

  get cookies(): Readonly<Record<string, string>> {
    return this.cookiesCache ??= Cookies.parseHeader(this.headers["cookie"] ?? "")
  }

  /** The client's address (after `X-Real-Ip` / `X-Forwarded-For` when the server trusts them). */
  get remoteAddress(): Option.Option<string> {
    return this.remoteAddressOverride ?? Option.some(this.source.remoteIp)
  }

  get peerAddress(): Option.Option<string> {
    return this.peerAddressOverride ?? this.remoteAddress
  }

  modify(options: {
    readonly url?: string | undefined
    readonly headers?: Headers.Headers | undefined
    readonly remoteAddress?: Option.Option<string> | undefined
    readonly peerAddress?: Option.Option<string> | undefined
    readonly protocol?: "http" | "https" | undefined
  }): Request.HttpServerRequest {
    return new ServerRequest(
      this.source,
      this.exchange,
      options.url ?? this.url,
      options.headers ?? this.headersCache,
      "remoteAddress" in options ? options.remoteAddress : this.remoteAddressOverride,
      options.peerAddress ?? this.peerAddressOverride,
      options.protocol ?? this.protocol
    )
  }

  // --- body -------------------------------------------------------------------

  /**
   * Reads the body under `HttpIncomingMessage.MaxBodySize` when it is set
   * below the limit in force (it may only lower it).
   */
  private limited<A, E>(read: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.withFiber((fiber) => {
      const max = fiber.getRef(HttpIncomingMessage.MaxBodySize)
      if (max === undefined || Number(max) >= this.source.maxBodySize) return read
      return Effect.andThen(this.source.setMaxBodySize(Number(max)), read)
    })
  }

  private get bodyStream(): Stream.Stream<Uint8Array, BodyError> {
    return Stream.unwrap(this.limited(Effect.succeed(this.source.stream)))
  }

  get stream(): Stream.Stream<Uint8Array, HttpServerError> {
    return Stream.mapError(this.bodyStream, (error) => bodyError(this, error))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpServerError> {
    return Effect.suspend(() => {
      const cached = this.exchange.arrayBuffer
      if (cached !== undefined) return Effect.succeed(cached)
      return Effect.mapEager(
        Effect.mapErrorEager(this.limited(this.source.body), (error) => bodyError(this, error)),
        (bytes) => (this.exchange.arrayBuffer = toArrayBuffer(bytes.byteLength === 0 ? EMPTY : bytes))
      )
    })
  }

  get text(): Effect.Effect<string, HttpServerError> {
    return Effect.mapEager(this.arrayBuffer, (buffer) => textDecoder.decode(buffer))
  }

  /** The body parsed as JSON; an empty body is `null`. */
  get json(): Effect.Effect<Schema.Json, HttpServerError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => (text === "" ? null : JSON.parse(text)) as Schema.Json,
        catch: (cause) => parseError(this, "the request body is not valid JSON", cause)
      }))
  }

  /** The body as `application/x-www-form-urlencoded` parameters. */
  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpServerError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        // URLSearchParams drops a leading "?" as if the body were a query
        // string; in a form body it is data.
        try: () => UrlParams.fromInput(new URLSearchParams(text.startsWith("?") ? `%3F${text.slice(1)}` : text)),
        catch: (cause) => parseError(this, "the request body is not form data", cause)
      }))
  }

  get multipartStream(): Stream.Stream<Multipart.Part, Multipart.MultipartError> {
    return Stream.suspend(() =>
      Stream.pipeThroughChannel(
        Stream.mapError(this.bodyStream, multipartError),
        Multipart.makeChannel(this.headers)
      )
    )
  }

  get multipart(): Effect.Effect<
    Multipart.Persisted,
    Multipart.MultipartError,
    Scope.Scope | FileSystem.FileSystem | Path.Path
  > {
    return this.multipartCache ??= Effect.runSync(Effect.cached(Multipart.toPersisted(this.multipartStream)))
  }

  // --- upgrades ---------------------------------------------------------------

  /** The connection as an effect `Socket` (WebSocket or another protocol): see `EffectHttpUpgrade.ts`. */
  get upgrade(): Effect.Effect<Socket.Socket, HttpServerError> {
    return this.upgradeWith({})
  }

  upgradeWith(options: { readonly headers?: Headers.Input | undefined }): Effect.Effect<Socket.Socket, HttpServerError> {
    return upgrade(this, this.source, this.exchange.upgrades, options.headers)
  }

  // --- inspection -------------------------------------------------------------

  override toString(): string {
    return `ServerRequest(${this.method} ${UrlParams.redactUrl(this.url)})`
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "HttpServerRequest",
      method: this.method,
      url: UrlParams.redactUrl(this.originalUrl)
    })
  }
}

// -----------------------------------------------------------------------------
// responses
// -----------------------------------------------------------------------------

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
 * The `handleResponse` of `HttpEffect.toHandled`: records the converted
 * response for the engine. A streamed body runs after the app's effect has
 * returned, in the engine's fiber: the request's Scope is handed over to it
 * (closed when the stream ends, fails or is interrupted), and it runs with
 * the request's context (services, logger, tracer).
 */
const recordResponse = (
  request: Request.HttpServerRequest,
  response: HttpServerResponse.HttpServerResponse
): Effect.Effect<void> => {
  if (!(request instanceof ServerRequest)) {
    return Effect.die(new Error("effect-httpserver: the request is not one of the adapter's"))
  }
  const exchange = request.exchange
  if (exchange.response !== undefined) return Effect.void
  const converted = convertedResponses.get(response)
  if (converted !== undefined) {
    exchange.response = converted
    return Effect.void
  }
  try {
    toResponse(response, request.method === "HEAD", (status, headers, body) => {
      const reason = response.statusText
      if ("_tag" in body) {
        const made: Response = { status, reason, headers, body }
        exchange.response = made
        if (isReusable(response)) {
          if (response === lastConverted) convertedResponses.set(response, made)
          lastConverted = response
        }
        return
      }
      let stream = body.stream
      const fiber = Fiber.getCurrent()
      if (fiber !== undefined) {
        const scope = Context.getOption(fiber.context, Scope.Scope)
        stream = Stream.provideContext(stream, fiber.context)
        if (scope._tag === "Some") {
          const closeable = scope.value as Scope.Closeable
          HttpEffect.scopeDisableClose(closeable)
          stream = Stream.onExit(stream, (exit) => Scope.close(closeable, exit))
        }
      }
      exchange.response = {
        status,
        reason,
        headers,
        body: { _tag: "Stream", stream, contentLength: body.contentLength }
      }
    })
  } catch (defect) {
    return Effect.die(defect)
  }
  return Effect.void
}

// -----------------------------------------------------------------------------
// handlers and the server
// -----------------------------------------------------------------------------

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
 * clientAbortAnnotations: ClientAbort.annotation }` (as {@link make} does)
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
    return (source: HTTPServerRequest): Effect.Effect<Response, unknown> => {
      const exchange: Exchange = { response: undefined, arrayBuffer: undefined, upgrades }
      const request = new ServerRequest(source, exchange)
      const requestContext = Context.add(context, Request.HttpServerRequest, request)
      const run = Effect.flatMap(Effect.exit(handled), (exit): Effect.Effect<Response, unknown> => {
        // A response recorded is a response sent, whatever came after it
        // (middleware failures are already reported by `toHandled`).
        const response = exchange.response
        if (response !== undefined) return Effect.succeed(response)
        if (Exit.isFailure(exit)) return Effect.failCause(exit.cause)
        return Effect.die(new Error("effect-httpserver: the app completed without a response"))
      })
      return Effect.updateContext(run, (_: Context.Context<never>) => requestContext)
    }
  })

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

let defaultWebSocketServer: Ws.WebSocketServer | undefined
const defaultUpgrades: Upgrades = { webSocketServer: () => defaultWebSocketServer ??= new Ws.WebSocketServer({ noServer: true }) }

const notServing: Response = errorResponse(503, "no app is being served")

const socketAddressOf = (address: ServerAddress): Effect.Effect<NetAddress.SocketAddress> =>
  address._tag === "UnixAddress"
    ? Effect.succeed(NetAddress.unixPathAddress(address.path))
    : Effect.orDie(Effect.fromResult(NetAddress.inetAddressFromIpString(address.hostname, address.port)))

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
    const upgrades = yield* makeUpgrades(options?.websocket)

    return HttpServer.make({
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
  })

/**
 * The `effect/http` `HttpServer` on our engine, from a config (decoded and
 * checked first: a bad field, or `processes` other than 1, fails the layer
 * with `ConfigError`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServer = (
  config?: ServerConfigInput,
  options?: Options
): Layer.Layer<HttpServer.HttpServer, ConfigError | ListenError> =>
  Layer.effect(HttpServer.HttpServer)(
    decodeServerConfig(config ?? {}).pipe(
      Effect.flatMap(refuseProcesses),
      Effect.flatMap((decoded) => make(decoded, options))
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
): Layer.Layer<HttpServer.HttpServer | HttpServices, ConfigError | ListenError> =>
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
): Layer.Layer<HttpServer.HttpServer | HttpServices, ConfigError | ListenError> =>
  Layer.merge(
    Layer.effect(HttpServer.HttpServer)(
      loadServerConfig(defaults).pipe(
        Effect.flatMap(refuseProcesses),
        Effect.flatMap((config) => make(config, options))
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
): Layer.Layer<
  | HttpServer.HttpServer
  | HttpPlatform.HttpPlatform
  | Etag.Generator
  | FileSystem.FileSystem
  | Path.Path
  | HttpClient.HttpClient,
  ConfigError | ListenError
> => {
  const scheme = config?.ssl === undefined ? "http" : "https"
  const client = Layer.unwrap(
    Effect.map(Effect.service(HttpServer.HttpServer), (server) =>
      layerClient(HttpServer.formatAddress(server.address).replace(/^http:/, `${scheme}:`)))
  )
  return Layer.provideMerge(client, layer(testServerConfig(config), options))
}
