/**
 * The request head parser: request line and header fields (RFC 9112
 * sections 2-5), strict by default.
 *
 * The head is parsed in one go once its end is in the buffer
 * ({@link findHeadEnd} scans incrementally, so a head split over many reads is
 * scanned once). The bytes are read as Latin-1: every byte is one character,
 * so offsets in the string are offsets in the buffer, and obs-text survives.
 *
 * Everything that decides how the body is framed is settled here, in
 * {@link parseHead}, so that no later stage can read the message differently
 * (the root of request smuggling).
 *
 * @since 0.1.0
 */
import { FIELD_VALUE, HOST, TARGET, TOKEN } from "./CharClasses.ts"
import {
  MalformedRequest,
  MethodTooLong,
  TargetTooLong,
  UnsupportedTransferEncoding,
  VersionNotSupported
} from "./HttpErrors.ts"

/**
 * How the body of a request is delimited (RFC 9112 section 6.3).
 *
 * @since 0.1.0
 * @category models
 */
export type BodyFraming =
  | { readonly _tag: "NoBody" }
  | { readonly _tag: "ContentLength"; readonly length: number }
  | { readonly _tag: "Chunked" }
  /** HTTP/2 without `content-length`: every DATA frame until END_STREAM (RFC 9113 section 8.1). */
  | { readonly _tag: "StreamEnd" }

const noBody: BodyFraming = { _tag: "NoBody" }
const chunked: BodyFraming = { _tag: "Chunked" }

/**
 * A parsed request head.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestHead {
  readonly method: string
  /** The request-target as sent (origin-, absolute-, authority- or asterisk-form). */
  readonly target: string
  /** `HTTP/2.0` for a head built from an HTTP/2 stream's header block (`src/Http2/`), never parsed here. */
  readonly version: "HTTP/1.0" | "HTTP/1.1" | "HTTP/2.0"
  /** `[name0, value0, name1, value1, ...]`: names as sent, values trimmed, Latin-1. */
  readonly rawHeaders: Array<string>
  readonly framing: BodyFraming
  /** Whether the client asked to keep the connection open (RFC 9112 section 9.3). */
  readonly keepAlive: boolean
  /** `Expect: 100-continue` on an HTTP/1.1 request (RFC 9110 section 10.1.1). */
  readonly expectContinue: boolean
  /** The Host field value, if any. */
  readonly host: string | undefined
  /**
   * The protocols an HTTP/1.1 request asks to switch to: its `Upgrade` field,
   * when `Connection` lists `upgrade` as RFC 9110 section 7.8 requires (an
   * `Upgrade` in HTTP/1.0 is ignored, as that section says).
   */
  readonly upgrade: string | undefined
}

/**
 * The leniencies the parser can be told to allow. Each one is off unless
 * its risk is acceptable for everyone.
 *
 * @since 0.1.0
 * @category models
 */
export interface ParserLeniency {
  /**
   * Accept a bare LF as the end of a request-line or header line (RFC 9112
   * section 2.2 lets a recipient do so; Tornado and most servers do).
   * Default: on. Risk: a proxy in front that treats a bare LF as part of a
   * field value would see different header lines than we do; such proxies
   * are non-conforming. Chunked framing lines always need CRLF.
   */
  readonly bareLfInHead: boolean
}

/** @since 0.1.0 */
export const defaultLeniency: ParserLeniency = { bareLfInHead: true }

const LF = 0x0a
const CR = 0x0d

/**
 * Scans `buffer[from, end)` for the end of a request head: an empty line
 * (`\r\n\r\n`, or with bare LFs `\n\n`, `\n\r\n`). Returns the index just past
 * it, or `-1` when it is not there yet; then the scan may resume at
 * {@link resumeScanAt}`(end)` once more bytes arrive.
 *
 * @since 0.1.0
 */
