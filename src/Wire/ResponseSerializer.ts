/**
 * Turns a {@link Response} into bytes: status line, header fields and, for
 * bodies known in full, the body, in one Buffer, so that each response costs
 * one socket write.
 *
 * @since 0.1.0
 */
import { STATUS_CODES } from "node:http"
import { checkReasonPhrase, type Response, type ResponseBody, type ResponseHeaders } from "../Response/Response.ts"
import { TOKEN } from "./CharClasses.ts"
import { currentDate, currentDateLine } from "./DateHeader.ts"
import { InvalidResponseHeader, InvalidResponseStatus } from "./HttpErrors.ts"
import { type ResponseFraming, statusHasNoBody } from "./ResponseFraming.ts"

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

/**
 * Whether a header field value may be sent: tab, space, visible ASCII and
 * Latin-1 (no CR, LF or other controls).
 *
 * @since 0.1.0
 */
export const isValidFieldValue = (value: string): boolean => !INVALID_VALUE.test(value)

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

const connectionLines: Record<ConnectionField, string> = {
  none: "",
  close: "Connection: close\r\n",
  "keep-alive": "Connection: Keep-Alive\r\n"
}

/**
 * Whether a header field name is a token (RFC 9110 section 5.1).
 *
 * @since 0.1.0
 */
export const isToken = (s: string): boolean => {
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
 * `Bytes`) under its framing (`Length`, or `NoBody`; see
 * `ResponseFraming.framingOf`) into one Buffer; a large byte body follows as
 * a second piece, not copied (see {@link ZERO_COPY_MIN_BYTES}). The answer
 * to a HEAD (`sendsBody` false) has the `Content-Length` of the body and no
 * body (RFC 9110 section 9.3.2). Returns the body bytes written.
 *
 * What it keeps between calls (the bytes of a response, a headers object or
 * a text answered again) is checked against the response's content at each
 * use: a handler may reuse and change its own objects.
 *
 * @throws InvalidResponseHeader | InvalidResponseStatus
 * @throws InvalidReasonPhrase
 * @since 0.1.0
 */
