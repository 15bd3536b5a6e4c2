/**
 * The framing of one request body on the wire (RFC 9112 section 6): which of
 * the connection's bytes are this body's, and where the next request starts.
 * The byte logic of `RequestBody.feed`, as a pure component (no limits, no
 * decompression, no queue, no Effect), so that the connection, the request
 * corpus and the fuzzer all cut bodies through the same code.
 *
 * The framing was settled by `parseHead` (RFC 9112 section 6.3); here it is
 * only applied:
 * - `ContentLength`: exactly that many bytes (section 6.2), counted off;
 * - `Chunked`: through a {@link ChunkedDecoder} (section 7.1), whose chunk
 *   data is the body and whose framing lines are not;
 * - `NoBody`: nothing; the framer is done from the start;
 * - `StreamEnd` (HTTP/2): every byte given, never done by itself (the
 *   stream's end is told to the body: `RequestBody.endOfStream`).
 *
 * Body bytes are handed on as views of the input, never copied: whoever keeps
 * them past the input's lifetime copies them.
 *
 * @since 0.1.0
 */
import { ChunkedDecoder } from "./ChunkedDecoder.ts"
import type { BodyFraming } from "./HeadParser.ts"

/**
 * @since 0.1.0
 * @category decoders
 */
export class BodyFramer {
  /** Bytes of a Content-Length body still on the wire. */
  private remaining: number
  private readonly decoder: ChunkedDecoder | undefined

  constructor(framing: BodyFraming) {
    // A body that ends with its stream has no end on the wire here: the stream's end is told to the body.
    this.remaining = framing._tag === "ContentLength"
      ? framing.length
      : framing._tag === "StreamEnd"
      ? Number.POSITIVE_INFINITY
      : 0
    this.decoder = framing._tag === "Chunked" ? new ChunkedDecoder() : undefined
  }

  /**
   * Whether the body's end on the wire was reached: what follows in the input
   * belongs to the next request. A done framer takes no more bytes.
   */
  get done(): boolean {
    return this.decoder === undefined ? this.remaining === 0 : this.decoder.done
  }

  /**
   * Takes this body's bytes from `input[start, end)`, calling `onData` with
   * each piece of body data (never empty; a view of `input`). Returns where
   * the body's bytes end: `end`, or, once {@link done}, just past the body.
   * An error thrown by `onData` (a limit) propagates; the body has then
   * failed, and its framer is not fed again.
   *
   * @throws MalformedRequest on bad chunked framing
   */
  feed(input: Uint8Array, start: number, end: number, onData: (data: Uint8Array) => void): number {
    const decoder = this.decoder
    if (decoder !== undefined) return decoder.decode(input, start, end, onData)
    const n = Math.min(this.remaining, end - start)
    if (n > 0) {
      this.remaining -= n
      onData(input.subarray(start, start + n))
    }
    return start + n
  }
}
