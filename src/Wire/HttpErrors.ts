/**
 * The typed errors of the HTTP/1.x engine.
 *
 * Every protocol or limit violation is one tagged error class. Reading a
 * request body (`body`, `text`, `json`, `arguments`, `files`, `stream`) fails
 * with exactly these, so a handler can `Effect.catchTag("BodyTooLarge", ...)`
 * and answer its own way. What a handler leaves uncaught, the server answers
 * with {@link statusOf} and, unless {@link keepsConnection} says otherwise,
 * closes the connection: after a framing or limit error, nothing that follows
 * on the socket can be trusted to start a new request.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * The request head (request line + header fields) passed `maxHeaderSize`.
 * Answered with `431 Request Header Fields Too Large`, then close.
 *
 * @since 0.1.0
 * @category errors
 */
export class HeaderTooLarge extends Data.TaggedError("HeaderTooLarge")<{
  /** The limit in force, in bytes. */
  readonly limit: number
}> {
  override get message() {
    return `request head larger than ${this.limit} bytes`
  }
}

/**
 * The request body is larger than the limit in force: `maxBodySize` (known
 * from `Content-Length`, or met while reading), or `maxBufferSize` when the
 * body was to be buffered in memory. Answered with `413 Content Too Large`,
 * then close.
 *
 * @since 0.1.0
 * @category errors
 */
export class BodyTooLarge extends Data.TaggedError("BodyTooLarge")<{
  /** The limit in force, in bytes. */
  readonly limit: number
  /** Which option set that limit. */
  readonly limitName: "maxBodySize" | "maxBufferSize"
  /** The declared `Content-Length`, when the body announced one. */
  readonly contentLength?: number | undefined
}> {
  override get message() {
    return `request body larger than ${this.limitName} (${this.limit} bytes)`
  }
}

/**
 * The whole request head did not arrive within `headerTimeout` of its first
 * byte. The connection closes (a `408` is sent first when nothing else was).
 *
 * @since 0.1.0
 * @category errors
 */
export class HeaderTimeout extends Data.TaggedError("HeaderTimeout")<{
  /** The timeout in force, in milliseconds. */
  readonly timeoutMillis: number
}> {
  override get message() {
    return `request head not received within ${this.timeoutMillis} ms`
  }
}

/**
 * The whole request body did not arrive within the body timeout. The
 * connection closes (a `408` is sent first when no response was started).
 *
 * @since 0.1.0
 * @category errors
 */
export class BodyTimeout extends Data.TaggedError("BodyTimeout")<{
  /** The timeout in force, in milliseconds. */
  readonly timeoutMillis: number
}> {
  override get message() {
    return `request body not received within ${this.timeoutMillis} ms`
  }
}

/**
 * The bytes on the wire are not a valid HTTP/1.x request (RFC 9112), or
 * their framing is ambiguous. Answered with `400 Bad Request`, then close.
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedRequest extends Data.TaggedError("MalformedRequest")<{
  /** What was wrong, for logs: never echoed to the client. */
  readonly reason: string
}> {
  override get message() {
    return `malformed request: ${this.reason}`
  }
}

/**
 * A well-formed request line whose version is neither `HTTP/1.0` nor
 * `HTTP/1.1`. Answered with `505 HTTP Version Not Supported`, then close.
 *
 * @since 0.1.0
 * @category errors
 */
export class VersionNotSupported extends Data.TaggedError("VersionNotSupported")<{
  readonly version: string
}> {
  override get message() {
    return `HTTP version not supported: ${this.version}`
  }
}

/**
 * A `Transfer-Encoding` other than a lone `chunked`. Answered with
 * `501 Not Implemented`, then close (RFC 9112 section 6.1).
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsupportedTransferEncoding extends Data.TaggedError("UnsupportedTransferEncoding")<{
  readonly transferEncoding: string
}> {
  override get message() {
    return `unsupported Transfer-Encoding: ${this.transferEncoding}`
  }
}

/**
 * A body with a `Content-Encoding` the server does not decode was to be
 * parsed into arguments. Answered with `400`; the body was read whole, so the
 * connection stays usable.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsupportedContentEncoding extends Data.TaggedError("UnsupportedContentEncoding")<{
  readonly contentEncoding: string
}> {
  override get message() {
    return `unsupported Content-Encoding: ${this.contentEncoding}`
  }
}

/**
 * The body was read whole but is not what the handler asked it to be (for
 * example `json` on a body that is not JSON). Answered with `400`; the
 * connection stays usable.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidBody extends Data.TaggedError("InvalidBody")<{
  readonly reason: string
}> {
  override get message() {
    return `invalid request body: ${this.reason}`
  }
}

/**
 * The client went away (or the connection was closed) before the body was
 * read whole. No response can be sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionClosed extends Data.TaggedError("ConnectionClosed")<{
  readonly reason: string
}> {
  override get message() {
    return `connection closed: ${this.reason}`
  }
}

/**
 * Any error of the engine: what reading a request body can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type HttpError =
  | HeaderTooLarge
  | BodyTooLarge
  | HeaderTimeout
  | BodyTimeout
  | MalformedRequest
  | VersionNotSupported
  | UnsupportedTransferEncoding
  | UnsupportedContentEncoding
  | InvalidBody
  | ConnectionClosed

/**
 * The errors reading a request body can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type BodyError =
  | BodyTooLarge
  | BodyTimeout
  | MalformedRequest
  | UnsupportedContentEncoding
  | ConnectionClosed

const httpErrorTags: ReadonlySet<string> = new Set<HttpError["_tag"]>([
  "HeaderTooLarge",
  "BodyTooLarge",
  "HeaderTimeout",
  "BodyTimeout",
  "MalformedRequest",
  "VersionNotSupported",
  "UnsupportedTransferEncoding",
  "UnsupportedContentEncoding",
  "InvalidBody",
  "ConnectionClosed"
])

/**
 * @since 0.1.0
 * @category guards
 */
export const isHttpError = (u: unknown): u is HttpError =>
  typeof u === "object" && u !== null && "_tag" in u && httpErrorTags.has((u as { _tag: string })._tag)

/**
 * The one table from error to response status. `ConnectionClosed` has none:
 * there is nobody left to answer.
 *
 * @since 0.1.0
 * @category mapping
 */
export const statusOf = (error: HttpError): number | undefined => {
  switch (error._tag) {
    case "HeaderTooLarge":
      return 431
    case "BodyTooLarge":
      return 413
    case "HeaderTimeout":
    case "BodyTimeout":
      return 408
    case "MalformedRequest":
      return 400
    case "VersionNotSupported":
      return 505
    case "UnsupportedTransferEncoding":
      return 501
    case "UnsupportedContentEncoding":
    case "InvalidBody":
      return 400
    case "ConnectionClosed":
      return undefined
  }
}

/**
 * Whether the connection may serve another request after answering this
 * error. Only an unsupported `Content-Encoding` and an invalid body leave the
 * framing intact (the body was read whole); every other error leaves the
 * byte stream in a state nothing after it can be trusted from.
 *
 * @since 0.1.0
 * @category mapping
 */
export const keepsConnection = (error: HttpError): boolean =>
  error._tag === "UnsupportedContentEncoding" || error._tag === "InvalidBody"