export const findHeadEnd = (buffer: Uint8Array, from: number, end: number): number => {
  let i = nextLf(buffer, from, end)
  while (i !== -1) {
    const next = i + 1
    if (next < end) {
      const b = buffer[next]
      if (b === LF) return next + 1
      if (b === CR && next + 1 < end && buffer[next + 1] === LF) return next + 2
    }
    i = nextLf(buffer, next, end)
  }
  return -1
}

/**
 * The next LF in `buffer[from, end)`, or `-1`. Most header lines are short:
 * their first bytes are looked at by a plain loop, which costs less than a
 * call into C++; past them `indexOf` (memchr) takes over.
 */
const nextLf = (buffer: Uint8Array, from: number, end: number): number => {
  const near = from + 32 < end ? from + 32 : end
  for (let i = from; i < near; i++) if (buffer[i] === LF) return i
  if (near === end) return -1
  const i = buffer.indexOf(LF, near)
  return i < end ? i : -1
}

/**
 * Where a scan of a head that was incomplete at `end` should resume: far
 * enough back to see a terminator split across reads.
 *
 * @since 0.1.0
 */
export const resumeScanAt = (start: number, end: number): number => Math.max(start, end - 3)

/**
 * Skips the empty lines a client may send before a request-line (RFC 9112
 * section 2.2: a server SHOULD ignore at least one; some clients send a CRLF
 * after a POST body). An empty line is a CRLF or a LF (the same section lets
 * a recipient take a single LF as a line terminator; between two messages it
 * belongs to neither, so even a parser without the bare-LF leniency loses
 * nothing by skipping it); any number of them is skipped. Anything else
 * starts the request-line, a bare CR included: it is no line terminator, so
 * `\r\r\n` or a lone `\r` before a request is refused there (as h11
 * does; llhttp skips any CR), never read as an empty line by us and as part
 * of a request by a peer. A CR that ends the input may be half a CRLF: the
 * scan stops at it and the next read looks again.
 * Returns the index of the first byte not skipped.
 *
 * @since 0.1.0
 */
export const skipLeadingEmptyLines = (buffer: Uint8Array, start: number, end: number): number => {
  let i = start
  while (i < end) {
    const b = buffer[i]
    if (b === LF) i++
    else if (b === CR && i + 1 < end && buffer[i + 1] === LF) i += 2
    else break
  }
  return i
}

const malformed = (reason: string): never => {
  throw new MalformedRequest({ reason })
}

/**
 * The error for a request-line longer than `limit` bytes (RFC 9112 section
 * 3): a method that has not ended within the limit is longer than any we
 * implement (`501`); otherwise the target is what is longer than we are
 * willing to parse (`414`): the version after it has a fixed length, and
 * garbage there would be refused anyway. `firstSpace` is the offset of the
 * first space from the line's start, -1 if not there (or not yet there).
 *
 * @since 0.1.0
 */
export const requestLineTooLong = (firstSpace: number, limit: number): MethodTooLong | TargetTooLong =>
  firstSpace === -1 || firstSpace >= limit ? new MethodTooLong({ limit }) : new TargetTooLong({ limit })

const VERSION_PATTERN = /^HTTP\/\d\.\d$/
const SCHEME_PATTERN = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//

const isToken = (s: string): boolean => {
  if (s.length === 0) return false
  for (let i = 0; i < s.length; i++) if (TOKEN[s.charCodeAt(i)] === 0) return false
  return true
}

/**
 * Parses the request line: `method SP request-target SP HTTP-version`, single
 * spaces only (RFC 9112 section 3). It is `text[from, end)`: the checks read
 * the (flat) string by index, which is faster than reading slices of it,
 * and only the method and target become strings of their own (the common
 * methods and the versions are constants).
 */
