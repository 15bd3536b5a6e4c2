/**
 * Helpers for the limit, timeout and decompression tests: request bodies
 * built byte for byte (chunked framing, gzip, deflate), a client that writes
 * slowly or in bulk with backpressure, and a clock and memory gauge on the
 * real process. Built on `RawClient.ts`.
 */
import { createHash } from "node:crypto"
import * as V8 from "node:v8"
import * as Vm from "node:vm"
import * as Zlib from "node:zlib"
import { Effect } from "effect"
import type { RawConnection } from "./RawClient.ts"
import { sleepReal } from "./RawClient.ts"

/** A request head (no body) on HTTP/1.1 with a Host header. */
export const head = (method: string, path: string, ...headerLines: Array<string>): string =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headerLines.map((line) => line + "\r\n").join("")}\r\n`

/** A `Transfer-Encoding: chunked` body: one chunk per piece, then the last chunk. */
export const chunkedBody = (...pieces: ReadonlyArray<string | Uint8Array>): Buffer =>
  Buffer.concat([
    ...pieces.flatMap((piece) => {
      const bytes = typeof piece === "string" ? Buffer.from(piece, "latin1") : Buffer.from(piece)
      return [Buffer.from(`${bytes.length.toString(16)}\r\n`, "latin1"), bytes, Buffer.from("\r\n", "latin1")]
    }),
    Buffer.from("0\r\n\r\n", "latin1")
  ])

/** A whole chunked request: head with `Transfer-Encoding: chunked`, then the chunks. */
export const chunkedRequest = (
  method: string,
  path: string,
  pieces: ReadonlyArray<string | Uint8Array>,
  ...headerLines: Array<string>
): Buffer =>
  Buffer.concat([
    Buffer.from(head(method, path, ...headerLines, "Transfer-Encoding: chunked"), "latin1"),
    chunkedBody(...pieces)
  ])

export const gzip = (data: string | Uint8Array): Buffer => Zlib.gzipSync(data)
/** `deflate` as HTTP means it: the zlib format (RFC 1950). */
export const deflate = (data: string | Uint8Array): Buffer => Zlib.deflateSync(data)

/**
 * `size` zero bytes as one gzip member: a decompression bomb about a
 * thousandth of its inflated size. The zeros are never written to, so the
 * test process does not hold them as resident memory.
 */
export const gzipBomb = (size: number): Buffer => Zlib.gzipSync(Buffer.alloc(size), { level: 9 })

/** The process's resident set size, in bytes. */
export const rss = (): number => process.memoryUsage().rss

/** Milliseconds on the real clock. */
export const now = (): number => performance.now()

/** Runs `effect` and returns how long it took (real milliseconds) with its value. */
export const timed = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<readonly [number, A], E, R> =>
  Effect.suspend(() => {
    const start = now()
    return Effect.map(effect, (a) => [now() - start, a] as const)
  })

/**
 * Writes `bytes` one piece of `pieceSize` at a time, `delayMillis` apart,
 * until all is written or the server closes the connection; write errors
 * after a close are ignored. Returns how many bytes were written.
 */
export const dribble = (
  client: RawConnection,
  bytes: string | Uint8Array,
  pieceSize: number,
  delayMillis: number
): Effect.Effect<number> =>
  Effect.gen(function*() {
    const data = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : Buffer.from(bytes)
    let written = 0
    while (written < data.length && !client.isClosed && !client.socket.destroyed) {
      if (written > 0) yield* sleepReal(delayMillis)
      if (client.isClosed || client.socket.destroyed) break
      const piece = data.subarray(written, written + pieceSize)
      client.socket.write(piece, () => {})
      written += piece.length
    }
    return written
  })

/**
 * Sends `total` bytes of a patterned body (piece `i` is filled with `i % 251`)
 * in `pieceSize` writes, each waiting until the kernel took the previous one.
 * One buffer is reused throughout, so the client allocates (almost) nothing
 * and the process's memory shows what the server holds. Returns the SHA-1 of
 * what was sent, as hex.
 */
export const sendPatterned = (client: RawConnection, total: number, pieceSize = 64 * 1024): Effect.Effect<string> =>
  Effect.gen(function*() {
    const hash = createHash("sha1")
    const buffer = Buffer.alloc(pieceSize)
    let sent = 0
    let index = 0
    while (sent < total) {
      const n = Math.min(pieceSize, total - sent)
      const piece = buffer.subarray(0, n)
      piece.fill(index % 251)
      hash.update(piece)
      // the write resolves once the kernel has the bytes: the buffer is free again
      yield* client.write(piece)
      sent += n
      index++
    }
    return hash.digest("hex")
  })

let gcFunction: (() => void) | undefined

/**
 * Runs a full garbage collection, so that memory figures show what is
 * retained rather than garbage V8 has not collected yet.
 */
export const collectGarbage = (): void => {
  if (gcFunction === undefined) {
    V8.setFlagsFromString("--expose-gc")
    gcFunction = Vm.runInNewContext("gc") as () => void
  }
  gcFunction()
}

/** The resident set size after a full garbage collection, in bytes. */
export const retainedRss = (): number => {
  collectGarbage()
  return process.memoryUsage().rss
}

/** The SHA-1 of a sequence of pieces, incrementally. */
export const makeHasher = () => {
  const hash = createHash("sha1")
  return {
    update: (piece: Uint8Array) => {
      hash.update(piece)
    },
    digest: () => hash.digest("hex")
  }
}
