/**
 * The request a handler receives: Tornado's `HTTPServerRequest`, with the
 * body read through Effects that fail with the engine's typed errors.
 *
 * Everything derived from the head (headers, cookies, query arguments) is
 * computed on first use: a handler that only looks at `path` pays for
 * nothing else.
 *
 * @since 0.1.0
 */
import { Duration, Effect, type Scope, Stream } from "effect"
import type { RequestHead } from "../Wire/HeadParser.ts"
import { type BodyError, InvalidBody, UnsupportedContentEncoding } from "../Wire/HttpErrors.ts"
import type { ConnectionInfo } from "./ConnectionInfo.ts"
import { RequestBody } from "./RequestBody.ts"
import { DetachError, type DetachedSocket, type DetachOptions } from "./Detach.ts"
import { parseBodyArguments } from "./BodyArguments.ts"
import { parseContentType } from "./HeaderParameters.ts"
import type { HTTPFile } from "./Multipart.ts"
import { parseCookies } from "./Cookies.ts"
import { HTTPHeaders } from "./HTTPHeaders.ts"
import { parseQueryArguments } from "./QueryArguments.ts"
import { applyForwarded } from "./Forwarded.ts"
import { applyXHeaders } from "./XHeaders.ts"

export type {
  /**
   * The ends of a request's connection (`request.connection`).
   *
   * @since 0.1.0
   * @category models
   */
  ConnectionInfo,
  /**
   * One end of a connection.
   *
   * @since 0.1.0
   * @category models
   */
  Endpoint
} from "./ConnectionInfo.ts"

/**
 * Arguments by name, each with every value received, in order.
 *
 * @since 0.1.0
 * @category models
 */
export type Arguments = Readonly<Record<string, ReadonlyArray<string>>>

/**
 * Uploaded files by field name.
 *
 * @since 0.1.0
 * @category models
 */
export type Files = Readonly<Record<string, ReadonlyArray<HTTPFile>>>

/**
 * What the connection knows that the head does not say.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestContext {
  /** The peer's address (`0.0.0.0` on a Unix socket, as Tornado); behind a PROXY header, its source. */
  readonly remoteIp: string
  /** Both ends of the connection, as sent and as seen. */
  readonly connection: ConnectionInfo
  /** `https` on a TLS socket, else `http`, unless the server overrides it. */
  readonly protocol: string
  /** Trust `X-Real-Ip` / `X-Forwarded-For` / `X-Scheme` / `X-Forwarded-Proto`. */
  readonly xheaders: boolean
  /** Trust the RFC 7239 `Forwarded` header (it wins over the X- headers when both are on). */
  readonly forwarded: boolean
  readonly isTrustedDownstream: (ip: string) => boolean
  /** Content codings the server decodes as the body streams in. */
  readonly decodedContentEncoding: ((coding: string) => boolean) | undefined
  /** Lets go of the connection for `request` (see `Detach.ts`). */
  readonly detach: (request: HTTPServerRequest, options: DetachOptions | undefined) => DetachedSocket | DetachError
}

/** The client as the socket, or a trusted proxy, says. */
interface Peer {
  readonly remoteIp: string
  readonly protocol: string
  /** A host a trusted `Forwarded` header gave. */
  readonly host: string | undefined
}

interface ParsedBody {
  readonly arguments: Arguments
  readonly files: Files
}

const emptyArguments: Arguments = Object.freeze(Object.create(null))

/**
 * @since 0.1.0
 * @category models
 */
export class HTTPServerRequest {
  /** The request method, as sent (`GET`, `POST`, ...). */
  readonly method: string
  /** The request-target as sent: path and query (or an absolute URI). */
  readonly uri: string
  /** `HTTP/1.0`, `HTTP/1.1`, or `HTTP/2.0` for a request on an HTTP/2 stream. */
  readonly version: "HTTP/1.0" | "HTTP/1.1" | "HTTP/2.0"
  /** The path part of {@link uri}. */
  readonly path: string
  /** The query part of {@link uri}, without `?`; empty when none. */
  readonly query: string
  /** The Host the client asked for (`127.0.0.1` when none). */
  readonly host: string
  /** The target in origin form (path and query), also for an absolute-form {@link uri}. */
  private readonly originTarget: string
  /** When the head was received, from `performance.now()` at the time. */
  private readonly startedAt: number
  private finishedAt: number | undefined = undefined

