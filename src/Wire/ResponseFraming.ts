/**
 * How a response's body is delimited on the wire, decided once per response,
 * and the encoder that holds a streamed body to that decision (in the manner
 * of hyper's `Encoder::length | chunked | close_delimited` and h11's
 * `ContentLengthWriter`).
 *
 * The server's side of RFC 9112 section 6, written out:
 * 1. No body follows the answer to a HEAD request, nor a 1xx, 204 or 304
 *    status (RFC 9110 sections 9.3.2, 15.2, 15.3.5, 15.4.5). A 204, 304 or
 *    1xx head carries no framing field either; the answer to a HEAD carries
 *    the field the same GET would have had.
 * 2. A body whose length is known (a whole body, or a stream with a declared
 *    length) is sent with `Content-Length` (section 6.2).
 * 3. A stream of unknown length to an HTTP/1.1 client is sent chunked
 *    (section 7.1).
 * 4. A stream of unknown length to an HTTP/1.0 client ends when the
 *    connection closes (section 6.3, rule 8, from the client's side).
 *
 * @since 0.1.0
 */
import { ResponseLengthMismatch } from "./HttpErrors.ts"

/**
 * The framing of one response:
 * - `Length`: `Content-Length` (the whole body's byte count, or a stream's
 *   declared length), then exactly that many bytes;
 * - `Chunked`: `Transfer-Encoding: chunked`, then chunks and the last chunk;
 * - `CloseDelimited`: no framing field; the body ends with the connection;
 * - `NoBody`: no framing field and no body (1xx, 204, 304).
 *
 * `sendsBody` is false for the answer to a HEAD: its head says what a GET
 * would have sent, and nothing follows it.
 *
 * @since 0.1.0
 * @category models
 */
export type ResponseFraming =
  | { readonly _tag: "Length"; readonly sendsBody: boolean }
  | { readonly _tag: "Chunked"; readonly sendsBody: boolean }
  | { readonly _tag: "CloseDelimited"; readonly sendsBody: true }
  | { readonly _tag: "NoBody"; readonly sendsBody: false }

const LENGTH: ResponseFraming = { _tag: "Length", sendsBody: true }
const LENGTH_OF_HEAD: ResponseFraming = { _tag: "Length", sendsBody: false }
const CHUNKED: ResponseFraming = { _tag: "Chunked", sendsBody: true }
const CHUNKED_OF_HEAD: ResponseFraming = { _tag: "Chunked", sendsBody: false }
const CLOSE_DELIMITED: ResponseFraming = { _tag: "CloseDelimited", sendsBody: true }
const NO_BODY: ResponseFraming = { _tag: "NoBody", sendsBody: false }

/**
 * Whether a response with this status has no body (rule 1): 1xx, 204 and 304.
 *
 * @since 0.1.0
 */
export const statusHasNoBody = (status: number): boolean => status < 200 || status === 204 || status === 304

/**
 * The framing of a response (the rules in the module doc). `lengthKnown`:
 * the body is whole, or a stream with a declared length.
 *
 * @since 0.1.0
 * @category framing
 */
export const framingOf = (status: number, lengthKnown: boolean, isHead: boolean, http11: boolean): ResponseFraming => {
  if (statusHasNoBody(status)) return NO_BODY
  if (lengthKnown) return isHead ? LENGTH_OF_HEAD : LENGTH
  if (http11) return isHead ? CHUNKED_OF_HEAD : CHUNKED
  return isHead ? LENGTH_OF_HEAD : CLOSE_DELIMITED
}

/**
 * Whether a connection can carry another response after one of this
 * framing: not after a close-delimited body.
 *
 * @since 0.1.0
 * @category framing
 */
export const framingAllowsReuse = (framing: ResponseFraming): boolean => framing._tag !== "CloseDelimited"

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
 * What {@link StreamEncoder.finish} leaves to do: the bytes that end the
 * body (the last chunk), and whether the body broke its framing (then the
 * connection must close after it: the client cannot tell where the next
 * response starts).
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamEnd {
  readonly last: Uint8Array | undefined
  readonly mismatch: ResponseLengthMismatch | undefined
}

const EMPTY = new Uint8Array(0)

/**
 * The encoder of a streamed body under its framing: counts every byte,
 * frames chunks, and holds a declared length both ways: a piece past it is
 * cut at the declared length ({@link overrun} is then set, and nothing more
 * is taken); a body that ends short is a mismatch at {@link finish}.
 *
 * @since 0.1.0
 * @category encoders
 */
export class StreamEncoder {
  readonly framing: ResponseFraming
  /** The declared length (`Length` framing). */
  readonly declared: number
  /** Body bytes put on the wire so far (framing excluded). */
  sent = 0
  /** Bytes the handler offered past the declared length. */
  overrun = 0

  constructor(framing: ResponseFraming, declared: number) {
    this.framing = framing
    this.declared = declared
  }

  /** The wire bytes for one piece of body (empty when nothing is to be sent). */
  encode(piece: Uint8Array): Uint8Array {
    if (piece.byteLength === 0 || !this.framing.sendsBody) return EMPTY
    if (this.framing._tag === "Length") {
      const room = this.declared - this.sent
      if (piece.byteLength > room) {
        this.overrun += piece.byteLength - room
        piece = piece.subarray(0, room)
      }
      this.sent += piece.byteLength
      return piece
    }
    this.sent += piece.byteLength
    return this.framing._tag === "Chunked" ? encodeChunk(piece) : piece
  }

  /** The body is over: the bytes that end it, and whether it kept its framing. */
  finish(): StreamEnd {
    const framing = this.framing
    const short = framing._tag === "Length" && framing.sendsBody && this.sent < this.declared
    const mismatch = short || this.overrun > 0
      ? new ResponseLengthMismatch({ declared: this.declared, offered: this.sent + this.overrun })
      : undefined
    const last = framing._tag === "Chunked" && framing.sendsBody ? LAST_CHUNK : undefined
    return { last, mismatch }
  }
}
