/**
 * Which content coding a client accepts: `Accept-Encoding` read as RFC 9110
 * section 12.5.3 says, and the server's choice among the codings it offers.
 *
 * Pure code over strings, no Effects.
 *
 * @since 0.1.0
 */

/**
 * A content coding the server can compress a response with.
 *
 * @since 0.1.0
 * @category models
 */
export type Coding = "br" | "gzip" | "zstd"

/**
 * Every coding the server can produce (Node's zlib has all three; `zstd`
 * since Node 22.15).
 *
 * @since 0.1.0
 * @category constants
 */
export const codings: ReadonlyArray<Coding> = ["br", "gzip", "zstd"]

/** `coding` or `coding;q=0.5`, spaces around `;` allowed (RFC 9110 section 12.4.2: OWS ";" OWS "q=" qvalue). */
const MEMBER = /^([!#$%&'*+.^_`|~0-9a-z-]+)(?:[ \t]*;[ \t]*q=(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?))?$/

/**
 * The q-value of each coding named in an `Accept-Encoding` value, lower-cased
 * (`*` included); `undefined` for a value that does not follow the grammar.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseAcceptEncoding = (value: string): ReadonlyMap<string, number> | undefined => {
  const qualities = new Map<string, number>()
  for (const part of value.split(",")) {
    const member = part.trim().toLowerCase()
    // RFC 9110 section 5.6.1: empty list elements are ignored.
    if (member === "") continue
    const match = MEMBER.exec(member)
    if (match === null) return undefined
    const name = match[1] as string
    // The first mention of a coding counts (a repeat cannot take back a refusal).
    if (!qualities.has(name)) qualities.set(name, match[2] === undefined ? 1 : Number(match[2]))
  }
  return qualities
}

/**
 * The coding to send a response in, given the request's `Accept-Encoding`
 * and the codings the server offers, most preferred first; `undefined` for
 * none (the body goes as it is).
 *
 * - No `Accept-Encoding`: no coding. RFC 9110 allows any, but a client that
 *   sends none (`curl` without `--compressed`) expects the body as it is.
 * - The client's q-values decide; among equal ones, the server's order.
 *   A coding not named takes the q-value of `*`; `q=0` refuses it.
 * - `x-gzip` stands for `gzip` (RFC 9110 section 8.4.1.3).
 * - A value that breaks the grammar: no coding (the client's intent is unknown).
 * - Nothing acceptable, even with `identity;q=0`: no coding; the body goes
 *   uncompressed rather than as an error (RFC 9110 section 12.5.3 lets the
 *   server ignore the header).
 *
 * @since 0.1.0
 * @category negotiation
 */
export const negotiate = (value: string | undefined, offered: ReadonlyArray<Coding>): Coding | undefined => {
  if (value === undefined) return undefined
  const qualities = parseAcceptEncoding(value)
  if (qualities === undefined) return undefined
  const anyOther = qualities.get("*")
  let chosen: Coding | undefined = undefined
  let best = 0
  for (const coding of offered) {
    const quality = qualities.get(coding) ?? (coding === "gzip" ? qualities.get("x-gzip") : undefined) ?? anyOther ?? 0
    if (quality > best) {
      chosen = coding
      best = quality
    }
  }
  return chosen
}
