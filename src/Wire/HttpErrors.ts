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
import type { InvalidReasonPhrase } from "../Response/Response.ts"

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
 * The request line passed `maxRequestLineSize` before its method ended: a
 * method longer than any the server implements. Answered with
 * `501 Not Implemented` (RFC 9112 section 3), then close.
 *
 * @since 0.1.0
 * @category errors
 */
export class MethodTooLong extends Data.TaggedError("MethodTooLong")<{
  /** The request-line limit in force, in bytes. */
  readonly limit: number
}> {
  override get message() {
    return `request method longer than the request-line limit (${this.limit} bytes)`
  }
}

/**
 * The request line passed `maxRequestLineSize` in its request-target: a
 * target longer than the server is willing to parse. Answered with
 * `414 URI Too Long` (RFC 9112 section 3, RFC 9110 section 15.5.15), then
 * close.
 *
 * @since 0.1.0
 * @category errors
 */
export class TargetTooLong extends Data.TaggedError("TargetTooLong")<{
  /** The request-line limit in force, in bytes. */
  readonly limit: number
}> {
  override get message() {
    return `request-target longer than the request-line limit (${this.limit} bytes)`
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
 * A header a handler set that cannot be sent: a name that is not a token, or
 * a value with CR, LF, NUL or a character beyond Latin-1. Sending it could
 * split the response; the server answers 500 instead (and logs it).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidResponseHeader extends Data.TaggedError("InvalidResponseHeader")<{
  readonly headerName: string
}> {
  override get message() {
    return `invalid response header: ${JSON.stringify(this.headerName)}`
  }
}

/**
 * A handler answered with a status that cannot be a final response: not an
 * integer from 200 to 599 (1xx are interim responses, RFC 9110 section
 * 15.2; 101 would need the connection handed over). Answered with 500
 * (and logged).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidResponseStatus extends Data.TaggedError("InvalidResponseStatus")<{
  readonly status: unknown
}> {
  override get message() {
    return `invalid final response status: ${String(this.status)}`
  }
}

/**
 * A handler succeeded with something that is not a `Response` (`undefined`,
 * a plain object, ...). Answered with 500 (and logged).
 *
 * @since 0.1.0
 * @category errors
 */
export class NotAResponse extends Data.TaggedError("NotAResponse")<{
  /** What the handler gave instead, described for the log. */
  readonly value: string
}> {
  override get message() {
    return `the handler succeeded with ${this.value}, not a Response`
  }
}

/**
 * A streamed response whose body did not match the `Content-Length` it
 * declared: longer (the surplus is cut, so that it cannot be read as the
 * next response) or shorter (the client would wait for the rest, or read the
 * next response as part of this body). Either way the head is out, so the
 * only answer is to close the connection after the body; it is logged as
 * the handler's mistake.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResponseLengthMismatch extends Data.TaggedError("ResponseLengthMismatch")<{
  readonly declared: number
  /** The bytes the handler's stream gave. */
  readonly offered: number
}> {
  override get message() {
    return `the response body gave ${this.offered} bytes where its Content-Length declared ${this.declared}`
  }
}

/**
 * Any error of the engine: what reading a request can fail with, and what
 * sending a handler's response can.
 *
 * @since 0.1.0
 * @category errors
 */
export type HttpError =
  | HeaderTooLarge
  | MethodTooLong
  | TargetTooLong
  | BodyTooLarge
  | HeaderTimeout
  | BodyTimeout
  | MalformedRequest
  | VersionNotSupported
  | UnsupportedTransferEncoding
  | UnsupportedContentEncoding
  | InvalidBody
  | ConnectionClosed
  | InvalidResponseHeader
  | InvalidResponseStatus
  | InvalidReasonPhrase
  | NotAResponse
  | ResponseLengthMismatch

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

/**
 * How the server answers a failure: with a status (none: nobody is left to
 * answer), keeping the connection or not.
 *
 * @since 0.1.0
 * @category models
 */
export interface Answer {
  readonly status: number | undefined
  readonly keepsConnection: boolean
}

/**
 * The one table from error to answer. Only an unsupported `Content-Encoding`
 * and an invalid body leave the framing intact (the body was read whole);
 * every other request error leaves the byte stream in a state nothing after
 * it can be trusted from. A response that cannot be sent is the server's
 * fault: 500 (logged); one that fails while being serialized closes the
 * connection, one that is not a response at all does not (nothing was sent).
 * The compiler holds the table to the union: a tag missing or extra is an
 * error.
 */
const answers = {
  HeaderTooLarge: { status: 431, keepsConnection: false },
  MethodTooLong: { status: 501, keepsConnection: false },
  TargetTooLong: { status: 414, keepsConnection: false },
  BodyTooLarge: { status: 413, keepsConnection: false },
  HeaderTimeout: { status: 408, keepsConnection: false },
  BodyTimeout: { status: 408, keepsConnection: false },
  MalformedRequest: { status: 400, keepsConnection: false },
  VersionNotSupported: { status: 505, keepsConnection: false },
  UnsupportedTransferEncoding: { status: 501, keepsConnection: false },
  UnsupportedContentEncoding: { status: 400, keepsConnection: true },
  InvalidBody: { status: 400, keepsConnection: true },
  ConnectionClosed: { status: undefined, keepsConnection: false },
  InvalidResponseHeader: { status: 500, keepsConnection: false },
  InvalidResponseStatus: { status: 500, keepsConnection: false },
  InvalidReasonPhrase: { status: 500, keepsConnection: false },
  NotAResponse: { status: 500, keepsConnection: true },
  ResponseLengthMismatch: { status: 500, keepsConnection: false }
} as const satisfies { readonly [Tag in HttpError["_tag"]]: Answer }

const httpErrorTags: ReadonlySet<string> = new Set(Object.keys(answers))

/**
 * @since 0.1.0
 * @category guards
 */
export const isHttpError = (u: unknown): u is HttpError =>
  typeof u === "object" && u !== null && "_tag" in u && httpErrorTags.has((u as { _tag: string })._tag)

/**
 * The status an error is answered with (from the one table).
 * `ConnectionClosed` has none: there is nobody left to answer.
 *
 * @since 0.1.0
 * @category mapping
 */
export const statusOf = (error: HttpError): number | undefined => answers[error._tag].status

/**
 * Whether the connection may serve another request after answering this
 * error (from the one table).
 *
 * @since 0.1.0
 * @category mapping
 */
export const keepsConnection = (error: HttpError): boolean => answers[error._tag].keepsConnection

/** Anything else a handler fails with, or dies of: 500, logged; nothing was sent, so the connection goes on. */
const unexpected: Answer = { status: 500, keepsConnection: true }

/**
 * How any failure is answered: the table's answer for the engine's errors,
 * 500 (keeping the connection) for anything else.
 *
 * @since 0.1.0
 * @category mapping
 */
export const answerOf = (failure: unknown): Answer => isHttpError(failure) ? answers[failure._tag] : unexpected
