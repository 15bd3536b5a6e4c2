/**
 * A handler's {@link Response} as an HTTP/2 header block for
 * `ServerHttp2Stream.respond`: `:status`, the handler's fields with their
 * names lower-cased (RFC 9113 section 8.2.1), the same checks as the
 * HTTP/1.1 serializer's, without the connection-specific fields that
 * HTTP/2 forbids (section 8.2.2) and without the framing fields the server
 * owns (`content-length` is the server's, from the body it sends). No reason
 * phrase: HTTP/2 has none. `date` is added by Node unless the handler set it.
 *
 * @since 0.1.0
 */
import type * as Http2 from "node:http2"
import type { Response } from "../Response/Response.ts"
import { InvalidResponseHeader, InvalidResponseStatus } from "../Wire/HttpErrors.ts"
import { isFinalStatus, isToken, isValidFieldValue } from "../Wire/ResponseSerializer.ts"

/** Fields that mean something only for one HTTP/1.1 connection (RFC 9113 section 8.2.2), and the framing ones. */
const DROPPED: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  // allowed only as `trailers` (RFC 9113 section 8.2.2), which a response never needs
  "te",
  "content-length"
])

/**
 * The header block of `response`, with `content-length` when the body's
 * length is known (`undefined`: not known, or a status without a body).
 *
 * @throws InvalidResponseHeader | InvalidResponseStatus
 * @since 0.1.0
 * @category encoders
 */
export const responseHeaderBlock = (
  response: Response,
  contentLength: number | undefined
): Http2.OutgoingHttpHeaders => {
  if (!isFinalStatus(response.status)) throw new InvalidResponseStatus({ status: response.status })
  // A plain object literal (not `Object.create(null)`): Node copies it key
  // by key, and a dictionary-mode object makes that copy slow.
  const block: Record<string, string | Array<string> | number> = { ":status": response.status }
  const headers = response.headers
  for (const name in headers) {
    const value = headers[name] as string | ReadonlyArray<string>
    const lower = lowerCased(name)
    if (DROPPED.has(lower)) continue
    // `__proto__` would set the block's prototype, not a field.
    if (!isToken(name) || lower === "__proto__") throw new InvalidResponseHeader({ headerName: name })
    if (typeof value === "string") {
      if (!isValidFieldValue(value)) throw new InvalidResponseHeader({ headerName: name })
    } else {
      for (const v of value) if (!isValidFieldValue(v)) throw new InvalidResponseHeader({ headerName: name })
    }
    const before = Object.hasOwn(block, lower) ? block[lower] : undefined
    block[lower] = before === undefined
      ? (typeof value === "string" ? value : value.length === 1 ? value[0] as string : [...value])
      : [...(Array.isArray(before) ? before : [String(before)]), ...(typeof value === "string" ? [value] : value)]
  }
  if (contentLength !== undefined) block["content-length"] = contentLength
  return block
}

/** `name` lower-cased, without a new string when it already is (as most handlers write them). */
const lowerCased = (name: string): string => {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c >= 0x41 && c <= 0x5a) return name.toLowerCase()
  }
  return name
}
