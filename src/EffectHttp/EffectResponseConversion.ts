/**
 * The response side of the `effect/http` adapter, as pure code (no socket,
 * no server): an `HttpServerResponse` becomes the engine's `Response`
 * (status, headers, `Set-Cookie` lines, and a body the engine can write:
 * text, bytes, or a stream held to its declared length).
 *
 * @since 0.1.0
 */
import { Effect, Stream } from "effect"
import * as Cookies from "effect/http/Cookies"
import type * as HttpBody from "effect/http/HttpBody"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import type { ResponseBody, ResponseHeaders } from "../Response/Response.ts"
import { InvalidResponseStatus } from "../Wire/HttpErrors.ts"
import { isFinalStatus } from "../Wire/ResponseSerializer.ts"

/** Bodies that a `Raw` response may carry and the engine can write. */
const isAsyncIterable = (u: unknown): u is AsyncIterable<unknown> =>
  typeof u === "object" && u !== null && Symbol.asyncIterator in u

const toBytes = (chunk: unknown): Uint8Array => {
  if (chunk instanceof Uint8Array) return chunk
  if (typeof chunk === "string") return Buffer.from(chunk, "utf8")
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk)
  throw new TypeError(`a response body stream produced a ${typeof chunk}, not bytes`)
}

/** A Node `Readable` (or any async iterable of bytes) as a Stream; destroyed when the stream stops. */
const fromAsyncIterable = (iterable: AsyncIterable<unknown>): Stream.Stream<Uint8Array, unknown> =>
  Stream.map(Stream.fromAsyncIterable(iterable, (error) => error), toBytes)

const fromReadableStream = (stream: ReadableStream<unknown>): Stream.Stream<Uint8Array, unknown> =>
  Stream.map(Stream.fromReadableStream({ evaluate: () => stream, onError: (error) => error }), toBytes)

/** Releases what an unsent body holds (an open file, a web stream). */
const discardRaw = (body: unknown): void => {
  if (typeof body !== "object" || body === null) return
  if (typeof (body as { destroy?: unknown }).destroy === "function") {
    ;(body as { destroy: () => void }).destroy()
  } else if (body instanceof ReadableStream) {
    body.cancel().catch(() => {})
  }
}

const parseContentLength = (value: string | undefined): number | undefined => {
  if (value === undefined || !/^\d+$/.test(value)) return undefined
  const n = Number(value)
  return Number.isSafeInteger(n) ? n : undefined
}

type StreamedBody = {
  readonly stream: Stream.Stream<Uint8Array, unknown>
  readonly contentLength: number | undefined
  readonly contentType?: string | undefined
}

/** The body, as the engine's `ResponseBody` or a stream to transfer the request scope to. */
const convertBody = (
  body: HttpBody.HttpBody,
  declaredLength: number | undefined
): ResponseBody | StreamedBody => {
  switch (body._tag) {
    case "Empty":
      return { _tag: "Empty" }
    case "Uint8Array":
      return body.text !== undefined ? { _tag: "Text", text: body.text } : { _tag: "Bytes", bytes: body.body }
    case "Stream":
      return { stream: body.stream, contentLength: body.contentLength ?? declaredLength }
    case "FormData": {
      let encoded: globalThis.Response
      try {
        encoded = new globalThis.Response(body.formData)
      } catch (cause) {
        throw new Error("cannot encode the FormData response body", { cause })
      }
      return {
        stream: encoded.body === null ? Stream.empty : fromReadableStream(encoded.body),
        contentLength: undefined,
        contentType: encoded.headers.get("content-type") ?? undefined
      }
    }
    case "Raw": {
      const raw = body.body
      const length = body.contentLength ?? declaredLength
      if (raw === undefined || raw === null) return { _tag: "Empty" }
      if (typeof raw === "string") return { _tag: "Text", text: raw }
      if (raw instanceof Uint8Array) return { _tag: "Bytes", bytes: raw }
      if (raw instanceof ArrayBuffer) return { _tag: "Bytes", bytes: new Uint8Array(raw) }
      if (raw instanceof ReadableStream) return { stream: fromReadableStream(raw), contentLength: length }
      if (raw instanceof Blob) {
        return { stream: fromReadableStream(raw.stream()), contentLength: raw.size, contentType: raw.type || undefined }
      }
      if (isAsyncIterable(raw)) return { stream: fromAsyncIterable(raw), contentLength: length }
      throw new TypeError(
        `cannot send a Raw response body of type ${raw.constructor?.name ?? typeof raw}: ` +
          "expected a string, Uint8Array, ArrayBuffer, Blob, ReadableStream or Node Readable"
      )
    }
  }
}

/** The header fields with one more (or one replaced), in a copy. */
const withField = (headers: ResponseHeaders, name: string, value: string | ReadonlyArray<string>): ResponseHeaders => {
  const copy: Record<string, string | ReadonlyArray<string>> = Object.create(null)
  for (const key in headers) copy[key] = headers[key] as string | ReadonlyArray<string>
  copy[name] = value
  return copy
}

/**
 * Turns an `HttpServerResponse` into the engine's `Response`: status,
 * headers, `Set-Cookie` lines from its cookies, and its body. The framing
 * fields are the engine's; a streamed body's declared length becomes the
 * stream's `Content-Length`, and the stream is held to it. The body is not
 * sent (nor a stream run) for HEAD and for 204, 205 and 304.
 *
 * `send` makes the response from the head and, for a body to stream, the
 * stream. Throws (a defect, answered with 500) on a status the engine cannot
 * send as a final response (outside 200-599) or a body it cannot write.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toResponse = (
  response: HttpServerResponse.HttpServerResponse,
  isHead: boolean,
  send: (
    status: number,
    headers: ResponseHeaders,
    body: ResponseBody | { readonly stream: Stream.Stream<Uint8Array, unknown>; readonly contentLength: number | undefined }
  ) => void
): void => {
  const status = response.status
  if (!isFinalStatus(status)) throw new InvalidResponseStatus({ status })
  const source = response.headers
  // effect's `Headers` are immutable, with only their fields enumerable: the
  // engine reads them as they are, copied only to add to them.
  let headers: ResponseHeaders = source
  if (!Cookies.isEmpty(response.cookies)) {
    const lines = Cookies.toSetCookieHeaders(response.cookies)
    const existing = source["set-cookie"]
    headers = withField(source, "set-cookie", existing === undefined ? lines : [existing, ...lines])
  }
  if (HttpServerResponse.omitsBody(response)) {
    if (response.body._tag === "Raw") discardRaw(response.body.body)
    return send(status, headers, { _tag: "Empty" })
  }
  const body = convertBody(response.body, parseContentLength(source["content-length"]))
  if ("_tag" in body) return send(status, headers, body)
  if (body.contentType !== undefined && headers["content-type"] === undefined) {
    headers = withField(headers, "content-type", body.contentType)
  }
  if (isHead) {
    if (response.body._tag === "Raw") discardRaw(response.body.body)
    return send(status, headers, { _tag: "Stream", stream: Stream.empty, contentLength: body.contentLength })
  }
  // The engine holds a stream to its declared length (cut when longer, the
  // connection closed when shorter: `Wire/ResponseFraming`'s StreamEncoder).
  return send(status, headers, { stream: body.stream, contentLength: body.contentLength })
}
