/**
 * Header values made of a token and `;`-separated parameters, such as
 * `Content-Type` and `Content-Disposition`, parsed as Tornado's
 * `_parse_header` does, which goes through Python's
 * `email.utils.decode_params` for RFC 2231/5987 `name*=` parameters.
 *
 * @since 0.1.0
 */
import { pythonStrip } from "./PythonWhitespace.ts"

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
