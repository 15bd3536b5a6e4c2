/**
 * `--forwarded`: the client's address, scheme and host as a trusted reverse
 * proxy reports them in the standard `Forwarded` header (RFC 7239), under
 * the same `trustedDownstream` rules as `X-Forwarded-For`.
 *
 * ```
 * Forwarded: for=192.0.2.60;proto=https;host=example.com, for="[2001:db8::17]:4711"
 * ```
 *
 * @since 0.1.0
 */
import { isIP } from "node:net"
import type { HTTPHeaders } from "./HTTPHeaders.ts"

/**
 * One `forwarded-element` (RFC 7239 section 4): what one proxy says about
 * the hop it received the request on. Parameters absent are `undefined`;
 * `malformed` marks an element that does not follow the grammar (it is
 * never trusted for anything).
 *
 * @since 0.1.0
 * @category models
 */
export interface ForwardedElement {
  readonly for: string | undefined
  readonly by: string | undefined
  readonly proto: string | undefined
  readonly host: string | undefined
  readonly malformed: boolean
}

/**
 * The connection as seen through the `Forwarded` header.
 *
 * @since 0.1.0
 * @category models
 */
export interface ForwardedResult {
  readonly remoteIp: string
  readonly protocol: "http" | "https"
  /** The `host=` of the element used, when it gave a valid one. */
  readonly host: string | undefined
}

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Where one element ends: the next comma outside a quoted string, or the end. */
interface Scanned {
  readonly pairs: Array<readonly [string, string]>
  readonly malformed: boolean
  readonly end: number
}

/**
 * Scans one element from `start`: `pair *( ";" pair )`, each pair
 * `token "=" ( token / quoted-string )` (RFC 7239 section 4), optional
 * whitespace around the separators. An unterminated quoted string runs to
 * the end of the header, so that what a client writes can never swallow or
 * split the elements a proxy appends after it in some other way.
 */
const scanElement = (text: string, start: number): Scanned => {
  const pairs: Array<readonly [string, string]> = []
  let malformed = false
  let i = start
  const skipSpace = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\t")) i++
  }
  for (;;) {
    skipSpace()
    if (i >= text.length || text[i] === ",") break
    if (text[i] === ";") {
      i++
      continue
    }
    const eq = text.indexOf("=", i)
    const name = eq === -1 ? "" : text.slice(i, eq).trim()
    if (eq === -1 || !TCHAR.test(name)) {
      malformed = true
      // Skip to the next separator (quotes included).
      while (i < text.length && text[i] !== "," && text[i] !== ";") {
        if (text[i] === "\"") i = skipQuoted(text, i).end
        else i++
      }
      continue
    }
    i = eq + 1
    skipSpace()
    let value: string
    if (text[i] === "\"") {
      const quoted = skipQuoted(text, i)
      if (!quoted.terminated) malformed = true
      value = quoted.value
      i = quoted.end
    } else {
      let j = i
      while (j < text.length && text[j] !== "," && text[j] !== ";" && text[j] !== " " && text[j] !== "\t") j++
      value = text.slice(i, j)
      if (!TCHAR.test(value)) malformed = true
      i = j
    }
    pairs.push([name.toLowerCase(), value])
    skipSpace()
    if (i < text.length && text[i] !== "," && text[i] !== ";") malformed = true
  }
  return { pairs, malformed, end: i }
}

/** A quoted-string from its opening quote: its unescaped value and where it ends. */
const skipQuoted = (text: string, open: number): { value: string; end: number; terminated: boolean } => {
  let value = ""
  let i = open + 1
  while (i < text.length) {
    const c = text[i] as string
    if (c === "\\" && i + 1 < text.length) {
      value += text[i + 1]
      i += 2
    } else if (c === "\"") {
      return { value, end: i + 1, terminated: true }
    } else {
      value += c
      i++
    }
  }
  return { value, end: i, terminated: false }
}

