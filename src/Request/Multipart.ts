/**
 * `multipart/form-data` bodies, with the semantics of Tornado's
 * `parse_multipart_form_data` (the version that logs and skips malformed parts),
 * and the `Content-Disposition` / `Content-Type` parameter parsing it relies on
 * (Tornado's `_parse_header`, which goes through Python's
 * `email.utils.decode_params` for RFC 2231/5987 `name*=` parameters).
 *
 * The body is searched as bytes: file bodies are views of it, never decoded.
 *
 * @since 0.1.0
 */
import type { HTTPFile } from "./BodyArguments.ts"
import { HTTPHeaders } from "./HTTPHeaders.ts"
import { isUtf8 } from "node:buffer"
import { isPythonSpace, pythonStrip } from "./PythonWhitespace.ts"

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

/**
 * Parses a header value made of a token and `;`-separated parameters, such as
 * `Content-Disposition` or `Content-Type`, as Tornado's `_parse_header` does:
 *
 * - `value` is the text before the first `;` (outside quotes), trimmed, case kept.
 * - Parameter names are lower-cased; parameters without `=` are dropped; a
 *   later parameter of the same name wins.
 * - Quoted values lose their quotes, with `\\` and `\"` unescaped.
 * - RFC 2231 / 5987 parameters (`name*=charset'lang'%XX...`, and
 *   continuations `name*0=`, `name*1*=`...) are joined, percent-decoded and
 *   decoded from their charset (UTF-8, Latin-1 and US-ASCII as Python does;
 *   other charsets through `TextDecoder`); they override a plain `name=`.
 *
 * Python quirks are kept: a value in `<...>` loses the angle brackets, and a
 * decoded value that still starts and ends with `"` loses those quotes.
 *
 * @throws Error for continuations mixing `name*` and `name*N` (Python fails
 * to sort them); `parseMultipartFormData` turns that into a warning.
 *
 * @example
 * ```ts
 * parseHeaderValue(`form-data; name="a"; filename*=UTF-8''%C3%B3`)
 * // { value: "form-data", parameters: { name: "a", filename: "ó" } }
 * ```
 *
 * @since 0.1.0
 */
