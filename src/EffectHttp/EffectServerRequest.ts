/**
 * The `effect/http` `HttpServerRequest` the adapter hands an app: a view
 * over the engine's `HTTPServerRequest` (lower-cased `Headers`, cookies,
 * remote address), its body read through the engine, whose typed errors
 * become `HttpServerError`s with a `RequestParseError`.
 *
 * @since 0.1.0
 */
import { Effect, Inspectable, Option, type Schema, Scope, Stream } from "effect"
import * as Cookies from "effect/http/Cookies"
import * as Headers from "effect/http/Headers"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import { HttpServerError, RequestParseError } from "effect/http/HttpServerError"
import * as Request from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Respondable from "effect/http/HttpServerRespondable"
import * as Multipart from "effect/http/Multipart"
import * as UrlParams from "effect/http/UrlParams"
import type * as FileSystem from "effect/FileSystem"
import type * as Path from "effect/Path"
import type * as Socket from "effect/socket/Socket"
import { type BodyError, statusOf } from "../Wire/HttpErrors.ts"
import type { HTTPServerRequest } from "../Request/HTTPServerRequest.ts"
import type { Response } from "../Response/Response.ts"
import { upgrade, type Upgrades } from "./EffectHttpUpgrade.ts"

/**
 * What every view of one request shares (the request and the copies
 * `modify` makes): the response once the app has produced it (and who is
 * waiting for it), and the body as an `ArrayBuffer` once read.
 */
export interface Exchange {
  response: Response | undefined
  arrayBuffer: ArrayBuffer | undefined
  readonly upgrades: Upgrades
  /** Called once the response is recorded, for the engine to send it. */
  onRecorded: ((response: Response) => void) | undefined
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
export class ServerRequest extends Inspectable.Class implements Request.HttpServerRequest {
  readonly [Request.TypeId]: typeof Request.TypeId = Request.TypeId
  readonly [HttpIncomingMessage.TypeId]: typeof HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly source: HTTPServerRequest
  readonly url: string
  /** @internal */
  readonly exchange: Exchange
  private headersCache: Headers.Headers | undefined
  private readonly remoteAddressOverride: Option.Option<string> | undefined
  private readonly peerAddressOverride: Option.Option<string> | undefined
  private readonly protocolOverride: "http" | "https" | undefined
  private methodCache: string | undefined = undefined
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
    this.protocolOverride = protocol
  }

  // Read on first use, each at most once: a router reads `method` and `url`
  // only, and the scheme after `Forwarded` / xheaders costs the engine a
  // look at the peer.

  get method(): string {
    return this.methodCache ??= this.source.method.toUpperCase()
  }

  get protocol(): "http" | "https" {
    return this.protocolOverride ?? (this.source.protocol === "https" ? "https" : "http")
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
      options.protocol ?? this.protocolOverride
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

  /** A whole-body read under the app's `MaxBodySize`, its errors as `HttpServerError`s. */
  private readWhole(read: Effect.Effect<Uint8Array, BodyError>): Effect.Effect<Uint8Array, HttpServerError> {
    return Effect.mapErrorEager(this.limited(read), (error) => bodyError(this, error))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpServerError> {
    return Effect.suspend(() => {
      const cached = this.exchange.arrayBuffer
      if (cached !== undefined) return Effect.succeed(cached)
      return Effect.mapEager(
        this.readWhole(this.source.body),
        (bytes) => (this.exchange.arrayBuffer = toArrayBuffer(bytes.byteLength === 0 ? EMPTY : bytes))
      )
    })
  }

  /** The body decoded as UTF-8, read lent (`HTTPServerRequest.lentBody`): only the string is kept. */
  get text(): Effect.Effect<string, HttpServerError> {
    return Effect.suspend(() => {
      const cached = this.exchange.arrayBuffer
      if (cached !== undefined) return Effect.succeed(textDecoder.decode(cached))
      return Effect.mapEager(this.readWhole(this.source.lentBody), (bytes) => textDecoder.decode(bytes))
    })
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
