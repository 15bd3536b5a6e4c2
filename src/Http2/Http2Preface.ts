/**
 * Telling an HTTP/2 connection in clear from an HTTP/1.x one by its first
 * bytes: a client with prior knowledge of HTTP/2 opens with the connection
 * preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` (RFC 9113 section 3.4), which
 * no HTTP/1.x request line can begin with (`PRI` is no method of ours, and
 * `HTTP/2.0` no version). Pure: bytes in, a verdict out.
 *
 * @since 0.1.0
 */

/**
 * The 24 bytes an HTTP/2 client sends first.
 *
 * @since 0.1.0
 * @category constants
 */
export const HTTP2_PREFACE: Buffer = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1")

/**
 * What the first bytes say: `Http2` once the whole preface is in, `Http1`
 * as soon as a byte differs from it, `Undecided` while they are a proper
 * prefix of it (read more).
 *
 * @since 0.1.0
 * @category models
 */
export type PrefaceVerdict = "Http2" | "Http1" | "Undecided"

/**
 * The verdict on the bytes a connection has sent so far.
 *
 * @since 0.1.0
 * @category decoders
 */
export const prefaceVerdict = (received: Uint8Array): PrefaceVerdict => {
  const n = Math.min(received.byteLength, HTTP2_PREFACE.byteLength)
  for (let i = 0; i < n; i++) {
    if (received[i] !== HTTP2_PREFACE[i]) return "Http1"
  }
  return n === HTTP2_PREFACE.byteLength ? "Http2" : "Undecided"
}