  private readonly head: RequestHead
  /** @internal */
  bodyReader: RequestBody
  private readonly context: RequestContext
  private headersCache: HTTPHeaders | undefined = undefined
  private cookiesCache: Readonly<Record<string, string>> | undefined = undefined
  private queryArgumentsCache: Arguments | undefined = undefined
  private parsedBodyCache: ParsedBody | undefined = undefined
  private peer: Peer | undefined = undefined
  private over = false
  private onOver: (() => void) | undefined = undefined

  constructor(head: RequestHead, body: RequestBody, context: RequestContext, startedAt: number = performance.now()) {
    this.head = head
    this.bodyReader = body
    this.context = context
    this.method = head.method
    this.uri = head.target
    this.version = head.version
    this.startedAt = startedAt

    let target = head.target
    let host = head.host
    // Absolute-form (RFC 9112 section 3.2.2): the target's authority is the host.
    if (target.charCodeAt(0) !== 0x2f && target !== "*") {
      const schemeEnd = target.indexOf("://")
      if (schemeEnd !== -1) {
        const pathStart = target.indexOf("/", schemeEnd + 3)
        const queryStart = target.indexOf("?", schemeEnd + 3)
        const authorityEnd = pathStart !== -1 ? pathStart : queryStart !== -1 ? queryStart : target.length
        host = target.slice(schemeEnd + 3, authorityEnd)
        target = pathStart !== -1 ? target.slice(pathStart) : "/" + target.slice(authorityEnd)
      }
    }
    this.originTarget = target
    const q = target.indexOf("?")
    this.path = q === -1 ? target : target.slice(0, q)
    this.query = q === -1 ? "" : target.slice(q + 1)
    this.host = host !== undefined && host.length > 0 ? host : "127.0.0.1"
    // Opt-in: only then are the headers read at once, for `host=`.
    if (context.forwarded) {
      const forwardedHost = this.resolvePeer().host
      if (forwardedHost !== undefined) this.host = forwardedHost
    }
  }

  /** The client's address, after `Forwarded` or xheaders when trusted. */
  get remoteIp(): string {
    return this.resolvePeer().remoteIp
  }

  /**
   * The connection's two ends, as a PROXY protocol header sent them and as
   * the socket sees them, and that header with its TLVs (see
   * `ConnectionInfo.ts`). {@link remoteIp} is `connection.peer.address`
   * unless `Forwarded` or xheaders say otherwise.
   */
  get connection(): ConnectionInfo {
    return this.context.connection
  }

  /** `http` or `https`, after `Forwarded` or xheaders when trusted. */
  get protocol(): string {
    return this.resolvePeer().protocol
  }

  /** Who the client is, worked out on first use (asking the socket is a system call). */
  private resolvePeer(): Peer {
    if (this.peer === undefined) {
      const context = this.context
      if (!context.forwarded && !context.xheaders) {
        this.peer = { remoteIp: context.remoteIp, protocol: context.protocol, host: undefined }
        return this.peer
      }
      const socket = { remoteIp: context.remoteIp, protocol: context.protocol === "https" ? "https" : "http" } as const
      const forwarded = context.forwarded
        ? applyForwarded(socket, this.headers, context.isTrustedDownstream)
        : undefined
      this.peer = forwarded ?? (context.xheaders
        ? { ...applyXHeaders(socket, this.headers, context.isTrustedDownstream), host: undefined }
        : { remoteIp: context.remoteIp, protocol: context.protocol, host: undefined })
    }
    return this.peer
  }

  /** The header fields, in the order received (names as sent, values Latin-1). */
  get headers(): HTTPHeaders {
    if (this.headersCache === undefined) {
      const headers = HTTPHeaders.fromRaw(this.head.rawHeaders)
      // A body the server decompresses is no longer in that coding.
      const coding = headers.get("Content-Encoding")
      const decoded = coding !== undefined && this.context.decodedContentEncoding?.(coding.trim().toLowerCase())
      this.headersCache = decoded ? headers.without("Content-Encoding") : headers
    }
    return this.headersCache
  }

