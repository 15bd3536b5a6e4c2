/**
 * Turns a {@link Response} into bytes: status line, header fields and, for
 * bodies known in full, the body, in one Buffer, so that each response costs
 * one socket write.
 *
 * @since 0.1.0
 */
import { STATUS_CODES } from "node:http"
import { checkReasonPhrase, type Response, type ResponseHeaders } from "../Response/Response.ts"
import { TOKEN } from "./CharClasses.ts"
import { currentDate, currentDateLine } from "./DateHeader.ts"
import { InvalidResponseHeader, InvalidResponseStatus } from "./HttpErrors.ts"

/**
 * What the `Connection` field of a response says: nothing (HTTP/1.1
 * persistence is the default), `close` on the last response of a connection,
 * `Keep-Alive` to an HTTP/1.0 client that asked for it (as Tornado does).
 *
 * @since 0.1.0
 * @category models
 */
export type ConnectionField = "none" | "close" | "keep-alive"

const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/

/** RFC 9110 section 15 names where Node's table still has the older ones. */
const reasonOverrides: Record<number, string> = {
  413: "Content Too Large",
  422: "Unprocessable Content"
}

/**
 * The reason phrase of a status code.
 *
 * @since 0.1.0
 */
export const reasonPhrase = (status: number): string => reasonOverrides[status] ?? STATUS_CODES[status] ?? "Unknown"

/**
 * Whether a status can be a final response (RFC 9110 section 15): 1xx are
 * interim (and 101 hands the connection over, which this server does not).
 *
 * @since 0.1.0
 */
export const isFinalStatus = (status: unknown): status is number =>
  typeof status === "number" && Number.isInteger(status) && status >= 200 && status <= 599

const statusLines: Array<string> = []
/**
 * The status line; a reason of the handler's own is checked, the standard
 * ones are kept ready per status (so a status is checked once).
 *
 * @throws InvalidResponseStatus | InvalidReasonPhrase
 */