/**
 * Parses a `Forwarded` field value (several fields joined with `,`) into
 * its elements, in order. Never throws: what does not follow the grammar is
 * an element marked `malformed`; a parameter given twice in one element
 * makes it malformed too (RFC 7239 section 4).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseForwarded = (value: string): ReadonlyArray<ForwardedElement> => {
  const elements: Array<ForwardedElement> = []
  let i = 0
  while (i <= value.length) {
    const scanned = scanElement(value, i)
    const params: Record<string, string> = Object.create(null)
    let malformed = scanned.malformed
    for (const [name, v] of scanned.pairs) {
      if (name in params) malformed = true
      params[name] = v
    }
    if (scanned.pairs.length > 0 || scanned.malformed) {
      elements.push({ for: params["for"], by: params["by"], proto: params["proto"], host: params["host"], malformed })
    }
    i = scanned.end + 1
  }
  return elements
}

const PORT = /^(?:\d{1,5}|_[A-Za-z0-9._-]+)$/

/**
 * The IP address of a node identifier (RFC 7239 section 6): `192.0.2.43`,
 * `192.0.2.43:47011`, `[2001:db8::17]`, `[2001:db8::17]:4711` (ports,
 * obfuscated ports included, are dropped); `undefined` for `unknown`, an
 * obfuscated identifier (`_hidden`) or anything else.
 *
 * @since 0.1.0
 * @category parsing
 */
export const nodeAddress = (node: string): string | undefined => {
  if (node.startsWith("[")) {
    const close = node.indexOf("]")
    if (close === -1) return undefined
    const rest = node.slice(close + 1)
    if (rest !== "" && !(rest.startsWith(":") && PORT.test(rest.slice(1)))) return undefined
    const ip = node.slice(1, close)
    return isIP(ip) === 6 ? ip : undefined
  }
  const colon = node.indexOf(":")
  const ip = colon === -1 ? node : node.slice(0, colon)
  if (colon !== -1 && !PORT.test(node.slice(colon + 1))) return undefined
  return isIP(ip) === 4 ? ip : undefined
}

/** A `host=` value as a Host header field would carry it: no whitespace, controls or delimiters. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::\d{1,5})?$/

/**
 * Rewrites the remote IP, protocol and host of a request from its
 * `Forwarded` header; `undefined` when there is none (the caller keeps the
 * socket's values, or tries `X-Forwarded-For`).
 *
 * Elements are walked from the right (the one the nearest proxy added),
 * skipping those whose `for=` is a trusted downstream, as with
 * `X-Forwarded-For`; the first other element is used (the leftmost when all
 * are trusted). From it: `for=` when it is an IP address (obfuscated and
 * `unknown` identifiers are ignored: the socket's address stays), `proto=`
 * when it is `http` or `https`, `host=` when it is a valid host. A
 * malformed element stops the walk and gives nothing.
 *
 * @since 0.1.0
 * @category proxies
 */
export const applyForwarded = (
  connection: { readonly remoteIp: string; readonly protocol: "http" | "https" },
  headers: HTTPHeaders,
  isTrustedDownstream: (ip: string) => boolean
): ForwardedResult | undefined => {
  const fields = headers.getAll("Forwarded")
  if (fields.length === 0) return undefined
  const elements = parseForwarded(fields.join(","))
  let chosen: ForwardedElement | undefined
  for (let i = elements.length - 1; i >= 0; i--) {
    const element = elements[i] as ForwardedElement
    chosen = element
    if (element.malformed) break
    const ip = element.for === undefined ? undefined : nodeAddress(element.for)
    if (ip === undefined || !isTrustedDownstream(ip)) break
  }
  if (chosen === undefined || chosen.malformed) {
    return { remoteIp: connection.remoteIp, protocol: connection.protocol, host: undefined }
  }
  const ip = chosen.for === undefined ? undefined : nodeAddress(chosen.for)
  const proto = chosen.proto?.toLowerCase()
  return {
    remoteIp: ip ?? connection.remoteIp,
    protocol: proto === "http" || proto === "https" ? proto : connection.protocol,
    host: chosen.host !== undefined && HOST.test(chosen.host) ? chosen.host : undefined
  }
}
