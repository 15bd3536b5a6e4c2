/**
 * What a handler answers: a status, header fields and a body.
 *
 * The framing fields (`Content-Length`, `Transfer-Encoding`, `Connection`)
 * belong to the server: it derives them from the body and the connection, and
 * ignores any a handler sets. `Date` is added unless the handler sets one.
 *
 * @since 0.1.0
 */
import type { Stream } from "effect"

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
  readonly headers: ResponseHeaders
  readonly body: ResponseBody
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly status?: number | undefined
  readonly headers?: ResponseHeaders | undefined
}

const noHeaders: ResponseHeaders = Object.freeze({})
const emptyBody: ResponseBody = Object.freeze({ _tag: "Empty" })

const withContentType = (headers: ResponseHeaders | undefined, contentType: string): ResponseHeaders => {
  if (headers === undefined) return { "Content-Type": contentType }
  for (const name in headers) if (name.toLowerCase() === "content-type") return headers
  return { "Content-Type": contentType, ...headers }
}

/**
 * A UTF-8 text body, `Content-Type: text/plain; charset=utf-8` unless the
 * headers name another.
 *
 * @since 0.1.0
 * @category constructors
 */
export const text = (body: string, options?: Options): Response => ({
  status: options?.status ?? 200,
  headers: withContentType(options?.headers, "text/plain; charset=utf-8"),
  body: { _tag: "Text", text: body }
})

/**
 * A JSON body, `Content-Type: application/json; charset=utf-8`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const json = (value: unknown, options?: Options): Response => ({
  status: options?.status ?? 200,
  headers: withContentType(options?.headers, "application/json; charset=utf-8"),
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
  status: options?.status ?? 200,
  headers: withContentType(options?.headers, "application/octet-stream"),
  body: { _tag: "Bytes", bytes: body }
})

/**
 * No body: `204` by default, or any status with `Content-Length: 0`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty = (options?: Options): Response => ({
  status: options?.status ?? 204,
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
  status: options?.status ?? 200,
  headers: withContentType(options?.headers, options?.contentType ?? "application/octet-stream"),
  body: { _tag: "Stream", stream: body, contentLength: options?.contentLength }
})
