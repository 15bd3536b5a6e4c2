/**
 * What a handler answers: a status (and, if wanted, a reason phrase of its
 * own), header fields and a body.
 *
 * The framing fields (`Content-Length`, `Transfer-Encoding`, `Connection`)
 * belong to the server: it derives them from the body and the connection, and
 * ignores any a handler sets. `Date` is added unless the handler sets one.
 * The constructors throw {@link InvalidReasonPhrase} for a `reason` that
 * cannot be sent.
 *
 * @since 0.1.0
 */
import { Data, Stream } from "effect"

/**
 * Header fields of a response: a value, or several for a repeated field
 * (`Set-Cookie`).
 *
 * @since 0.1.0
 * @category models
 */
export type ResponseHeaders = Readonly<Record<string, string | ReadonlyArray<string>>>

/**
 * @since 0.1.0
 * @category models
 */
export type ResponseBody =
  | { readonly _tag: "Empty" }
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "Bytes"; readonly bytes: Uint8Array }
  | {
    readonly _tag: "Stream"
    readonly stream: Stream.Stream<Uint8Array, unknown>
    /** Sent as `Content-Length` when known; otherwise the body is chunked. */
    readonly contentLength: number | undefined
  }

/**
 * @since 0.1.0
 * @category models
 */
export interface Response {
  readonly status: number
  /**
   * The reason phrase of the status line (`201 Uploaded`); the standard one
   * for the status when absent. May be empty (RFC 9112 section 4).
   */
  readonly reason?: string | undefined
  readonly headers: ResponseHeaders
  readonly body: ResponseBody
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly status?: number | undefined
  /** A reason phrase of your own; see {@link Response.reason}. */
  readonly reason?: string | undefined
  readonly headers?: ResponseHeaders | undefined
}

/**
 * A reason phrase that cannot be sent: it holds CR, LF or another control
 * character (or a character beyond Latin-1). RFC 9112 section 4 allows only
 * `HTAB / SP / VCHAR / obs-text`; anything else could split the response.
 * The constructors throw it; a response that carries one anyway is answered
 * with 500 by the server.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidReasonPhrase extends Data.TaggedError("InvalidReasonPhrase")<{
  readonly reason: string
}> {
  override get message() {
    return `invalid reason phrase ${JSON.stringify(this.reason)}: ` +
      "only tab, space, visible ASCII and Latin-1 characters are allowed (no CR, LF or control characters)"
  }
}

const INVALID_REASON = /[^\t\x20-\x7e\x80-\xff]/

/**
 * Whether a reason phrase can be sent as it is (RFC 9112 section 4:
 * `reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )`, or empty).
 *
 * @since 0.1.0
 * @category validation
 */
export const isValidReasonPhrase = (reason: string): boolean => !INVALID_REASON.test(reason)

/**
 * The reason phrase, checked.
 *
 * @throws InvalidReasonPhrase
 * @since 0.1.0
 * @category validation
 */
export const checkReasonPhrase = (reason: string): string => {
  if (!isValidReasonPhrase(reason)) throw new InvalidReasonPhrase({ reason })
  return reason
}

/** The fields of a response the options give: a reason only when one is asked for. */
const head = (options: Options | undefined, status: number) =>
  options?.reason === undefined ? { status } : { status, reason: checkReasonPhrase(options.reason) }

/**
 * Whether a value has the shape of a {@link Response} (the server checks
 * what a handler succeeds with: a plain JavaScript caller, or a cast, can
 * hand it anything). The status, reason and header values are checked when
 * the response is serialized.
 *
 * @since 0.1.0
 * @category guards
 */
export const isResponse = (u: unknown): u is Response => {
  if (typeof u !== "object" || u === null) return false
  const { body, headers, reason, status } = u as {
    readonly status?: unknown
    readonly reason?: unknown
    readonly headers?: unknown
    readonly body?: unknown
  }
  return typeof status === "number" && (reason === undefined || typeof reason === "string") &&
    typeof headers === "object" && headers !== null && isBody(body)
}

