/**
 * Form bodies: Tornado's `parse_body_arguments` for
 * `application/x-www-form-urlencoded` and `multipart/form-data`, and the
 * `Content-Type` parsing it needs.
 *
 * @since 0.1.0
 */
import { parseHeaderValue, parseMultipartFormData } from "./Multipart.ts"
import { parseQueryArguments } from "./QueryArguments.ts"

/**
 * A file uploaded in a `multipart/form-data` body (Tornado's `HTTPFile`).
 *
 * @since 0.1.0
 */
export interface HTTPFile {
  /** The part's `filename` (or decoded RFC 5987 `filename*`) parameter. */
  readonly filename: string
  /** The part's `Content-Type` header, `application/unknown` when it has none. */
  readonly contentType: string
  /** The part's bytes: a view into the request body, not a copy. */
  readonly body: Uint8Array
}

/**
 * The arguments and files found in a request body.
 *
 * @since 0.1.0
 */
export interface BodyArguments {
  /** name → values, in order. Null prototype. */
  readonly arguments: Record<string, Array<string>>
  /** name → uploaded files, in order. Null prototype. */
  readonly files: Record<string, Array<HTTPFile>>
  /** What could not be parsed (Tornado logs these as warnings and goes on). */
  readonly warnings: Array<string>
}

/**
 * A parsed `Content-Type` header value.
 *
 * @since 0.1.0
 */
export interface ContentType {
  /** `type/subtype`, lower-case, e.g. `multipart/form-data`. */
  readonly mediaType: string
  /** Parameters by lower-case name, quoted values unescaped. Null prototype. */
  readonly parameters: Record<string, string>
}

/**
 * Parses a `Content-Type` value into its lower-case media type and its
 * parameters (names lower-case, quoted values unquoted and unescaped, RFC 2231
 * `name*=` values decoded), with the rules of Tornado's `_parse_header`
 * (see `parseHeaderValue`).
 *
 * @example
 * ```ts
 * parseContentType(`Multipart/Form-Data; Boundary="a;b"`)
 * // { mediaType: "multipart/form-data", parameters: { boundary: "a;b" } }
 * ```
 *
 * @since 0.1.0
 */
export function parseContentType(header: string): ContentType {
  const { parameters, value } = parseHeaderValue(header)
  return { mediaType: value.toLowerCase(), parameters }
}

/**
 * Parses a request body into arguments and files, as Tornado's
 * `parse_body_arguments`:
 *
 * - `application/x-www-form-urlencoded`: the body read as Latin-1, then the
 *   rules of `parseQueryArguments` (`+` is a space, percent-escapes are UTF-8,
 *   empty values kept).
 * - `multipart/form-data`: `parseMultipartFormData` with the `boundary`
 *   parameter; without one, nothing is parsed and a warning says why.
 * - Any other (or no) content type: empty results.
 *
 * The media type is matched case-insensitively and exactly (Tornado only
 * checks that the header starts with it, case-sensitively). Checking
 * `Content-Encoding` is left to the caller.
 *
 * @since 0.1.0
 */
export function parseBodyArguments(contentType: string | undefined, body: Uint8Array): BodyArguments {
  if (contentType !== undefined) {
    const semicolon = contentType.indexOf(";")
    const mediaType = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase()
    if (mediaType === "application/x-www-form-urlencoded") {
      const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("latin1")
      return { arguments: parseQueryArguments(text), files: Object.create(null), warnings: [] }
    }
    if (mediaType === "multipart/form-data") {
      const boundary = parseContentType(contentType).parameters["boundary"]
      if (boundary) return parseMultipartFormData(boundary, body)
      return {
        arguments: Object.create(null),
        files: Object.create(null),
        warnings: ["Invalid multipart/form-data: multipart boundary not found"]
      }
    }
  }
  return { arguments: Object.create(null), files: Object.create(null), warnings: [] }
}