const statusLine = (status: number, reason: string | undefined): string => {
  if (reason !== undefined) {
    if (!isFinalStatus(status)) throw new InvalidResponseStatus({ status })
    return `HTTP/1.1 ${status} ${checkReasonPhrase(reason)}\r\n`
  }
  let line = statusLines[status]
  if (line === undefined) {
    if (!isFinalStatus(status)) throw new InvalidResponseStatus({ status })
    line = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`
    statusLines[status] = line
  }
  return line
}

/**
 * Whether a response with this status has no body (RFC 9110 sections 15.2,
 * 15.3.5, 15.4.5): 1xx, 204 and 304.
 *
 * @since 0.1.0
 */
export const statusHasNoBody = (status: number): boolean => status < 200 || status === 204 || status === 304

const connectionLines: Record<ConnectionField, string> = {
  none: "",
  close: "Connection: close\r\n",
  "keep-alive": "Connection: Keep-Alive\r\n"
}

const isToken = (s: string): boolean => {
  if (s.length === 0) return false
  for (let i = 0; i < s.length; i++) if (TOKEN[s.charCodeAt(i)] === 0) return false
  return true
}

/**
 * The status line and the handler's header fields, without the framing
 * fields, which the server owns; `Date` added unless set.
 *
 * @throws InvalidResponseHeader | InvalidResponseStatus
 * @throws InvalidReasonPhrase
 */
const headStart = (response: Response): string => {
  const start = handlerHead(response.status, response.reason, response.headers)
  return start.hasDate ? start.text : start.text + "Date: " + currentDate() + "\r\n"
}

/**
 * The status line and the handler's header fields, validated, without the
 * framing fields; and whether the handler set `Date`.
 *
 * @throws InvalidResponseHeader | InvalidResponseStatus
 * @throws InvalidReasonPhrase
 */
const handlerHead = (
  status: number,
  reason: string | undefined,
  headers: ResponseHeaders
): { readonly text: string; readonly hasDate: boolean } => withHeaderLines(statusLine(status, reason), headers)

/**
 * A status line followed by the handler's header fields, validated, without
 * the framing fields; and whether the handler set `Date`.
 *
 * @throws InvalidResponseHeader
 */
const withHeaderLines = (
  line: string,
  headers: ResponseHeaders
): { readonly text: string; readonly hasDate: boolean } => {
  let head = line
  let hasDate = false
  for (const name in headers) {
    const value = headers[name] as string | ReadonlyArray<string>
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === "date") hasDate = true
        break
      case 10:
        if (name.toLowerCase() === "connection") continue
        break
      case 14:
        if (name.toLowerCase() === "content-length") continue
        break
      case 17:
        if (name.toLowerCase() === "transfer-encoding") continue
        break
    }
    if (!isToken(name)) throw new InvalidResponseHeader({ headerName: name })
    if (typeof value === "string") {
      if (INVALID_VALUE.test(value)) throw new InvalidResponseHeader({ headerName: name })
      head += name + ": " + value + "\r\n"
    } else {
      for (const v of value) {
        if (INVALID_VALUE.test(v)) throw new InvalidResponseHeader({ headerName: name })
        head += name + ": " + v + "\r\n"
      }
    }
  }
  return { text: head, hasDate }
}

/**
 * Byte bodies from this size on are written as they are, after the head,
 * rather than copied into one buffer with it: the copy would cost more than
 * the second piece of a vectored write.
 *
 * @since 0.1.0
 */
export const ZERO_COPY_MIN_BYTES = 16 * 1024

/**
 * Serializes a response whose body is known in full (`Empty`, `Text`,
 * `Bytes`) into one Buffer; a large byte body follows as a second piece,
 * not copied (see {@link ZERO_COPY_MIN_BYTES}). For HEAD the `Content-Length`
 * of the body is sent but not the body (RFC 9110 section 9.3.2).
 *
 * @throws InvalidResponseHeader | InvalidResponseStatus
 * @throws InvalidReasonPhrase
 * @since 0.1.0
 */
export const serializeResponse = (
  response: Response,
  isHead: boolean,
  connection: ConnectionField,
  write: (data: Uint8Array) => void
): void => {
  const ready = prepared.get(response)
  if (ready !== undefined) return writePrepared(ready, isHead, connection, write)
  if (response === lastResponse) {
    // The same response object answered twice in a row: prepare its bytes.
    const made = prepare(response)
    if (made !== undefined) {
      prepared.set(response, made)
      return writePrepared(made, isHead, connection, write)
    }
  }
  lastResponse = response
  const { body, status } = response
  const cachedHead = cachedHandlerHead(status, response.reason, response.headers)
  if (cachedHead !== undefined) return writeWithHead(cachedHead, response, isHead, connection, write)
  let head = headStart(response)
  const noBody = statusHasNoBody(status)
  let bodyLength = 0
  if (body._tag === "Text") bodyLength = Buffer.byteLength(body.text, "utf8")
  else if (body._tag === "Bytes") bodyLength = body.bytes.byteLength
  if (!noBody) head += "Content-Length: " + bodyLength + "\r\n"
  head += connectionLines[connection] + "\r\n"
  if (noBody || isHead || bodyLength === 0) {
    write(Buffer.from(head, "latin1"))
  } else if (body._tag === "Bytes" && bodyLength >= ZERO_COPY_MIN_BYTES) {
    write(Buffer.from(head, "latin1"))
    write(body.bytes)
  } else {
    const out = Buffer.allocUnsafe(head.length + bodyLength)
    out.write(head, 0, "latin1")
    if (body._tag === "Text") out.write(body.text, head.length, "utf8")
    else if (body._tag === "Bytes") out.set(body.bytes, head.length)
    write(out)
  }
}

/**
 * A response object a handler answers with again and again (a constant
 * `Response.text("Hello world")`) is serialized once: its status line,
 * headers and `Content-Length` as bytes, its body encoded. What changes per
 * response (`Date`, `Connection`) is added from ready-made bytes, so the hot
 * path copies bytes instead of building and encoding strings.
 */
interface PreparedResponse {
  /** Status line and the handler's header fields. */
  readonly head: Buffer
  readonly hasDate: boolean
  /** The `Content-Length` line, empty for statuses without a body. */
  readonly contentLength: Buffer
  /** The body, or empty for statuses without one. */
  readonly body: Uint8Array
  /** Whether the body bytes are ours (encoded text, or none), so cannot change. */
  readonly ownBody: boolean
  /**
   * The bytes written last and what they depend on besides the response:
   * the same bytes serve again until the Date line changes (for a body that
   * cannot change, and small enough to be copied with the head).
   */
  written: { readonly date: Uint8Array; readonly connection: ConnectionField; readonly isHead: boolean; readonly bytes: Buffer } | undefined
}

const prepared = new WeakMap<Response, PreparedResponse>()
/**
 * The response serialized last. Only a response seen twice in a row is
 * prepared: one comparison is all a handler that makes a new response each
 * time pays, and nothing it makes is kept.
 */
let lastResponse: Response | undefined = undefined

const connectionLineBytes: Record<ConnectionField, Buffer> = {
  none: Buffer.alloc(0),
  close: Buffer.from(connectionLines.close, "latin1"),
  "keep-alive": Buffer.from(connectionLines["keep-alive"], "latin1")
}
const NO_BYTES = new Uint8Array(0)

const prepare = (response: Response): PreparedResponse | undefined => {
  const { body, status } = response
  if (body._tag === "Stream") return undefined
  const start = handlerHead(status, response.reason, response.headers)
  const noBody = statusHasNoBody(status)
  const bytes = noBody || body._tag === "Empty"
    ? NO_BYTES
    : body._tag === "Text"
    ? Buffer.from(body.text, "utf8")
    : body.bytes
  return {
    head: Buffer.from(start.text, "latin1"),
    hasDate: start.hasDate,
    contentLength: noBody ? Buffer.alloc(0) : Buffer.from("Content-Length: " + bytes.byteLength + "\r\n", "latin1"),
    body: noBody ? NO_BYTES : bytes,
    ownBody: noBody || body._tag !== "Bytes",
    written: undefined
  }
}

/**
 * The bytes of a status line and handler headers, kept for a headers object
 * that comes back (a constant `{ "Content-Type": "text/plain" }` handed to
 * every `Response.text`), under the same "twice in a row" rule.
 */
interface HandlerHeadBytes {
  readonly status: number
  readonly reason: string | undefined
  readonly head: Buffer
  readonly hasDate: boolean
}

const handlerHeads = new WeakMap<ResponseHeaders, HandlerHeadBytes>()
let lastHeaders: ResponseHeaders | undefined = undefined
let lastStatus = 0
let lastReason: string | undefined = undefined

const cachedHandlerHead = (
  status: number,
  reason: string | undefined,
  headers: ResponseHeaders
): HandlerHeadBytes | undefined => {
  const cached = handlerHeads.get(headers)
  if (cached !== undefined && cached.status === status && cached.reason === reason) return cached
  if (headers === lastHeaders && status === lastStatus && reason === lastReason) {
    const start = handlerHead(status, reason, headers)
    const made = { status, reason, head: Buffer.from(start.text, "latin1"), hasDate: start.hasDate }
    handlerHeads.set(headers, made)
    return made
  }
  lastHeaders = headers
  lastStatus = status
  lastReason = reason
  return undefined
}

const CONTENT_LENGTH_NAME = Buffer.from("Content-Length: ", "latin1")

/** The number of decimal digits of a non-negative integer. */
const digitCount = (n: number): number => {
  let digits = 1
  while (n >= 10) {
    n = Math.floor(n / 10)
    digits++
  }
  return digits
}

/**
 * Writes `Content-Length: n\r\n` into `out` at `at`, digit by digit (a
 * string write per response costs more than the loop); returns the offset
 * after it.
 */
const putContentLength = (out: Buffer, at: number, n: number, digits: number): number => {
  out.set(CONTENT_LENGTH_NAME, at)
  at += CONTENT_LENGTH_NAME.length
  let end = at + digits
  for (let i = end - 1; i >= at; i--) {
    out[i] = 0x30 + (n % 10)
    n = Math.floor(n / 10)
  }
  out[end++] = 0x0d
  out[end++] = 0x0a
  return end
}

/** Text bodies up to this length are checked for ASCII and copied by a loop. */
const SHORT_TEXT = 128

/** The UTF-8 length of `text`, and whether it is short ASCII (`-1` when it is not). */
const shortAsciiLength = (text: string): number => {
  const length = text.length
  if (length > SHORT_TEXT) return -1
  for (let i = 0; i < length; i++) if (text.charCodeAt(i) > 0x7f) return -1
  return length
}

/**
 * The bytes {@link writeWithHead} wrote last, and what they were made of. A
 * fresh response with the same head and the same text as the one before (a
 * handler answering `Response.text("ok", { headers })` each time) is the
 * same bytes again until the Date line changes: they are written again, not
 * made again. Text only: strings cannot change, a byte body could have.
 */
interface WrittenText {
  readonly start: HandlerHeadBytes
  readonly text: string
  readonly date: Uint8Array
  readonly connection: ConnectionField
  readonly isHead: boolean
  readonly bytes: Buffer
}

let lastText: WrittenText | undefined = undefined

/** Writes a response whose status line and handler headers are ready as bytes. */
const writeWithHead = (
  start: HandlerHeadBytes,
  response: Response,
  isHead: boolean,
  connection: ConnectionField,
  write: (data: Uint8Array) => void
): void => {
  const body = response.body
  const date = start.hasDate ? NO_BYTES : currentDateLine()
  const last = lastText
  if (
    last !== undefined && body._tag === "Text" && last.text === body.text && last.start === start &&
    last.date === date && last.connection === connection && last.isHead === isHead
  ) {
    return write(last.bytes)
  }
  const noBody = statusHasNoBody(response.status)
  let ascii = -1
  let bodyLength = 0
  if (body._tag === "Text") {
    ascii = shortAsciiLength(body.text)
    bodyLength = ascii >= 0 ? ascii : Buffer.byteLength(body.text, "utf8")
  } else if (body._tag === "Bytes") {
    bodyLength = body.bytes.byteLength
  }
  const digits = noBody ? 0 : digitCount(bodyLength)
  const contentLengthBytes = noBody ? 0 : CONTENT_LENGTH_NAME.length + digits + 2
  const connectionLine = connectionLineBytes[connection]
  const headLength = start.head.length + date.byteLength + contentLengthBytes + connectionLine.length + 2
  const sent = noBody || isHead ? 0 : bodyLength
  const inline = !(body._tag === "Bytes" && sent >= ZERO_COPY_MIN_BYTES)
  const out = Buffer.allocUnsafe(headLength + (inline ? sent : 0))
  out.set(start.head, 0)
  let at = start.head.length
  out.set(date, at)
  at += date.byteLength
  if (!noBody) at = putContentLength(out, at, bodyLength, digits)
  out.set(connectionLine, at)
  at += connectionLine.length
  out[at++] = 0x0d
  out[at++] = 0x0a
  if (sent > 0 && inline) {
    if (body._tag === "Text") {
      if (ascii >= 0) {
        const text = body.text
        for (let i = 0; i < ascii; i++) out[at + i] = text.charCodeAt(i)
      } else {
        out.write(body.text, at, "utf8")
      }
    } else if (body._tag === "Bytes") {
      out.set(body.bytes, at)
    }
  }
  if (body._tag === "Text") lastText = { start, text: body.text, date, connection, isHead, bytes: out }
  write(out)
  if (sent > 0 && !inline && body._tag === "Bytes") write(body.bytes)
}

const writePrepared = (
  ready: PreparedResponse,
  isHead: boolean,
  connection: ConnectionField,
  write: (data: Uint8Array) => void
): void => {
  const date = ready.hasDate ? NO_BYTES : currentDateLine()
  const written = ready.written
  if (written !== undefined && written.date === date && written.connection === connection && written.isHead === isHead) {
    return write(written.bytes)
  }
  const connectionLine = connectionLineBytes[connection]
  const headLength = ready.head.length + date.byteLength + ready.contentLength.length + connectionLine.length + 2
  const body = isHead ? NO_BYTES : ready.body
  const inline = body.byteLength < ZERO_COPY_MIN_BYTES
  const out = Buffer.allocUnsafe(headLength + (inline ? body.byteLength : 0))
  out.set(ready.head, 0)
  let at = ready.head.length
  out.set(date, at)
  at += date.byteLength
  out.set(ready.contentLength, at)
  at += ready.contentLength.length
  out.set(connectionLine, at)
  at += connectionLine.length
  out[at++] = 0x0d
  out[at++] = 0x0a
  if (inline) {
    out.set(body, at)
    if (ready.ownBody) ready.written = { date, connection, isHead, bytes: out }
    write(out)
  } else {
    write(out)
    write(body)
  }
}

/**
 * The head of a response whose body follows as a stream: `Content-Length`
 * when known, else `Transfer-Encoding: chunked` when `chunked`, else nothing
 * (the body ends when the connection closes: HTTP/1.0).
 *
 * @throws InvalidResponseHeader | InvalidResponseStatus
 * @throws InvalidReasonPhrase
 * @since 0.1.0
 */
export const serializeStreamHead = (
  response: Response,
  contentLength: number | undefined,
  chunked: boolean,
  connection: ConnectionField
): Buffer => {
  let head = headStart(response)
  if (!statusHasNoBody(response.status)) {
    if (contentLength !== undefined) head += "Content-Length: " + contentLength + "\r\n"
    else if (chunked) head += "Transfer-Encoding: chunked\r\n"
  }
  head += connectionLines[connection] + "\r\n"
  return Buffer.from(head, "latin1")
}

/**
 * The head of a response that hands the connection over to another
 * protocol: `101 Switching Protocols` with `Connection: Upgrade` (RFC 9110
 * sections 15.2.2 and 7.8), or a 2xx to a `CONNECT`, which has no framing
 * fields (section 9.3.6). The handler's header fields (its `Upgrade`) follow
 * as for any response.
 *
 * @throws InvalidResponseHeader | InvalidResponseStatus
 * @throws InvalidReasonPhrase
 * @since 0.1.0
 */
export const serializeSwitchHead = (response: Response): Buffer => {
  const { status, reason } = response
  const switching = status === 101
  if (!switching && !(isFinalStatus(status) && status < 300)) throw new InvalidResponseStatus({ status })
  const line = switching
    ? `HTTP/1.1 101 ${reason === undefined ? reasonPhrase(101) : checkReasonPhrase(reason)}\r\n`
    : statusLine(status, reason)
  const start = withHeaderLines(line, response.headers)
  const date = start.hasDate ? "" : "Date: " + currentDate() + "\r\n"
  return Buffer.from(start.text + date + (switching ? "Connection: Upgrade\r\n" : "") + "\r\n", "latin1")
}

/**
 * One chunk of a chunked body (RFC 9112 section 7.1): size in hex, CRLF,
 * data, CRLF, as one Buffer. Empty data would end the body, so it is the
 * caller's to skip.
 *
 * @since 0.1.0
 */
export const encodeChunk = (data: Uint8Array): Buffer => {
  const sizeLine = data.byteLength.toString(16) + "\r\n"
  const out = Buffer.allocUnsafe(sizeLine.length + data.byteLength + 2)
  out.write(sizeLine, 0, "latin1")
  out.set(data, sizeLine.length)
  out[out.length - 2] = 0x0d
  out[out.length - 1] = 0x0a
  return out
}

/**
 * The last chunk and the empty trailer section that end a chunked body.
 *
 * @since 0.1.0
 */
export const LAST_CHUNK: Buffer = Buffer.from("0\r\n\r\n", "latin1")

/**
 * The interim response to `Expect: 100-continue` (RFC 9110 section 10.1.1).
 *
 * @since 0.1.0
 */
export const CONTINUE: Buffer = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1")
