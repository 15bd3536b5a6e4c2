/**
 * `multipart/form-data` bodies, with the semantics of Tornado's
 * `parse_multipart_form_data` (the version that logs and skips malformed
 * parts), and the files they carry ({@link HTTPFile}). The parts' header
 * parameters are parsed by `HeaderParameters`.
 *
 * The body is searched as bytes: file bodies are views of it, never decoded.
 *
 * @since 0.1.0
 */
import { isUtf8 } from "node:buffer"
import { parseHeaderValue } from "./HeaderParameters.ts"
import { HTTPHeaders } from "./HTTPHeaders.ts"
import { isPythonSpace, pythonStrip } from "./PythonWhitespace.ts"

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
 * What a `multipart/form-data` body holds.
 *
 * @since 0.1.0
 */
export interface MultipartFormData {
  /** Parts without a filename: name → values (each part's body as UTF-8), in order. Null prototype. */
  readonly arguments: Record<string, Array<string>>
  /** Parts with a filename: name → files, in order. Null prototype. */
  readonly files: Record<string, Array<HTTPFile>>
  /** Why parts (or the rest of the body) were skipped; Tornado logs these as warnings. */
  readonly warnings: Array<string>
}

/**
 * Parses a `multipart/form-data` body as Tornado does.
 *
 * - `boundary` is the `boundary` parameter of the content type; surrounding
 *   double quotes are removed (no other unescaping). Its characters are taken
 *   as bytes (Latin-1, as header text is read); one above U+00FF as UTF-8.
 * - The body is cut at the last `--boundary--`; without one nothing is parsed.
 *   What precedes it is split on `--boundary\r\n`; empty pieces are ignored.
 * - Each part needs a header block ending in `\r\n\r\n` (UTF-8, lines
 *   separated by LF or CRLF, continuation lines folded into the value before),
 *   `Content-Disposition: form-data` with a non-empty `name` parameter, and
 *   must end with `\r\n` (removed from the value).
 * - A part whose `filename` parameter (or RFC 5987 `filename*`) is non-empty
 *   is a file: `{ filename, contentType, body }`, `contentType` from the part's
 *   `Content-Type` (default `application/unknown`), `body` a view of `body`'s
 *   bytes (not a copy). Any other part is an argument: its body as UTF-8
 *   (malformed sequences become U+FFFD).
 *
 * A part failing a check is skipped with a warning, as Tornado skips it. As in
 * Tornado, part headers that are not UTF-8, have a line without a colon or
 * start with a continuation line stop the parse: the parts before are kept.
 *
 * @since 0.1.0
 */
export function parseMultipartFormData(boundary: string, body: Uint8Array): MultipartFormData {
  const args: Record<string, Array<string>> = Object.create(null)
  const files: Record<string, Array<HTTPFile>> = Object.create(null)
  const warnings: Array<string> = []
  const result: MultipartFormData = { arguments: args, files, warnings }

  if (boundary.length > 0 && boundary.charCodeAt(0) === 0x22 && boundary.charCodeAt(boundary.length - 1) === 0x22) {
    boundary = boundary.slice(1, -1)
  }
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  const boundaryBytes = textBytes(boundary)
  const finalIndex = buffer.lastIndexOf(Buffer.concat([dashDash, boundaryBytes, dashDash]))
  if (finalIndex === -1) {
    warnings.push("Invalid multipart/form-data: no final boundary")
    return result
  }
  const data = buffer.subarray(0, finalIndex)
  const delimiter = Buffer.concat([dashDash, boundaryBytes, crlf])

  let start = 0
  while (start <= data.length) {
    let end = data.indexOf(delimiter, start)
    if (end === -1) end = data.length
    if (end > start) {
      const problem = parsePart(data.subarray(start, end), args, files)
      if (problem !== undefined) {
        warnings.push(problem.message)
        if (problem.fatal) return result
      }
    }
    start = end + delimiter.length
  }
  return result
}

// ---------------------------------------------------------------------------
// Parts

const dashDash = Buffer.from("--", "latin1")
const crlf = Buffer.from("\r\n", "latin1")
const endOfHeaders = Buffer.from("\r\n\r\n", "latin1")

interface Problem {
  readonly message: string
  /** When set, the rest of the body is not parsed (Tornado raised an exception). */
  readonly fatal: boolean
}

function parsePart(
  part: Buffer,
  args: Record<string, Array<string>>,
  files: Record<string, Array<HTTPFile>>
): Problem | undefined {
  const eoh = part.indexOf(endOfHeaders)
  if (eoh === -1) return { message: "multipart/form-data missing headers", fatal: false }
  const head = part.subarray(0, eoh)
  if (!isUtf8(head)) {
    return { message: "Invalid multipart/form-data: part headers are not valid UTF-8", fatal: true }
  }
  let headers: HTTPHeaders
  let disposition: string
  let parameters: Record<string, string>
  try {
    headers = parsePartHeaders(head.toString("utf8"))
    const parsed = parseHeaderValue(headers.get("Content-Disposition") ?? "")
    disposition = parsed.value
    parameters = parsed.parameters
  } catch (error) {
    return { message: `Invalid multipart/form-data: ${(error as Error).message}`, fatal: true }
  }
  const length = part.length
  if (disposition !== "form-data" || length < 2 || part[length - 2] !== 0x0d || part[length - 1] !== 0x0a) {
    return { message: "Invalid multipart/form-data", fatal: false }
  }
  const value = part.subarray(eoh + 4, Math.max(eoh + 4, length - 2))
  const name = parameters["name"]
  if (!name) return { message: "multipart/form-data missing name", fatal: false }
  const filename = parameters["filename"]
  if (filename) {
    const file: HTTPFile = {
      filename,
      contentType: headers.get("Content-Type") ?? "application/unknown",
      body: value
    }
    const list = files[name]
    if (list === undefined) files[name] = [file]
    else list.push(file)
  } else {
    const text = value.toString("utf8")
    const list = args[name]
    if (list === undefined) args[name] = [text]
    else list.push(text)
  }
  return undefined
}

/** Tornado's `HTTPHeaders.parse` for a part's header block. */
function parsePartHeaders(text: string): HTTPHeaders {
  const raw: Array<string> = []
  let start = 0
  while (start <= text.length) {
    let end = text.indexOf("\n", start)
    if (end === -1) end = text.length
    let line = text.slice(start, end)
    start = end + 1
    if (line.endsWith("\r")) line = line.slice(0, -1)
    if (line.length === 0) continue
    if (isPythonSpace(line.charCodeAt(0))) {
      if (raw.length === 0) throw new Error("first header line cannot start with whitespace")
      raw[raw.length - 1] += " " + pythonStrip(line, false)
    } else {
      const colon = line.indexOf(":")
      if (colon === -1) throw new Error("no colon in header line")
      raw.push(line.slice(0, colon), pythonStrip(line.slice(colon + 1)))
    }
  }
  return HTTPHeaders.fromRaw(raw)
}

/** Characters as bytes: Latin-1 when they all fit, else UTF-8. */
function textBytes(text: string): Buffer {
  return /^[\u0000-\u00ff]*$/.test(text) ? Buffer.from(text, "latin1") : Buffer.from(text, "utf8")
}
