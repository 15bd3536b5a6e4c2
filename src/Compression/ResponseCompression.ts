/**
 * Compressed responses for core handlers: a handler middleware that sends
 * the body in `br`, `gzip` or `zstd` when the request's `Accept-Encoding`
 * allows one (Tornado's `compress_response`; effect/http's
 * `HttpMiddleware.compression` for effect/http apps).
 *
 * ```ts
 * const handler = ResponseCompression.middleware()((request) => Effect.succeed(Response.json(big)))
 * ```
 *
 * Whole bodies are compressed in one call and keep a `Content-Length` (of
 * the compressed size); streams are compressed chunk by chunk, each chunk
 * flushed, and go chunked. A response is left as it is where compressing
 * would hurt or is not allowed: `HEAD`, 1xx/204/206/304, a `Content-Range`,
 * a `Content-Encoding` already set, `Cache-Control: no-transform`, a body
 * under the threshold, a content type that does not compress (images,
 * video, archives: see {@link Options.compressible}). `Vary:
 * Accept-Encoding` is added wherever the answer depended on that header; a
 * strong `ETag` of a compressed response is weakened (RFC 9110 section
 * 8.8.1: the bytes differ from the uncompressed representation's).
 *
 * Compressing a response that holds both a secret and text the client
 * controls lets an attacker who sees the sizes guess the secret (BREACH):
 * set `Cache-Control: no-transform` on those responses, or narrow
 * `compressible`.
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"
import type { HTTPServerRequest } from "../Request/HTTPServerRequest.ts"
import { isResponse, type Response, type ResponseHeaders } from "../Response/Response.ts"
import { type Coding, codings, negotiate } from "./AcceptEncoding.ts"
import { compressStream, compressWhole, defaultLevels, type Levels } from "./Compressors.ts"

export {
  /**
   * A content coding the middleware can send: `br`, `gzip` or `zstd`.
   *
   * @since 0.1.0
   * @category models
   */
  type Coding
} from "./AcceptEncoding.ts"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The codings to offer, most preferred first; the client's q-values come
   * first, this order breaks ties. Default `["br", "gzip", "zstd"]`.
   */
  readonly codings?: ReadonlyArray<Coding> | undefined
  /** Bodies of a known size under this many bytes go as they are. Default 1024. */
  readonly threshold?: number | undefined
  /**
   * Whether a `Content-Type` value is worth compressing; replaces
   * {@link isCompressible}. A response without a `Content-Type` is never
   * compressed.
   */
  readonly compressible?: ((contentType: string) => boolean) | undefined
  /** Compression level per coding (gzip 1-9, br 0-11, zstd 1-22). Default br 4, gzip 6, zstd 3. */
  readonly levels?: Partial<Levels> | undefined
}

/**
 * Options the middleware cannot work with: each problem, one line each.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidCompressionOptions extends Data.TaggedError("InvalidCompressionOptions")<{
  readonly problems: ReadonlyArray<string>
}> {
  override get message() {
    return this.problems.join("\n")
  }
}

/**
 * The default content-type filter: text, JSON, JavaScript, XML, SVG, WebAssembly
 * (and `+json`, `+xml` types). Images, audio, video, fonts and archives are
 * compressed already.
 *
 * @since 0.1.0
 * @category filters
 */
export const isCompressible = (contentType: string): boolean => {
  const semicolon = contentType.indexOf(";")
  const type = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase()
  if (type.startsWith("text/")) return true
  switch (type) {
    case "application/json":
    case "application/javascript":
    case "application/xml":
    case "application/x-ndjson":
    case "application/wasm":
    case "image/svg+xml":
      return true
  }
  return type.endsWith("+json") || type.endsWith("+xml")
}

const LEVEL_RANGES: { readonly [coding in Coding]: readonly [number, number] } = {
  br: [0, 11],
  gzip: [1, 9],
  zstd: [1, 22]
}

const problemsOf = (options: Options | undefined): Array<string> => {
  const problems: Array<string> = []
  for (const coding of options?.codings ?? []) {
    if (!codings.includes(coding)) problems.push(`codings: ${JSON.stringify(coding)} is not one of ${codings.join(", ")}`)
  }
  const threshold = options?.threshold
  if (threshold !== undefined && !(Number.isSafeInteger(threshold) && threshold >= 0)) {
    problems.push(`threshold: must be a whole number of bytes, 0 or more, got ${threshold}`)
  }
  for (const [coding, level] of Object.entries(options?.levels ?? {})) {
    const range = LEVEL_RANGES[coding as Coding]
    if (range === undefined) problems.push(`levels: ${JSON.stringify(coding)} is not one of ${codings.join(", ")}`)
    else if (!(Number.isInteger(level) && level >= range[0] && level <= range[1])) {
      problems.push(`levels.${coding}: must be an integer from ${range[0]} to ${range[1]}, got ${level}`)
    }
  }
  return problems
}

/** The header fields the decision reads. */
interface Consulted {
  contentEncoding?: string
  contentRange?: string
  cacheControl?: string
  contentType?: string
}

/** Each consulted field by its lower-case name. */
const CONSULTED: ReadonlyMap<string, keyof Consulted> = new Map([
  ["content-encoding", "contentEncoding"],
  ["content-range", "contentRange"],
  ["cache-control", "cacheControl"],
  ["content-type", "contentType"]
])

const valueOf = (value: string | ReadonlyArray<string>): string =>
  typeof value === "string" ? value : Array.isArray(value) ? value.join(", ") : String(value)