  /** The host name of {@link host}, lower-cased, without the port. */
  get hostName(): string {
    const host = this.host.toLowerCase()
    if (host.startsWith("[")) {
      const close = host.indexOf("]")
      return close === -1 ? host : host.slice(0, close + 1)
    }
    const colon = host.lastIndexOf(":")
    return colon === -1 ? host : host.slice(0, colon)
  }

  /** The cookies sent in `Cookie` header fields. */
  get cookies(): Readonly<Record<string, string>> {
    if (this.cookiesCache === undefined) {
      const header = this.headers.getAll("Cookie")
      this.cookiesCache = header.length === 0 ? Object.freeze({}) : parseCookies(header.join("; "))
    }
    return this.cookiesCache
  }

  /** The arguments of the query string. */
  get queryArguments(): Arguments {
    if (this.queryArgumentsCache === undefined) {
      this.queryArgumentsCache = this.query.length === 0 ? emptyArguments : parseQueryArguments(this.query)
    }
    return this.queryArgumentsCache
  }

  /** Whether the client asked for `100 Continue` before sending the body. */
  get expectsContinue(): boolean {
    return this.head.expectContinue
  }

  /**
   * The protocols the client asks to switch to (the `Upgrade` field of an
   * HTTP/1.1 request whose `Connection` lists `upgrade`), if any. A handler
   * that does not {@link detach} answers such a request normally, and the
   * connection closes after that response.
   */
  get upgrade(): string | undefined {
    return this.head.upgrade
  }

  /**
   * Takes the raw connection away from HTTP, as a resource of the Scope
   * (Tornado's `HTTP1Connection.detach()`): for a handler that answers an
   * upgrade with `101 Switching Protocols`, or a `CONNECT` with a 2xx. The
   * bytes the client sent past the request come first on the socket; the
   * server writes no HTTP response into it afterwards (what the handler
   * returns is not sent); closing the Scope closes the connection. See
   * `Detach.ts`.
   */
  detach(options?: DetachOptions): Effect.Effect<DetachedSocket, DetachError, Scope.Scope> {
    return Effect.acquireRelease(
      Effect.suspend(() => {
        const detached = this.context.detach(this, options)
        return detached instanceof DetachError ? Effect.fail(detached) : Effect.succeed(detached)
      }),
      (socket) => Effect.sync(() => socket.closeGracefully())
    )
  }

  /**
   * The full URL: protocol, host, path and query. For an absolute-form
   * target (`GET http://proxy.example/p?q=2`) the target's own authority is
   * the host, and it is not repeated.
   */
  fullUrl(): string {
    return `${this.protocol}://${this.host}${this.originTarget}`
  }

  /** Seconds the request has taken so far, or took once answered. */
  requestTime(): number {
    return ((this.finishedAt ?? performance.now()) - this.startedAt) / 1000
  }

  /** When the request arrived, as a JavaScript `Date`. */
  get startTime(): Date {
    return new Date(performance.timeOrigin + this.startedAt)
  }

  /** @internal The response is out, at `now` (`performance.now()` or the engine's reading of it). */
  markFinished(now: number = performance.now()): void {
    this.finishedAt ??= now
  }

  /**
   * @internal The engine: the exchange is over, its response all written or
   * never to be (the connection closed first, the response could not be
   * sent); what {@link whenOver} registered runs now, and a body read lent
   * goes back to the pool, unless a write in progress still reads its
   * memory (`lentStillWritten`: the engine knows, `RequestBody.lentMemory`).
   */
  markOver(lentStillWritten = false): void {
    if (this.over) return
    this.over = true
    this.bodyReader.takeBackLent(lentStillWritten)
    const waiting = this.onOver
    this.onOver = undefined
    waiting?.()
  }

  /**
   * @internal Runs `f` once the exchange is over, at once if it is: a
   * handler lets go then of what it holds for a response body the engine
   * may never run (the `effect/http` adapter's streamed bodies). One `f`.
   */
  whenOver(f: () => void): void {
    if (this.over) f()
    else this.onOver = f
  }

  /** The body size limit in force for this request, in bytes. */
  get maxBodySize(): number {
    return this.bodyReader.limits.maxBodySize
  }

  /**
   * Raises or lowers the body size limit for this request only; effective
   * when called before the body is read (Tornado's `set_max_body_size`).
   */
  setMaxBodySize(bytes: number): Effect.Effect<void> {
    return Effect.sync(() => {
      this.ownBody().changeLimits({ maxBodySize: bytes })
    })
  }