export const serializeResponse = (
  response: Response,
  framing: ResponseFraming,
  connection: ConnectionField,
  write: (data: Uint8Array) => void
): number => {
  const ready = prepared.get(response)
  if (ready !== undefined && stillPrepared(ready, response)) return writePrepared(ready, framing, connection, write)
  if (response === lastResponse) {
    // The same response object answered twice in a row: prepare its bytes.
    const made = prepare(response)
    if (made !== undefined) {
      prepared.set(response, made)
      return writePrepared(made, framing, connection, write)
    }
  }
  lastResponse = response
  const { body, status } = response
  const cachedHead = cachedHandlerHead(status, response.reason, response.headers)
  if (cachedHead !== undefined) return writeWithHead(cachedHead, response, framing, connection, write)
  let head = headStart(response)
  const noBody = framing._tag === "NoBody"
  let bodyLength = 0
  if (body._tag === "Text") bodyLength = Buffer.byteLength(body.text, "utf8")
  else if (body._tag === "Bytes") bodyLength = body.bytes.byteLength
  if (!noBody) head += "Content-Length: " + bodyLength + "\r\n"
  head += connectionLines[connection] + "\r\n"
  if (!framing.sendsBody || bodyLength === 0) {
    write(Buffer.from(head, "latin1"))
    return 0
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
  return bodyLength
}

/**
 * The header fields of a response as they were when their bytes were made:
 * names and values in order (an array value copied), to hold a kept head to
 * the headers object it was made from.
 */
/**
 * The snapshot of a frozen headers object whose values are all strings
 * (the constructors' own, or a handler's frozen constant): it cannot change,
 * so nothing needs comparing.
 */
const FROZEN: unique symbol = Symbol("frozen headers")

type HeaderSnapshot = ReadonlyArray<string | ReadonlyArray<string>> | typeof FROZEN

const snapshotOf = (headers: ResponseHeaders): HeaderSnapshot => {
  const snapshot: Array<string | ReadonlyArray<string>> = []
  let strings = true
  for (const name in headers) {
    const value = headers[name] as string | ReadonlyArray<string>
    if (typeof value !== "string") strings = false
    snapshot.push(name, typeof value === "string" ? value : [...value])
  }
  return strings && Object.isFrozen(headers) ? FROZEN : snapshot
}

/** Whether `headers` still holds what `snapshot` recorded, in the same order. */
const sameHeaders = (headers: ResponseHeaders, snapshot: HeaderSnapshot): boolean => {
  if (snapshot === FROZEN) return true
  let i = 0
  for (const name in headers) {
    if (snapshot[i] !== name) return false
    const value = headers[name] as string | ReadonlyArray<string>
    const kept = snapshot[i + 1]
    if (typeof value === "string" || typeof kept === "string") {
      if (value !== kept) return false
    } else if (kept === undefined || value.length !== kept.length || value.some((v, j) => v !== kept[j])) {
      return false
    }
    i += 2
  }
  return i === snapshot.length
}

/**
 * A response object a handler answers with again and again (a constant
 * `Response.text("Hello world")`) is serialized once: its status line,
 * headers and `Content-Length` as bytes, its body encoded. What changes per
 * response (`Date`, `Connection`) is added from ready-made bytes, so the hot
 * path copies bytes instead of building and encoding strings.
 */
interface PreparedResponse {
  /** What the bytes were made of, checked at each use (see {@link stillPrepared}). */
  readonly status: number
  readonly reason: string | undefined
  readonly headers: ResponseHeaders
  readonly snapshot: HeaderSnapshot
  readonly source: ResponseBody
  readonly text: string | undefined
  readonly bytes: Uint8Array | undefined
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
  written: {
    readonly date: Uint8Array
    readonly connection: ConnectionField
    readonly framing: ResponseFraming
    readonly bytes: Buffer
  } | undefined
}

const prepared = new WeakMap<Response, PreparedResponse>()
/**
 * The response serialized last. Only a response seen twice in a row is
 * prepared: one comparison is all a handler that makes a new response each
 * time pays, and nothing it makes is kept.
 */
let lastResponse: Response | undefined = undefined

/** Whether the response still says what its prepared bytes were made of. */
const stillPrepared = (ready: PreparedResponse, response: Response): boolean => {
  const body = response.body
  return ready.status === response.status && ready.reason === response.reason && ready.source === body &&
    (body._tag === "Text" ? ready.text === body.text : body._tag === "Bytes" ? ready.bytes === body.bytes : true) &&
    ready.headers === response.headers && sameHeaders(response.headers, ready.snapshot)
}

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
    status,
    reason: response.reason,
    headers: response.headers,
    snapshot: snapshotOf(response.headers),
    source: body,
    text: body._tag === "Text" ? body.text : undefined,
    bytes: body._tag === "Bytes" ? body.bytes : undefined,
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
 * every `Response.text`), under the same "twice in a row" rule, and checked
 * against the object's content at each use.
 */
