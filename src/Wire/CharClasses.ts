/**
 * Byte classes of the HTTP grammar (RFC 9110 section 5.6.2, RFC 9112
 * section 3), as 256-entry lookup tables: one array read per byte on the hot
 * path instead of a chain of comparisons.
 *
 * @internal
 */

const table = (predicate: (byte: number) => boolean): Uint8Array => {
  const t = new Uint8Array(256)
  for (let b = 0; b < 256; b++) t[b] = predicate(b) ? 1 : 0
  return t
}

const tokenPunctuation = "!#$%&'*+-.^_`|~"

/** `tchar` (RFC 9110 section 5.6.2): the bytes of a method or a field name. */
export const TOKEN: Uint8Array = table((b) =>
  (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
  tokenPunctuation.includes(String.fromCharCode(b))
)

/**
 * `field-vchar / SP / HTAB` (RFC 9110 section 5.5): VCHAR, obs-text (0x80-0xFF),
 * space and tab. Everything else (NUL, CR, LF, other controls, DEL) is refused.
 */
export const FIELD_VALUE: Uint8Array = table((b) => b === 0x09 || (b >= 0x20 && b !== 0x7f))

/**
 * The bytes allowed in a request-target: visible ASCII and obs-text, minus
 * `#` (a fragment is never sent, RFC 9112 section 3.2). Controls and spaces
 * are refused (RFC 9112 section 3.2, 3.3).
 */
export const TARGET: Uint8Array = table((b) => b > 0x20 && b !== 0x7f && b !== 0x23)

/**
 * `qdtext` (RFC 9110 section 5.6.4): the bytes of a quoted-string other than
 * its quotes and quoted-pairs: HTAB, SP, VCHAR except `"` and `\`, obs-text.
 */
export const QDTEXT: Uint8Array = table((b) =>
  b === 0x09 || b === 0x20 || b === 0x21 || (b >= 0x23 && b <= 0x5b) || (b >= 0x5d && b <= 0x7e) || b >= 0x80
)

/** Hex digit values, or 255 for a byte that is not a hex digit. */
export const HEX_VALUE: Uint8Array = (() => {
  const t = new Uint8Array(256).fill(255)
  for (let b = 0x30; b <= 0x39; b++) t[b] = b - 0x30
  for (let b = 0x41; b <= 0x46; b++) t[b] = b - 0x41 + 10
  for (let b = 0x61; b <= 0x66; b++) t[b] = b - 0x61 + 10
  return t
})()

/**
 * The bytes of a Host field value: `uri-host [ ":" port ]` (RFC 3986 section
 * 3.2.2): unreserved, pct-encoded, sub-delims, and the `:`, `[`, `]` of ports
 * and IP literals.
 */
export const HOST: Uint8Array = table((b) =>
  (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
  "-._~%!$&'()*+,;=:[]".includes(String.fromCharCode(b))
)