  /**
   * Sets the time the whole body may take to arrive, for this request only;
   * effective when called before the body is read (Tornado's
   * `set_body_timeout`).
   */
  setBodyTimeout(timeout: Duration.Input): Effect.Effect<void> {
    return Effect.sync(() => {
      this.ownBody().changeLimits({ bodyTimeoutMillis: Duration.toMillis(Duration.fromInputUnsafe(timeout)) })
    })
  }

  /** The body, made this request's own if it was the shared one of bodiless requests (its limits are to change). */
  private ownBody(): RequestBody {
    const body = this.bodyReader
    if (!body.shared) return body
    return this.bodyReader = new RequestBody(body.framing, body.limits, body.host)
  }

  /** The whole body, in memory (bounded by `maxBufferSize`). */
  get body(): Effect.Effect<Uint8Array, BodyError> {
    return this.bodyReader.all
  }

  /** The body as a stream of pieces of at most `chunkSize` bytes, not buffered. */
  get stream(): Stream.Stream<Uint8Array, BodyError> {
    return this.bodyReader.stream
  }

  /**
   * The whole body, as {@link body}, but lent, not given: a body of more than
   * 4 KiB sits in memory the server takes back and reuses once this request
   * is over (its response sent). Use it while answering; a view of it kept
   * past that reads as empty (its memory is detached), never as another
   * request's bytes. It spares a large upload its own allocation, which V8
   * pays for with full collections.
   */
  get lentBody(): Effect.Effect<Uint8Array, BodyError> {
    return this.bodyReader.lent
  }

  /** The whole body decoded as UTF-8 (read lent: only the string is kept). */
  get text(): Effect.Effect<string, BodyError> {
    return Effect.map(this.bodyReader.lent, (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"))
  }

  /** The whole body parsed as JSON. */
  get json(): Effect.Effect<unknown, BodyError | InvalidBody> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: () => new InvalidBody({ reason: "body is not valid JSON" })
      }))
  }

  private get parsedBody(): Effect.Effect<ParsedBody, BodyError> {
    if (this.parsedBodyCache !== undefined) return Effect.succeed(this.parsedBodyCache)
    return Effect.flatMap(this.bodyReader.all, (bytes) => {
      if (this.parsedBodyCache !== undefined) return Effect.succeed(this.parsedBodyCache)
      const contentType = this.headers.get("Content-Type")
      // A form body still in a content coding cannot be parsed (Tornado's
      // parse_body_arguments refuses it too); the body was read whole. Other
      // media types have no arguments to parse, whatever their coding.
      const coding = this.headers.get("Content-Encoding")
      if (coding !== undefined && coding.trim().toLowerCase() !== "identity" && contentType !== undefined) {
        const mediaType = parseContentType(contentType).mediaType
        if (mediaType === "application/x-www-form-urlencoded" || mediaType === "multipart/form-data") {
          return Effect.fail(new UnsupportedContentEncoding({ contentEncoding: coding }))
        }
      }
      const parsed = parseBodyArguments(contentType, bytes)
      this.parsedBodyCache = { arguments: parsed.arguments, files: parsed.files }
      return Effect.succeed(this.parsedBodyCache)
    })
  }

  /** Arguments of a form body (urlencoded or multipart). */
  get bodyArguments(): Effect.Effect<Arguments, BodyError> {
    return Effect.map(this.parsedBody, (parsed) => parsed.arguments)
  }

  /** Query arguments then body arguments, merged by name (query first). */
  get arguments(): Effect.Effect<Arguments, BodyError> {
    return Effect.map(this.parsedBody, (parsed) => {
      const query = this.queryArguments
      const merged: Record<string, Array<string>> = Object.create(null)
      for (const name in query) merged[name] = [...(query[name] as ReadonlyArray<string>)]
      for (const name in parsed.arguments) {
        const values = parsed.arguments[name] as ReadonlyArray<string>
        const existing = merged[name]
        if (existing === undefined) merged[name] = [...values]
        else existing.push(...values)
      }
      return merged
    })
  }

  /** Files uploaded in a multipart body, by field name. */
  get files(): Effect.Effect<Files, BodyError> {
    return Effect.map(this.parsedBody, (parsed) => parsed.files)
  }
}