interface HandlerHeadBytes {
  readonly status: number
  readonly reason: string | undefined
  readonly snapshot: HeaderSnapshot
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
  if (cached !== undefined && cached.status === status && cached.reason === reason && sameHeaders(headers, cached.snapshot)) {
    return cached
  }
  if (headers === lastHeaders && status === lastStatus && reason === lastReason) {
    const start = handlerHead(status, reason, headers)
    const made: HandlerHeadBytes = { status, reason, snapshot: snapshotOf(headers), head: Buffer.from(start.text, "latin1"), hasDate: start.hasDate }
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

/** Writes a kept head's status line and handler fields, then the Date line, at 0; returns where the framing line goes. */
const putHeadStart = (out: Buffer, head: Uint8Array, date: Uint8Array): number => {
  out.set(head, 0)
  out.set(date, head.length)
  return head.length + date.byteLength
}

/** Writes the Connection line and the empty line that ends the head at `at`; returns where the body goes. */
const putHeadEnd = (out: Buffer, at: number, connectionLine: Uint8Array): number => {
  out.set(connectionLine, at)
  at += connectionLine.length
  out[at] = 0x0d
  out[at + 1] = 0x0a
  return at + 2
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
  readonly framing: ResponseFraming
  readonly bytes: Buffer
  /** The body bytes among them. */
  readonly sent: number
}

let lastText: WrittenText | undefined = undefined

/** Writes a response whose status line and handler headers are ready as bytes; returns the body bytes written. */
const writeWithHead = (
  start: HandlerHeadBytes,
  response: Response,
  framing: ResponseFraming,
  connection: ConnectionField,
  write: (data: Uint8Array) => void
): number => {
  const body = response.body
  const date = start.hasDate ? NO_BYTES : currentDateLine()
  const last = lastText
  if (
    last !== undefined && body._tag === "Text" && last.text === body.text && last.start === start &&
    last.date === date && last.connection === connection && last.framing === framing
  ) {
    write(last.bytes)
    return last.sent
  }
  const noBody = framing._tag === "NoBody"
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
  const sent = framing.sendsBody ? bodyLength : 0
  const inline = !(body._tag === "Bytes" && sent >= ZERO_COPY_MIN_BYTES)
  const out = Buffer.allocUnsafe(headLength + (inline ? sent : 0))
  let at = putHeadStart(out, start.head, date)
  if (!noBody) at = putContentLength(out, at, bodyLength, digits)
  at = putHeadEnd(out, at, connectionLine)
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
  if (body._tag === "Text") lastText = { start, text: body.text, date, connection, framing, bytes: out, sent }
  write(out)
  if (sent > 0 && !inline && body._tag === "Bytes") write(body.bytes)
  return sent
}

const writePrepared = (
  ready: PreparedResponse,
  framing: ResponseFraming,
  connection: ConnectionField,
  write: (data: Uint8Array) => void
): number => {
  const date = ready.hasDate ? NO_BYTES : currentDateLine()
  const body = framing.sendsBody ? ready.body : NO_BYTES
  const written = ready.written
  if (written !== undefined && written.date === date && written.connection === connection && written.framing === framing) {
    write(written.bytes)
    return body.byteLength
  }
  const connectionLine = connectionLineBytes[connection]
  const headLength = ready.head.length + date.byteLength + ready.contentLength.length + connectionLine.length + 2
  const inline = body.byteLength < ZERO_COPY_MIN_BYTES
  const out = Buffer.allocUnsafe(headLength + (inline ? body.byteLength : 0))
  let at = putHeadStart(out, ready.head, date)
  out.set(ready.contentLength, at)
  at = putHeadEnd(out, at + ready.contentLength.length, connectionLine)
  if (inline) {
    out.set(body, at)
    if (ready.ownBody) ready.written = { date, connection, framing, bytes: out }
    write(out)
  } else {
    write(out)
    write(body)
  }
  return body.byteLength
}

/**
 * The head of a response whose body follows as a stream, under its framing
 * (see `ResponseFraming.framingOf`): `Content-Length: declared`,
 * `Transfer-Encoding: chunked`, or no framing field.
 *
 * @throws InvalidResponseHeader | InvalidResponseStatus
 * @throws InvalidReasonPhrase
 * @since 0.1.0
 */
export const serializeStreamHead = (
  response: Response,
  framing: ResponseFraming,
  declared: number,
  connection: ConnectionField
): Buffer => {
  const framingLine = framing._tag === "Length"
    ? "Content-Length: " + declared + "\r\n"
    : framing._tag === "Chunked"
    ? "Transfer-Encoding: chunked\r\n"
    : ""
  // Heads are kept as for whole responses (see `cachedHandlerHead`): a
  // handler streaming under the same headers each time is not validated again.
  const cached = cachedHandlerHead(response.status, response.reason, response.headers)
  if (cached !== undefined) {
    const date = cached.hasDate ? NO_BYTES : currentDateLine()
    const connectionLine = connectionLineBytes[connection]
    const out = Buffer.allocUnsafe(cached.head.length + date.byteLength + framingLine.length + connectionLine.length + 2)
    const at = putHeadStart(out, cached.head, date)
    putHeadEnd(out, at + out.write(framingLine, at, "latin1"), connectionLine)
    return out
  }
  return Buffer.from(headStart(response) + framingLine + connectionLines[connection] + "\r\n", "latin1")
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
 * The interim response to `Expect: 100-continue` (RFC 9110 section 10.1.1).
 *
 * @since 0.1.0
 */
export const CONTINUE: Buffer = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1")