/** The consulted fields of a response, found in one pass (names are case-insensitive). */
const consult = (headers: ResponseHeaders): Consulted => {
  const found: Consulted = {}
  for (const name in headers) {
    const field = CONSULTED.get(name.toLowerCase())
    if (field !== undefined) found[field] = valueOf(headers[name] as string | ReadonlyArray<string>)
  }
  return found
}

/** RFC 9111 section 5.2.2.6: no intermediary (nor we) may change the content's coding. */
const NO_TRANSFORM = /(?:^|,)[ \t]*no-transform[ \t]*(?:,|$)/i

/** `Vary` with `Accept-Encoding` among its members (once), unless it is `*` already. */
const varyWithAcceptEncoding = (vary: string | undefined): string => {
  if (vary === undefined || vary.trim() === "") return "Accept-Encoding"
  const members = vary.split(",").map((member) => member.trim().toLowerCase())
  return members.includes("*") || members.includes("accept-encoding") ? vary : `${vary}, Accept-Encoding`
}

/** RFC 9110 section 8.8.1: a strong validator promises these very bytes; the coded ones are not. */
const weakened = (etag: string): string => etag.startsWith("W/") ? etag : `W/${etag}`

/**
 * The headers with `Vary` naming `Accept-Encoding`, and when `coding` is
 * given, `Content-Encoding: coding` and a weak `ETag`.
 */
const headersFor = (headers: ResponseHeaders, coding: Coding | undefined): ResponseHeaders => {
  const result: Record<string, string | ReadonlyArray<string>> = {}
  let vary: string | undefined = undefined
  let etag: string | undefined = undefined
  for (const name in headers) {
    const value = headers[name] as string | ReadonlyArray<string>
    const lower = name.toLowerCase()
    if (lower === "vary") vary = vary === undefined ? valueOf(value) : `${vary}, ${valueOf(value)}`
    else if (lower === "etag" && coding !== undefined) etag = valueOf(value)
    else result[name] = value
  }
  result["Vary"] = varyWithAcceptEncoding(vary)
  if (coding === undefined) return result
  if (etag !== undefined) result["ETag"] = weakened(etag)
  result["Content-Encoding"] = coding
  return result
}

const encoder = new TextEncoder()

/**
 * A handler middleware that compresses the handler's responses as the
 * request's `Accept-Encoding` allows (see the module's description).
 *
 * @throws InvalidCompressionOptions
 * @since 0.1.0
 * @category middleware
 */
export const middleware = (options?: Options) => {
  const problems = problemsOf(options)
  if (problems.length > 0) throw new InvalidCompressionOptions({ problems })
  const offered = options?.codings ?? codings
  const threshold = options?.threshold ?? 1024
  const compressible = options?.compressible ?? isCompressible
  const levels: Levels = { ...defaultLevels, ...options?.levels }

  // Clients send the same few values: the last one's answer is kept.
  let lastAcceptEncoding: string | undefined = undefined
  let lastChoice: Coding | undefined = undefined
  const choose = (acceptEncoding: string | undefined): Coding | undefined => {
    if (acceptEncoding !== lastAcceptEncoding) {
      lastChoice = negotiate(acceptEncoding, offered)
      lastAcceptEncoding = acceptEncoding
    }
    return lastChoice
  }

  const compress = (request: HTTPServerRequest, response: Response): Effect.Effect<Response> => {
    // Not a response (a plain JavaScript handler): the server answers it with 500.
    if (!isResponse(response)) return Effect.succeed(response)
    const { body, status } = response
    if (request.method === "HEAD" || body._tag === "Empty") return Effect.succeed(response)
    if (status < 200 || status === 204 || status === 206 || status === 304) return Effect.succeed(response)
    const consulted = consult(response.headers)
    if (consulted.contentEncoding !== undefined || consulted.contentRange !== undefined) return Effect.succeed(response)
    if (consulted.cacheControl !== undefined && NO_TRANSFORM.test(consulted.cacheControl)) return Effect.succeed(response)
    if (consulted.contentType === undefined || !compressible(consulted.contentType)) return Effect.succeed(response)

    if (body._tag === "Stream") {
      // Streamed without a length: compressed whatever its size.
      if (body.contentLength !== undefined && body.contentLength < threshold) return Effect.succeed(response)
      const coding = choose(request.headers.get("Accept-Encoding"))
      const headers = headersFor(response.headers, coding)
      return Effect.succeed(
        coding === undefined ? { ...response, headers } : {
          ...response,
          headers,
          body: { _tag: "Stream", stream: compressStream(body.stream, coding, levels[coding]), contentLength: undefined }
        }
      )
    }
    // Under the threshold: the same answer whatever the request accepts, no Vary.
    // (A text of n UTF-16 units is at most 3n bytes of UTF-8: most short texts need no encoding to tell.)
    if (body._tag === "Text" && body.text.length * 3 < threshold) return Effect.succeed(response)
    const whole = body._tag === "Text" ? encoder.encode(body.text) : body.bytes
    if (whole.byteLength < threshold) return Effect.succeed(response)
    const coding = choose(request.headers.get("Accept-Encoding"))
    const headers = headersFor(response.headers, coding)
    if (coding === undefined) return Effect.succeed({ ...response, headers })
    return Effect.map(compressWhole(whole, coding, levels[coding]), (compressed) => ({
      ...response,
      headers,
      body: { _tag: "Bytes", bytes: compressed }
    }))
  }

  return <E, R>(
    handler: (request: HTTPServerRequest) => Effect.Effect<Response, E, R>
  ): (request: HTTPServerRequest) => Effect.Effect<Response, E, R> =>
  (request) => Effect.flatMap(handler(request), (response) => compress(request, response))
}
