/**
 * The `Cookie` request header, parsed as Tornado's `parse_cookie` does (the
 * browser-like algorithm Django 1.9.10 used, not RFC 6265's grammar).
 *
 * @since 0.1.0
 */
import { pythonStrip } from "./PythonWhitespace.ts"

/**
 * Parses a `Cookie` header into a null-prototype object of name → value:
 *
 * - chunks are separated by `;`; each splits at its first `=` into name and
 *   value, both trimmed (Python's `str.strip()` whitespace);
 * - a chunk without `=` is a value with the empty name `""`;
 * - chunks whose name and value are both empty are skipped;
 * - a value in double quotes is unquoted as Python's `http.cookies` does:
 *   `\ooo` (octal, `\000`–`\377`) is that character, `\c` is `c`;
 * - a later cookie of the same name replaces an earlier one.
 *
 * Text is taken as it comes (the engine reads headers as Latin-1); nothing is
 * percent-decoded.
 *
 * @example
 * ```ts
 * parseCookies(`a=1; b="x\\"y"; a=2; lone`) // { a: "2", b: "x\"y", "": "lone" }
 * ```
 *
 * @since 0.1.0
 */
export function parseCookies(header: string): Record<string, string> {
  const cookies: Record<string, string> = Object.create(null)
  const length = header.length
  let start = 0
  while (start <= length) {
    let end = header.indexOf(";", start)
    if (end === -1) end = length
    const chunk = header.slice(start, end)
    start = end + 1
    const eq = chunk.indexOf("=")
    const name = eq === -1 ? "" : pythonStrip(chunk.slice(0, eq))
    const value = pythonStrip(eq === -1 ? chunk : chunk.slice(eq + 1))
    if (name.length > 0 || value.length > 0) cookies[name] = unquoteCookie(value)
  }
  return cookies
}

/** `\ooo` octal escapes and `\c` escapes of Python's `http.cookies._unquote` (`.` excludes only `\n`). */
const cookieEscape = /\\(?:([0-3][0-7][0-7])|([^\n]))/g

/** Python's `http.cookies._unquote`: only values in double quotes change. */
function unquoteCookie(value: string): string {
  const length = value.length
  if (length < 2 || value.charCodeAt(0) !== 0x22 || value.charCodeAt(length - 1) !== 0x22) return value
  const inner = value.slice(1, -1)
  if (!inner.includes("\\")) return inner
  return inner.replace(
    cookieEscape,
    (_, octal: string | undefined, char: string | undefined) =>
      octal !== undefined ? String.fromCharCode(Number.parseInt(octal, 8)) : char!
  )
}