export function parseHeaderValue(line: string): { value: string; parameters: Record<string, string> } {
  const parameters: Record<string, string> = Object.create(null)
  const pieces = splitParameters(";" + line)
  const value = pieces[0] ?? ""
  let continued: Map<string, Array<Continuation>> | undefined
  for (let i = 1; i < pieces.length; i++) {
    const piece = pieces[i]!
    const eq = piece.indexOf("=")
    if (eq < 0) continue
    const name = pythonStrip(piece.slice(0, eq)).toLowerCase()
    const raw = unquoteEmail(pythonStrip(piece.slice(eq + 1)))
    const match = rfc2231Continuation.exec(name)
    if (match === null) {
      // Python re-quotes the value, then unquotes it again below.
      parameters[name] = stripQuotes(unquoteEmail(`"${quoteEmail(raw)}"`))
    } else {
      continued ??= new Map()
      const baseName = match[1]!
      const number = match[3] === undefined ? undefined : Number.parseInt(match[3], 10)
      const list = continued.get(baseName)
      const item: Continuation = { number, text: raw, encoded: name.endsWith("*") }
      if (list === undefined) continued.set(baseName, [item])
      else list.push(item)
    }
  }
  if (continued !== undefined) {
    for (const [name, list] of continued) parameters[name] = stripQuotes(joinContinuations(list))
  }
  return { value, parameters }
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

// ---------------------------------------------------------------------------
// Header parameters (Tornado's _parseparam / _parse_header, Python's email.utils)

interface Continuation {
  readonly number: number | undefined
  readonly text: string
  readonly encoded: boolean
}

/** `email.utils.rfc2231_continuation` (ASCII `\w`). */
const rfc2231Continuation = /^(\w+)\*(([0-9]+)\*?)?$/

/**
 * Tornado's `_parseparam`: splits `;a;b="x;y";c` into stripped pieces, keeping
 * `;` inside quotes. Ported literally (including its odd index juggling) so
 * unbalanced quotes split as in Tornado.
 */
function splitParameters(s: string): Array<string> {
  const pieces: Array<string> = []
  let start = 0
  while (s.indexOf(";", start) === start) {
    start += 1
    let end = s.indexOf(";", start)
    let ind = start
    let diff = 0
    while (end > 0) {
      diff += pythonCount(s, false, ind, end) - pythonCount(s, true, ind, end)
      if (diff % 2 === 0) break
      const next = s.indexOf(";", end + 1)
      end = ind
      ind = next
    }
    if (end < 0) end = s.length
    pieces.push(pythonStrip(s.slice(start, end)))
    start = end
  }
  return pieces
}

/**
 * Python's `s.count('"', start, end)` (`escaped` false) or
 * `s.count('\\"', start, end)` (`escaped` true); negative indices count from
 * the end. Scans only the range, so splitting stays linear.
 */
function pythonCount(s: string, escaped: boolean, start: number, end: number): number {
  const length = s.length
  if (start < 0) start = Math.max(0, start + length)
  if (end < 0) end = Math.max(0, end + length)
  if (end > length) end = length
  let count = 0
  for (let i = escaped ? start + 1 : start; i < end; i++) {
    if (s.charCodeAt(i) === 0x22 && (!escaped || s.charCodeAt(i - 1) === 0x5c)) count++
  }
  return count
}

/** `email.utils.unquote`. */
function unquoteEmail(s: string): string {
  if (s.length > 1) {
    const first = s.charCodeAt(0)
    const last = s.charCodeAt(s.length - 1)
    if (first === 0x22 && last === 0x22) return s.slice(1, -1).replaceAll("\\\\", "\\").replaceAll('\\"', '"')
    if (first === 0x3c && last === 0x3e) return s.slice(1, -1)
  }
  return s
}

/** `email.utils.quote`. */
function quoteEmail(s: string): string {
  return s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')
}

/** Tornado's last step: drop a remaining pair of surrounding quotes. */
function stripQuotes(s: string): string {
  return s.length >= 2 && s.charCodeAt(0) === 0x22 && s.charCodeAt(s.length - 1) === 0x22 ? s.slice(1, -1) : s
}

/** `decode_params` for one RFC 2231 parameter, then `collapse_rfc2231_value`. */
function joinContinuations(list: Array<Continuation>): string {
  if (list.length > 1) {
    let numbered = false
    let unnumbered = false
    for (const item of list) {
      if (item.number === undefined) unnumbered = true
      else numbered = true
    }
    if (numbered && unnumbered) throw new Error("'<' not supported between instances of 'int' and 'NoneType'")
    list.sort(compareContinuations)
  }
  let joined = ""
  let extended = false
  for (const item of list) {
    if (item.encoded) {
      joined += percentDecodeLatin1(item.text)
      extended = true
    } else {
      joined += item.text
    }
  }
  const quoted = quoteEmail(joined)
  if (!extended) return unquoteEmail(`"${quoted}"`)
  // decode_rfc2231: charset'language'text, or no charset at all
  const tick1 = quoted.indexOf("'")
  const tick2 = tick1 === -1 ? -1 : quoted.indexOf("'", tick1 + 1)
  const charset = tick2 === -1 ? "us-ascii" : quoted.slice(0, tick1)
  const text = `"${tick2 === -1 ? quoted : quoted.slice(tick2 + 1)}"`
  const decoded = decodeCharset(rawUnicodeEscape(text), charset)
  return decoded ?? unquoteEmail(text)
}

function compareContinuations(a: Continuation, b: Continuation): number {
  if (a.number !== b.number) return (a.number ?? 0) - (b.number ?? 0)
  if (a.text !== b.text) return a.text < b.text ? -1 : 1
  return Number(a.encoded) - Number(b.encoded)
}

/** `urllib.parse.unquote(s, encoding="latin-1")`: `%XX` → the character XX. */
function percentDecodeLatin1(s: string): string {
  if (!s.includes("%")) return s
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
}

/** Python's `raw-unicode-escape` encoding: chars below 256 as bytes, others as `\uXXXX` / `\UXXXXXXXX`. */
function rawUnicodeEscape(s: string): Buffer {
  if (/^[\u0000-\u00ff]*$/.test(s)) return Buffer.from(s, "latin1")
  let out = ""
  for (const char of s) {
    const cp = char.codePointAt(0)!
    if (cp < 0x100) out += char
    else if (cp < 0x10000) out += "\\u" + cp.toString(16).padStart(4, "0")
    else out += "\\U" + cp.toString(16).padStart(8, "0")
  }
  return Buffer.from(out, "latin1")
}

const utf8Names = new Set(["utf_8", "utf8", "u8", "utf", "utf8_ucs2", "utf8_ucs4", "cp65001"])
const latin1Names = new Set([
  "latin_1", "latin1", "latin", "l1", "8859", "cp819", "csisolatin1", "ibm819", "iso8859",
  "iso8859_1", "iso_8859_1", "iso_8859_1_1987", "iso_ir_100"
])
const asciiNames = new Set([
  "ascii", "646", "ansi_x3.4_1968", "ansi_x3.4_1986", "ansi_x3_4_1968", "cp367", "csascii",
  "ibm367", "iso646_us", "iso_646.irv_1991", "iso_ir_6", "us", "us_ascii"
])

/**
 * `str(bytes, charset, "replace")`, or `undefined` where Python raises
 * `LookupError` (an unknown charset).
 */
function decodeCharset(bytes: Buffer, charset: string): string | undefined {
  const name = charset.toLowerCase().replace(/[^a-z0-9.]+/g, "_").replace(/^_+|_+$/g, "")
  if (utf8Names.has(name)) return bytes.toString("utf8")
  if (latin1Names.has(name)) return bytes.toString("latin1")
  if (asciiNames.has(name)) {
    let out = ""
    for (const byte of bytes) out += byte < 0x80 ? String.fromCharCode(byte) : "\ufffd"
    return out
  }
  if (name.length === 0) return undefined
  try {
    return new TextDecoder(charset.trim()).decode(bytes)
  } catch {
    return undefined
  }
}