const parseRequestLine = (
  text: string,
  from: number,
  end: number
): { method: string; target: string; version: "HTTP/1.0" | "HTTP/1.1" } => {
  const sp1 = text.indexOf(" ", from)
  if (sp1 <= from || sp1 >= end) return malformed("request line has no method")
  const sp2 = text.indexOf(" ", sp1 + 1)
  if (sp2 === -1 || sp2 >= end) return malformed("request line has no version")
  for (let i = from; i < sp1; i++) if (TOKEN[text.charCodeAt(i)] === 0) return malformed("invalid method")
  if (sp2 === sp1 + 1) return malformed("empty request-target")
  for (let i = sp1 + 1; i < sp2; i++) {
    const c = text.charCodeAt(i)
    if (TARGET[c] === 0) return malformed(c === 0x23 ? "fragment in request-target" : "invalid byte in request-target")
  }
  const method = knownMethod(text, from, sp1 - from) ?? text.slice(from, sp1)
  const target = text.slice(sp1 + 1, sp2)
  const version = versionAt(text, sp2 + 1, end)
  if (version === undefined) {
    const other = text.slice(sp2 + 1, end)
    if (VERSION_PATTERN.test(other)) throw new VersionNotSupported({ version: other })
    return malformed("invalid HTTP version")
  }
  // RFC 9112 section 3.2: the four forms of request-target.
  const first = target.charCodeAt(0)
  if (first !== 0x2f /* / */) {
    if (target === "*") {
      if (method !== "OPTIONS") malformed("asterisk-form target on a method other than OPTIONS")
    } else if (method === "CONNECT") {
      // authority-form (section 3.2.3): uri-host ":" port, checked like a Host
      // value; CONNECT has no default port (RFC 9110 section 9.3.6), so a
      // port number must be there, and a host before it.
      if (!isValidHost(target, 0, target.length) || !hasPort(target)) malformed("invalid authority-form target")
    } else {
      const scheme = SCHEME_PATTERN.exec(target)
      if (scheme === null) malformed("request-target is neither origin-form nor absolute-form")
      // absolute-form (section 3.2.2): its authority is a host, not empty,
      // without userinfo (RFC 9110 sections 4.2.1, 4.2.4), checked like a Host.
      else if (!hasValidAuthority(target, scheme[0].length)) malformed("invalid authority in absolute-form target")
    }
  }
  return { method, target, version }
}

/** `GET`, `POST` or `HEAD` when the method `text[at, at + length)` is one of them. */
const knownMethod = (text: string, at: number, length: number): string | undefined => {
  if (length === 3) {
    return text.charCodeAt(at) === 0x47 && text.charCodeAt(at + 1) === 0x45 && text.charCodeAt(at + 2) === 0x54
      ? "GET"
      : undefined
  }
  if (length === 4) {
    const c0 = text.charCodeAt(at)
    if (
      c0 === 0x50 && text.charCodeAt(at + 1) === 0x4f && text.charCodeAt(at + 2) === 0x53 &&
      text.charCodeAt(at + 3) === 0x54
    ) {
      return "POST"
    }
    if (
      c0 === 0x48 && text.charCodeAt(at + 1) === 0x45 && text.charCodeAt(at + 2) === 0x41 &&
      text.charCodeAt(at + 3) === 0x44
    ) {
      return "HEAD"
    }
  }
  return undefined
}

/** `HTTP/1.1` or `HTTP/1.0` when `text[start, end)` is exactly that. */
const versionAt = (text: string, start: number, end: number): "HTTP/1.1" | "HTTP/1.0" | undefined => {
  if (end - start !== 8) return undefined
  if (
    text.charCodeAt(start) !== 0x48 || text.charCodeAt(start + 1) !== 0x54 || text.charCodeAt(start + 2) !== 0x54 ||
    text.charCodeAt(start + 3) !== 0x50 || text.charCodeAt(start + 4) !== 0x2f || text.charCodeAt(start + 5) !== 0x31 ||
    text.charCodeAt(start + 6) !== 0x2e
  ) {
    return undefined
  }
  const minor = text.charCodeAt(start + 7)
  return minor === 0x31 ? "HTTP/1.1" : minor === 0x30 ? "HTTP/1.0" : undefined
}

