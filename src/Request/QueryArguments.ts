/**
 * `application/x-www-form-urlencoded` parsing, with the semantics of Tornado's
 * `parse_qs_bytes(query, keep_blank_values=True)` followed by the UTF-8
 * decoding its `RequestHandler` applies to argument values.
 *
 * @since 0.1.0
 */

/** Anything that needs decoding: an escape, a `+`, or a byte outside ASCII. */
const needsDecoding = /[%+\u0080-\uffff]/

/** Scratch space for the bytes of one decoded name or value (grown on demand). */
let scratch = Buffer.allocUnsafe(256)

/**
 * Parses a query string (or a form-urlencoded body read as Latin-1) into its
 * arguments: a null-prototype object from name to values, in order.
 *
 * - Fields are separated by `&`; empty fields are skipped.
 * - Each field splits at its first `=`; a field without `=` has the value `""`.
 *   Empty values are kept: `foo=&foo=` gives `{ foo: ["", ""] }`.
 * - In names and values `+` is a space and `%XX` is the byte `XX`; a `%` not
 *   followed by two hex digits stays as it is.
 * - The input is Latin-1 text (each character one byte, as the engine reads the
 *   request target); the resulting bytes are decoded as UTF-8, malformed
 *   sequences becoming U+FFFD. A character above U+00FF, which Latin-1 text
 *   cannot hold, is taken as text and encoded as UTF-8.
 *
 * A query with no `%`, `+` or non-ASCII character is only split, never decoded.
 *
 * @example
 * ```ts
 * parseQueryArguments("a=1&b=x+y&b=%C3%A9&c") // { a: ["1"], b: ["x y", "é"], c: [""] }
 * ```
 *
 * @since 0.1.0
 */
export function parseQueryArguments(query: string): Record<string, Array<string>> {
  const result: Record<string, Array<string>> = Object.create(null)
  const length = query.length
  if (length === 0) return result
  const decode = needsDecoding.test(query)
  // The next "=" at or after `start`, found once and reused while the fields
  // before it have none, so a long query of bare names stays linear.
  let equals = query.indexOf("=")
  let start = 0
  while (start < length) {
    let end = query.indexOf("&", start)
    if (end === -1) end = length
    if (end > start) {
      if (equals !== -1 && equals < start) equals = query.indexOf("=", start)
      let name: string
      let value: string
      if (equals === -1 || equals > end) {
        name = query.slice(start, end)
        value = ""
      } else {
        name = query.slice(start, equals)
        value = query.slice(equals + 1, end)
      }
      if (decode) {
        name = decodeComponent(name)
        value = decodeComponent(value)
      }
      const values = result[name]
      if (values === undefined) result[name] = [value]
      else values.push(value)
    }
    start = end + 1
  }
  return result
}

/** `+` → space, `%XX` → byte, then the bytes as UTF-8. */
function decodeComponent(text: string): string {
  if (!needsDecoding.test(text)) return text
  const length = text.length
  // At most 3 bytes per UTF-16 unit (a surrogate pair gives 4 for 2 units).
  if (scratch.length < length * 3) scratch = Buffer.allocUnsafe(Math.max(length * 3, scratch.length * 2))
  const bytes = scratch
  let n = 0
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x2b) {
      bytes[n++] = 0x20
    } else if (c === 0x25 && i + 2 < length) {
      const hi = hexValue(text.charCodeAt(i + 1))
      const lo = hi < 0 ? -1 : hexValue(text.charCodeAt(i + 2))
      if (lo < 0) {
        bytes[n++] = c
      } else {
        bytes[n++] = (hi << 4) | lo
        i += 2
      }
    } else if (c <= 0xff) {
      bytes[n++] = c
    } else if (c < 0x800) {
      bytes[n++] = 0xc0 | (c >> 6)
      bytes[n++] = 0x80 | (c & 0x3f)
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < length && isLowSurrogate(text.charCodeAt(i + 1))) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00)
      bytes[n++] = 0xf0 | (cp >> 18)
      bytes[n++] = 0x80 | ((cp >> 12) & 0x3f)
      bytes[n++] = 0x80 | ((cp >> 6) & 0x3f)
      bytes[n++] = 0x80 | (cp & 0x3f)
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A lone surrogate has no UTF-8 form: U+FFFD.
      bytes[n++] = 0xef
      bytes[n++] = 0xbf
      bytes[n++] = 0xbd
    } else {
      bytes[n++] = 0xe0 | (c >> 12)
      bytes[n++] = 0x80 | ((c >> 6) & 0x3f)
      bytes[n++] = 0x80 | (c & 0x3f)
    }
  }
  return bytes.toString("utf8", 0, n)
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  return -1
}
