/**
 * Bytes in a content coding, by Node's zlib: a whole body in one call, or a
 * stream chunk by chunk, each chunk flushed so that what the handler sent is
 * decodable by the client at once (a server-sent event arrives when sent).
 *
 * @since 0.1.0
 */
import { Effect, Stream } from "effect"
import * as Zlib from "node:zlib"
import type { Coding } from "./AcceptEncoding.ts"

/**
 * The compression level of each coding (gzip 1-9, br 0-11, zstd 1-22).
 *
 * @since 0.1.0
 * @category models
 */
export type Levels = { readonly [coding in Coding]: number }

/**
 * Levels for bodies made per request: brotli's default (11) costs far more
 * CPU than it saves bytes on the fly, 4 compresses about as well as gzip's 6
 * at gzip's speed (the levels effect/http's `HttpMiddleware.compression` and
 * `@fastify/compress` use).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultLevels: Levels = { br: 4, gzip: 6, zstd: 3 }

/**
 * Up to this size a whole body is compressed on the spot (no trip to the
 * thread pool, which costs more than compressing a few KiB); above it in the
 * thread pool, so that one large body does not hold up every connection.
 */
const INLINE_LIMIT = 64 * 1024

const brotliOptions = (level: number, sizeHint: number | undefined): Zlib.BrotliOptions => ({
  params: sizeHint === undefined
    ? { [Zlib.constants.BROTLI_PARAM_QUALITY]: level }
    : { [Zlib.constants.BROTLI_PARAM_QUALITY]: level, [Zlib.constants.BROTLI_PARAM_SIZE_HINT]: sizeHint }
})

const zstdOptions = (level: number): Zlib.ZstdOptions => ({ params: { [Zlib.constants.ZSTD_c_compressionLevel]: level } })

const compressInline = (bytes: Uint8Array, coding: Coding, level: number): Uint8Array => {
  switch (coding) {
    case "gzip":
      return Zlib.gzipSync(bytes, { level })
    case "br":
      return Zlib.brotliCompressSync(bytes, brotliOptions(level, bytes.byteLength))
    case "zstd":
      return Zlib.zstdCompressSync(bytes, zstdOptions(level))
  }
}

const compressInPool = (bytes: Uint8Array, coding: Coding, level: number): Effect.Effect<Uint8Array> =>
  Effect.callback((resume) => {
    const done = (error: Error | null, result: Buffer) => resume(error === null ? Effect.succeed(result) : Effect.die(error))
    switch (coding) {
      case "gzip":
        return void Zlib.gzip(bytes, { level }, done)
      case "br":
        return void Zlib.brotliCompress(bytes, brotliOptions(level, bytes.byteLength), done)
      case "zstd":
        return void Zlib.zstdCompress(bytes, zstdOptions(level), done)
    }
  })

/**
 * A whole body in `coding`, in one call.
 *
 * @since 0.1.0
 * @category compressing
 */
export const compressWhole = (bytes: Uint8Array, coding: Coding, level: number): Effect.Effect<Uint8Array> =>
  bytes.byteLength <= INLINE_LIMIT
    ? Effect.sync(() => compressInline(bytes, coding, level))
    : compressInPool(bytes, coding, level)

/** A zlib stream that flushes after every write (a sync flush: the output so far is whole blocks). */
const makeTransform = (coding: Coding, level: number): Zlib.Gzip | Zlib.BrotliCompress | Zlib.ZstdCompress => {
  switch (coding) {
    case "gzip":
      return Zlib.createGzip({ level, flush: Zlib.constants.Z_SYNC_FLUSH })
    case "br":
      return Zlib.createBrotliCompress({ ...brotliOptions(level, undefined), flush: Zlib.constants.BROTLI_OPERATION_FLUSH })
    case "zstd":
      return Zlib.createZstdCompress({ ...zstdOptions(level), flush: Zlib.constants.ZSTD_e_flush })
  }
}

/**
 * One stream's compressor: takes a chunk, gives back its compressed bytes
 * once zlib has flushed them. One chunk is in zlib at a time, so what it
 * holds is its window, not the body.
 */
class ChunkCompressor {
  private readonly transform: ReturnType<typeof makeTransform>
  private output: Array<Buffer> = []
  private failure: Error | undefined = undefined

  constructor(coding: Coding, level: number) {
    this.transform = makeTransform(coding, level)
    this.transform.on("data", (piece: Buffer) => this.output.push(piece))
    this.transform.on("error", (error) => this.failure = error)
  }

  /** The bytes zlib has given since the last call. */
  private take(): Uint8Array {
    const pieces = this.output
    this.output = []
    return pieces.length === 1 ? pieces[0] as Buffer : Buffer.concat(pieces)
  }

  private settle(resume: (effect: Effect.Effect<Uint8Array>) => void) {
    resume(this.failure === undefined ? Effect.succeed(this.take()) : Effect.die(this.failure))
  }

  write(chunk: Uint8Array): Effect.Effect<Uint8Array> {
    return Effect.callback((resume) => {
      this.transform.write(chunk, () => this.settle(resume))
    })
  }

  end(): Effect.Effect<Uint8Array> {
    return Effect.callback((resume) => {
      this.transform.once("end", () => this.settle(resume))
      this.transform.once("error", () => this.settle(resume))
      this.transform.end()
    })
  }

  /** Frees zlib's memory, also when the stream is cut short. */
  close(): void {
    this.transform.destroy()
  }
}

const nonEmpty = (bytes: Uint8Array) => bytes.byteLength > 0

/**
 * A body stream in `coding`, compressed as it streams: each chunk is written
 * and flushed before the next is pulled (back-pressure is the consumer's).
 *
 * @since 0.1.0
 * @category compressing
 */
export const compressStream = <E>(
  body: Stream.Stream<Uint8Array, E>,
  coding: Coding,
  level: number
): Stream.Stream<Uint8Array, E> =>
  Stream.unwrap(Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => new ChunkCompressor(coding, level)),
      (compressor) => Effect.sync(() => compressor.close())
    ),
    (compressor) =>
      Stream.filter(
        Stream.concat(
          Stream.mapEffect(Stream.filter(body, nonEmpty), (chunk) => compressor.write(chunk)),
          Stream.fromEffect(Effect.suspend(() => compressor.end()))
        ),
        nonEmpty
      )
  ))