/** `target[start, ...)` begins with a non-empty authority of Host bytes, up to a `/`, `?` or the end. */
const hasValidAuthority = (target: string, start: number): boolean => {
  let end = start
  while (end < target.length) {
    const c = target.charCodeAt(end)
    if (c === 0x2f /* / */ || c === 0x3f /* ? */) break
    end++
  }
  return end > start && isValidHost(target, start, end)
}

/** Ends in `":" 1*DIGIT` after a non-empty host (RFC 9112 section 3.2.3, RFC 9110 section 9.3.6). */
const hasPort = (authority: string): boolean => {
  const colon = authority.lastIndexOf(":")
  if (colon <= 0 || colon === authority.length - 1) return false
  for (let i = colon + 1; i < authority.length; i++) {
    const c = authority.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return false
  }
  return true
}

/** Whether `text[start, end)` is a valid Host value (RFC 3986 section 3.2.2 bytes). */
const isValidHost = (text: string, start: number, end: number): boolean => {
  for (let i = start; i < end; i++) if (HOST[text.charCodeAt(i)] === 0) return false
  return true
}

/**
 * Parses `Content-Length` (RFC 9110 section 8.6): digits only. A list of
 * identical values (`5, 5`), which some intermediaries produce by joining
 * duplicate fields, is accepted as that one value; anything else that could
 * be read two ways is refused.
 */
const parseContentLength = (value: string): number => {
  let result = -1
  let start = 0
  while (start <= value.length) {
    let comma = value.indexOf(",", start)
    if (comma === -1) comma = value.length
    let a = start
    let b = comma
    while (a < b && (value.charCodeAt(a) === 0x20 || value.charCodeAt(a) === 0x09)) a++
    while (b > a && (value.charCodeAt(b - 1) === 0x20 || value.charCodeAt(b - 1) === 0x09)) b--
    if (a === b) return malformed("empty Content-Length")
    // More than 15 digits could pass Number.MAX_SAFE_INTEGER: refused, never rounded.
    if (b - a > 15) return malformed("Content-Length too large")
    let n = 0
    for (let i = a; i < b; i++) {
      const d = value.charCodeAt(i) - 0x30
      if (d < 0 || d > 9) return malformed("Content-Length is not a number")
      n = n * 10 + d
    }
    if (result !== -1 && n !== result) return malformed("conflicting Content-Length values")
    result = n
    start = comma + 1
  }
  return result
}

/**
 * Decides what `Transfer-Encoding` means (RFC 9112 section 6.1, 6.3):
 * exactly one `chunked`, last, is the only framing we read. `chunked`
 * anywhere but last, or twice, leaves the length undeterminable: 400. A list
 * of codings without `chunked` names codings we do not implement: 501.
 */
const checkTransferEncoding = (value: string): void => {
  const codings = value.split(",")
  let chunkedAt = -1
  for (let i = 0; i < codings.length; i++) {
    // OWS only (RFC 9110 section 5.6.1): String#trim would also strip U+00A0,
    // i.e. the obs-text byte 0xA0, and read "chunked\xa0" as "chunked" where
    // a proxy in front sees an unknown coding (a smuggling vector).
    const coding = trimOws(codings[i] as string).toLowerCase()
    if (!isToken(coding)) malformed("invalid Transfer-Encoding")
    if (coding === "chunked") {
      if (chunkedAt !== -1) malformed("chunked applied twice")
      chunkedAt = i
    }
  }
  if (chunkedAt === codings.length - 1 && codings.length === 1) return
  if (chunkedAt !== -1 && chunkedAt !== codings.length - 1) malformed("chunked is not the final transfer coding")
  throw new UnsupportedTransferEncoding({ transferEncoding: value })
}