const isBody = (u: unknown): u is ResponseBody => {
  if (typeof u !== "object" || u === null) return false
  const body = u as {
    readonly _tag?: unknown
    readonly text?: unknown
    readonly bytes?: unknown
    readonly stream?: unknown
    readonly contentLength?: unknown
  }
  switch (body._tag) {
    case "Empty":
      return true
    case "Text":
      return typeof body.text === "string"
    case "Bytes":
      return body.bytes instanceof Uint8Array
    case "Stream":
      return Stream.isStream(body.stream) &&
        (body.contentLength === undefined ||
          (typeof body.contentLength === "number" && Number.isSafeInteger(body.contentLength) &&
            body.contentLength >= 0))
    default:
      return false
  }
}

const noHeaders: ResponseHeaders = Object.freeze({})
const emptyBody: ResponseBody = Object.freeze({ _tag: "Empty" })

/**
 * The headers of a response given none but its content type: one frozen
 * object per constructor, so that the serializer sees the same headers again
 * and keeps their bytes (see `ResponseSerializer`).
 */
const TEXT_HEADERS: ResponseHeaders = Object.freeze({ "Content-Type": "text/plain; charset=utf-8" })
const JSON_HEADERS: ResponseHeaders = Object.freeze({ "Content-Type": "application/json; charset=utf-8" })
const BYTES_HEADERS: ResponseHeaders = Object.freeze({ "Content-Type": "application/octet-stream" })

const withContentType = (headers: ResponseHeaders | undefined, only: ResponseHeaders): ResponseHeaders => {
  if (headers === undefined) return only
  for (const name in headers) if (name.toLowerCase() === "content-type") return headers
  return { ...only, ...headers }
}

/**
 * A UTF-8 text body, `Content-Type: text/plain; charset=utf-8` unless the
 * headers name another.
 *
 * @since 0.1.0
 * @category constructors
 */
export const text = (body: string, options?: Options): Response => ({
  ...head(options, options?.status ?? 200),
  headers: withContentType(options?.headers, TEXT_HEADERS),
  body: { _tag: "Text", text: body }
})

/**
 * A JSON body, `Content-Type: application/json; charset=utf-8`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const json = (value: unknown, options?: Options): Response => ({
  ...head(options, options?.status ?? 200),
  headers: withContentType(options?.headers, JSON_HEADERS),
  body: { _tag: "Text", text: JSON.stringify(value) ?? "null" }
})

/**
 * A binary body, `Content-Type: application/octet-stream` unless the headers
 * name another.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bytes = (body: Uint8Array, options?: Options): Response => ({
  ...head(options, options?.status ?? 200),
  headers: withContentType(options?.headers, BYTES_HEADERS),
  body: { _tag: "Bytes", bytes: body }
})

/**
 * No body: `204` by default, or any status with `Content-Length: 0`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty = (options?: Options): Response => ({
  ...head(options, options?.status ?? 204),
  headers: options?.headers ?? noHeaders,
  body: emptyBody
})

/**
 * A body produced piece by piece. Sent with `Content-Length` when
 * `contentLength` is given, else with `Transfer-Encoding: chunked` (to an
 * HTTP/1.0 client: delimited by closing the connection).
 *
 * @since 0.1.0
 * @category constructors
 */
export const stream = (
  body: Stream.Stream<Uint8Array, unknown>,
  options?: Options & { readonly contentLength?: number | undefined; readonly contentType?: string | undefined }
): Response => ({
  ...head(options, options?.status ?? 200),
  headers: withContentType(
    options?.headers,
    options?.contentType === undefined ? BYTES_HEADERS : { "Content-Type": options.contentType }
  ),
  body: { _tag: "Stream", stream: body, contentLength: options?.contentLength }
})
