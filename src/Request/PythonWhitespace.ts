/**
 * Python's notion of whitespace, for the helpers that follow Tornado's
 * `httputil` exactly (it trims with `str.strip()`, which also removes
 * `\x1c`-`\x1f`, `\x85` and `\xa0`: the same input must give the same
 * arguments, cookies and addresses as Tornado).
 *
 * @since 0.1.0
 */

/**
 * Python's `str.isspace()` for one UTF-16 code unit.
 *
 * @since 0.1.0
 */
export const isPythonSpace = (c: number): boolean =>
  c <= 0x20
    ? c === 0x20 || (c >= 0x09 && c <= 0x0d) || c >= 0x1c
    : c >= 0x85 && (c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
      c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000)

/**
 * Python's `str.strip()`, or `str.lstrip()` when `right` is false.
 *
 * @since 0.1.0
 */
export const pythonStrip = (s: string, right = true): string => {
  let start = 0
  let end = s.length
  while (start < end && isPythonSpace(s.charCodeAt(start))) start++
  if (right) while (end > start && isPythonSpace(s.charCodeAt(end - 1))) end--
  return start === 0 && end === s.length ? s : s.slice(start, end)
}