const hasToken = (list: string, token: string): boolean => {
  const lower = list.toLowerCase()
  if (lower === token) return true
  // OWS only, as in checkTransferEncoding: "close\xa0" is not "close".
  for (const part of lower.split(",")) if (trimOws(part) === token) return true
  return false
}

const isOws = (c: number): boolean => c === 0x20 || c === 0x09

/** Strips OWS (SP / HTAB, RFC 9110 section 5.6.3) from both ends, nothing else. */
const trimOws = (s: string): string => {
  let a = 0
  let b = s.length
  while (a < b && isOws(s.charCodeAt(a))) a++
  while (b > a && isOws(s.charCodeAt(b - 1))) b--
  return a === 0 && b === s.length ? s : s.slice(a, b)
}

/**
 * Parses a complete request head: the latin1 text from the request-line up to
 * and including the empty line that ends it, at `from` in `text` (the heads
 * of a pipelined batch are one string; what follows a head's empty line is
 * not read). A request-line (without its line end) longer than
 * `maxRequestLineSize` bytes is refused ({@link requestLineTooLong}).
 *
 * @throws MalformedRequest | VersionNotSupported | UnsupportedTransferEncoding |
 *   MethodTooLong | TargetTooLong
 * @since 0.1.0
 */
export const parseHead = (
  text: string,
  leniency: ParserLeniency = defaultLeniency,
  maxRequestLineSize: number = Infinity,
  from: number = 0
): RequestHead => {
  let lineEnd = text.indexOf("\n", from)
  // The text must hold a whole head (up to findHeadEnd); without this check a
  // missing LF made the request line lose its last character.
  if (lineEnd === -1) malformed("head not terminated by an empty line")
  const lineStop = requestLineEnd(text, from, lineEnd, leniency)
  if (lineStop - from > maxRequestLineSize) {
    const sp = text.indexOf(" ", from)
    throw requestLineTooLong(sp !== -1 && sp < lineStop ? sp - from : -1, maxRequestLineSize)
  }
  const { method, target, version } = parseRequestLine(text, from, lineStop)

  const rawHeaders: Array<string> = []
  let contentLength: string | undefined
  let transferEncoding: string | undefined
  let connection: string | undefined
  let host: string | undefined
  let hostValid = true
  let hostCount = 0
  let expect: string | undefined
  let upgradeField: string | undefined

  let pos = lineEnd + 1
  while (true) {
    lineEnd = text.indexOf("\n", pos)
    if (lineEnd === -1) malformed("head not terminated by an empty line")
    let end = lineEnd
    if (end > pos && text.charCodeAt(end - 1) === CR) end--
    else if (!leniency.bareLfInHead) malformed("header line not ended by CRLF")
    if (end === pos) break // the empty line that ends the head

    const first = text.charCodeAt(pos)
    // RFC 9112 section 5.2: obs-fold is refused in requests.
    if (first === 0x20 || first === 0x09) malformed("obsolete line folding")
    const colon = text.indexOf(":", pos)
    if (colon === -1 || colon >= end) malformed("header line without a colon")
    if (colon === pos) malformed("empty header name")
    for (let i = pos; i < colon; i++) {
      if (TOKEN[text.charCodeAt(i)] === 0) {
        const c = text.charCodeAt(i)
        // RFC 9112 section 5.1: no whitespace between name and colon.
        malformed(c === 0x20 || c === 0x09 ? "whitespace before colon" : "invalid header name")
      }
    }
    let a = colon + 1
    let b = end
    while (a < b && (text.charCodeAt(a) === 0x20 || text.charCodeAt(a) === 0x09)) a++
    while (b > a && (text.charCodeAt(b - 1) === 0x20 || text.charCodeAt(b - 1) === 0x09)) b--
    const name = text.slice(pos, colon)
    const isHost = name.length === 4 && (name === "Host" || name.toLowerCase() === "host")
    // A Host's own bytes (RFC 3986) are all field-value bytes: a Host made
    // of them only needs no second look.
    const hostBytesOnly = isHost && isValidHost(text, a, b)
    if (!hostBytesOnly) {
      for (let i = a; i < b; i++) {
        if (FIELD_VALUE[text.charCodeAt(i)] === 0) malformed("invalid byte in header value")
      }
    }
    const value = text.slice(a, b)
    rawHeaders.push(name, value)

    // Only the fields that frame the message or steer the connection are
    // looked at here; the length switch spares a lowercase copy of the rest.
    switch (name.length) {
      case 4:
        if (isHost) {
          host = value
          hostValid = hostBytesOnly
          hostCount++
        }
        break
      case 6:
        if (name.toLowerCase() === "expect") expect = value
        break
      case 7:
        if (name.toLowerCase() === "upgrade") upgradeField = upgradeField === undefined ? value : upgradeField + ", " + value
        break
      case 10:
        if (name === "Connection" || name.toLowerCase() === "connection") connection = connection === undefined ? value : connection + "," + value
        break
      case 14:
        if (name === "Content-Length" || name.toLowerCase() === "content-length") {
          contentLength = contentLength === undefined ? value : contentLength + "," + value
        }
        break
      case 17:
        if (name === "Transfer-Encoding" || name.toLowerCase() === "transfer-encoding") {
          transferEncoding = transferEncoding === undefined ? value : transferEncoding + "," + value
        }
        break
    }
    pos = lineEnd + 1
  }

  // RFC 9112 section 3.2: an HTTP/1.1 request has exactly one Host.
  if (version === "HTTP/1.1" && hostCount !== 1) malformed(hostCount === 0 ? "missing Host" : "more than one Host")
  if (hostCount > 1) malformed("more than one Host")
  if (host !== undefined && !hostValid) malformed("invalid Host")

  // RFC 9112 section 6.3, in order:
  //  3. Transfer-Encoding and Content-Length together: a smuggling attempt
  //     or a broken intermediary; refused.
  //  4. Transfer-Encoding: chunked last is the framing; other codings 501.
  //     In HTTP/1.0 (section 6.1) Transfer-Encoding cannot be trusted: refused.
  //  5. A valid Content-Length gives the length.
  //  6. Otherwise a request has no body.
  let framing: BodyFraming = noBody
  if (transferEncoding !== undefined) {
    if (contentLength !== undefined) malformed("both Content-Length and Transfer-Encoding")
    if (version === "HTTP/1.0") malformed("Transfer-Encoding in an HTTP/1.0 request")
    checkTransferEncoding(transferEncoding)
    framing = chunked
  } else if (contentLength !== undefined) {
    const length = parseContentLength(contentLength)
    if (length > 0) framing = { _tag: "ContentLength", length }
  }

  // RFC 9112 section 9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only
  // with "keep-alive" (and, like Tornado, only when the body is delimited or
  // the method has none).
  let keepAlive: boolean
  if (version === "HTTP/1.1") {
    keepAlive = connection === undefined || !hasToken(connection, "close")
  } else {
    keepAlive = connection !== undefined && hasToken(connection, "keep-alive") && !hasToken(connection, "close")
  }

  const expectContinue = version === "HTTP/1.1" && expect !== undefined && expect.toLowerCase() === "100-continue"

  const upgrade = version === "HTTP/1.1" && upgradeField !== undefined && connection !== undefined &&
      hasToken(connection, "upgrade")
    ? upgradeField
    : undefined

  return { method, target, version, rawHeaders, framing, keepAlive, expectContinue, host, upgrade }
}

/** Where the request line starting at `from` and ending at the LF `lineEnd` ends, without its CR. */
const requestLineEnd = (text: string, from: number, lineEnd: number, leniency: ParserLeniency): number => {
  if (lineEnd > from && text.charCodeAt(lineEnd - 1) === CR) return lineEnd - 1
  if (!leniency.bareLfInHead) malformed("request line not ended by CRLF")
  return lineEnd
}
