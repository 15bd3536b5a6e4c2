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
  const block: Record<string, string | Array<string> | number> = Object.create(null)
  block[":status"] = response.status
  for (const name in response.headers) {
    const lower = name.toLowerCase()
    if (DROPPED.has(lower)) continue
    if (!isToken(name)) throw new InvalidResponseHeader({ headerName: name })
    const value = response.headers[name] as string | ReadonlyArray<string>
    const values = typeof value === "string" ? [value] : value
    for (const v of values) if (!isValidFieldValue(v)) throw new InvalidResponseHeader({ headerName: name })
    const before = block[lower]
    block[lower] = before === undefined
      ? (values.length === 1 ? values[0] as string : [...values])
      : [...(Array.isArray(before) ? before : [String(before)]), ...values]
  }
  if (contentLength !== undefined) block["content-length"] = contentLength
  return block
}
