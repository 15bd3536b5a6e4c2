/**
 * Decoding a compressed request body as it streams in (RFC 9110 section
 * 8.4.1), when the server is told to (`decompressRequest`): a zlib stream
 * per body, made on its first compressed byte, whose output goes to the body
 * as it comes. The body checks that output against its limits, so a
 * decompression bomb fails after at most a limit's worth of output, and
 * pauses the stream while its reader is behind, so memory stays bounded.
 *
 * @since 0.1.0
 */
import * as Zlib from "node:zlib"
import type { RequestHead } from "../Wire/HeadParser.ts"
import { MalformedRequest } from "../Wire/HttpErrors.ts"

/**
 * A content coding the server decodes: `gzip` (and `x-gzip`), and
 * `deflate`, which is the zlib format.
 *
 * @since 0.1.0
 * @category models
 */
export type ContentCoding = "gzip" | "deflate"

/**
 * The content coding to decode a request's body from, when the server
 * decodes it (`decodes` says which codings it does): `undefined` for a body
 * sent as it is, or in a coding the server leaves to the handler.
 *
 * @since 0.1.0
 */
export const contentCodingOf = (
  head: RequestHead,
  decodes: ((coding: string) => boolean) | undefined
): ContentCoding | undefined => {
  if (decodes === undefined || head.framing._tag === "NoBody") return undefined
  const raw = head.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length === 16 && name.toLowerCase() === "content-encoding") {
      const coding = (raw[i + 1] as string).trim().toLowerCase()
      if (!decodes(coding)) return undefined
      return coding === "deflate" ? "deflate" : "gzip"
    }
  }
  return undefined
}

/**
 * Where the decoded bytes go.
 *
 * @since 0.1.0
 * @category models
 */
export interface DecompressionSink {
  /** Decoded bytes, in order. */
  readonly onDecoded: (data: Buffer) => void
  /** Every byte is decoded: the body is complete. */
  readonly onDecodedAll: () => void
  /** The bytes do not decode. */
  readonly onDecodeError: (error: MalformedRequest) => void
  /**
   * Every compressed byte written was taken in: more can be written (the
   * wake-up of a reader that waits while the decompressor is
   * {@link Decompressor.backlogged}).
   */
  readonly onInputTaken: () => void
}

/**
 * @since 0.1.0
 * @category models
 */
export class Decompressor {
  private readonly stream: Zlib.Gunzip | Zlib.Inflate
  private readonly sink: DecompressionSink

  /** @param chunkSize the most bytes of output per piece (kept within 64 B .. 1 MiB) */
  constructor(coding: ContentCoding, chunkSize: number, sink: DecompressionSink) {
    const options = { chunkSize: Math.max(64, Math.min(chunkSize, 1024 * 1024)) }
    const stream = coding === "gzip" ? Zlib.createGunzip(options) : Zlib.createInflate(options)
    this.stream = stream
    this.sink = sink
    stream.on("data", sink.onDecoded)
    stream.on("end", sink.onDecodedAll)
    stream.on("error", (error) => {
      sink.onDecodeError(new MalformedRequest({ reason: `body does not decode as ${coding}: ${error.message}` }))
    })
  }

  /** Whether compressed bytes written wait to be decoded. */
  get backlogged(): boolean {
    return this.stream.writableLength > 0
  }

  /** Takes compressed bytes (kept until decoded: they must not be overwritten). */
  write(data: Uint8Array): void {
    this.stream.write(data, this.onWritten)
  }

  /** A write was taken in (zlib calls back once it consumed the bytes). */
  private readonly onWritten = (): void => {
    if (this.stream.writableLength === 0) this.sink.onInputTaken()
  }

  /** No more compressed bytes: what is left is decoded, then `onDecodedAll`. */
  end(): void {
    this.stream.end()
  }

  /** The reader is behind: stop producing output. */
  pause(): void {
    this.stream.pause()
  }

  resume(): void {
    this.stream.resume()
  }

  /** Stops at once; nothing more reaches the sink. */
  destroy(): void {
    const stream = this.stream
    stream.removeAllListeners("data")
    stream.removeAllListeners("end")
    stream.removeAllListeners("error")
    stream.on("error", () => {})
    stream.destroy()
  }
}
