/**
 * Turns a {@link Response} into bytes: status line, header fields and, for
 * bodies known in full, the body, in one Buffer, so that each response costs
 * one socket write.
 *
 * @since 0.1.0
 */
import { STATUS_CODES } from "node:http"
import type { Response, ResponseHeaders } from "../Response/Response.ts"
import { TOKEN } from "./CharClasses.ts"
import { currentDate } from "./DateHeader.ts"

/**
 * What the `Connection` field of a response says: nothing (HTTP/1.1
 * persistence is the default), `close` on the last response of a connection,
 * `Keep-Alive` to an HTTP/1.0 client that asked for it (as Tornado does).
 *
 * @since 0.1.0
 * @category models
 */
export type ConnectionField = "none" | "close" | "keep-alive"

/**
 * A header a handler set that cannot be sent: a name that is not a token, or
 * a value with CR, LF, NUL or a character beyond Latin-1. Sending it could
 * split the response; the server answers 500 instead.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidResponseHeader extends Error {
  readonly headerName: string
  constructor(headerName: string) {
    super(`invalid response header: ${JSON.stringify(headerName)}`)
    this.headerName = headerName
  }
}

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

const statusLines: Array<string> = []
const statusLine = (status: number): string => {
  let line = statusLines[status]
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`
    if (status >= 100 && status < 1000) statusLines[status] = line
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
 * @throws InvalidResponseHeader
 */
const headStart = (status: number, headers: ResponseHeaders): string => {
  let head = statusLine(status)
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
    if (!isToken(name)) throw new InvalidResponseHeader(name)
    if (typeof value === "string") {
      if (INVALID_VALUE.test(value)) throw new InvalidResponseHeader(name)
      head += name + ": " + value + "\r\n"
    } else {
      for (const v of value) {
        if (INVALID_VALUE.test(v)) throw new InvalidResponseHeader(name)
        head += name + ": " + v + "\r\n"
      }
    }
  }
  if (!hasDate) head += "Date: " + currentDate() + "\r\n"
  return head
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
 * @throws InvalidResponseHeader
 * @since 0.1.0
 */
export const serializeResponse = (
  response: Response,
  isHead: boolean,
  connection: ConnectionField,
  write: (data: Uint8Array) => void
): void => {
  const { body, status } = response
  let head = headStart(status, response.headers)
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
 * The head of a response whose body follows as a stream: `Content-Length`
 * when known, else `Transfer-Encoding: chunked` when `chunked`, else nothing
 * (the body ends when the connection closes: HTTP/1.0).
 *
 * @throws InvalidResponseHeader
 * @since 0.1.0
 */
export const serializeStreamHead = (
  response: Response,
  contentLength: number | undefined,
  chunked: boolean,
  connection: ConnectionField
): Buffer => {
  let head = headStart(response.status, response.headers)
  if (!statusHasNoBody(response.status)) {
    if (contentLength !== undefined) head += "Content-Length: " + contentLength + "\r\n"
    else if (chunked) head += "Transfer-Encoding: chunked\r\n"
  }
  head += connectionLines[connection] + "\r\n"
  return Buffer.from(head, "latin1")
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
