/**
 * Form bodies: Tornado's `parse_body_arguments` for
 * `application/x-www-form-urlencoded` and `multipart/form-data`.
 *
 * @since 0.1.0
 */
import { parseContentType } from "./HeaderParameters.ts"
import { type HTTPFile, parseMultipartFormData } from "./Multipart.ts"
import { parseQueryArguments } from "./QueryArguments.ts"

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
