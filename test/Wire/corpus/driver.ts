/**
 * A test driver for the parser: the byte stream of one connection, fed in
 * pieces, read through the engine's own input path as `HttpConnection`
 * reads it: a `ConnectionInput` (the input buffer, the scan rebase, heads by
 * the `HeadReader`: empty lines before a head, the incremental scan,
 * `maxHeaderSize`, `parseHead`), bodies cut by a `BodyFramer` (Content-Length
 * or chunked; the fuzzer's `CheckedBody`, which checks the framer's
 * contract); no sockets, no Effects.
 *
 * It gives back every request read whole, the error that stopped the
 * connection if any, and whether it was left waiting for more bytes. The
 * corpus and the split-invariance properties compare these results.
 */
import { CheckedBody, cutAt } from "../../../fuzz/driver.ts"
import { ConnectionInput } from "../../../src/Connection/ConnectionInput.ts"
import { defaultLeniency, type ParserLeniency, type RequestHead } from "../../../src/Wire/HeadParser.ts"
import { DEFAULT_MAX_REQUEST_LINE_SIZE } from "../../../src/Wire/HeadReader.ts"
import { type HttpError, isHttpError } from "../../../src/Wire/HttpErrors.ts"

export interface ParsedRequest {
  readonly head: RequestHead
  readonly body: Uint8Array
}

export interface DriveResult {
  readonly requests: Array<ParsedRequest>
  /** The error that stopped the connection. */
  readonly error: HttpError | undefined
  /** Stopped in the middle of a head or a body, waiting for bytes. */
  readonly pending: boolean
}

export interface DriveOptions {
  readonly leniency?: ParserLeniency
  readonly maxHeaderSize?: number
  readonly maxRequestLineSize?: number
}

/** Reads the requests out of `pieces`, the reads of one connection in order. */
export const drive = (pieces: ReadonlyArray<Uint8Array>, options: DriveOptions = {}): DriveResult => {
  const input = new ConnectionInput(
    options.maxHeaderSize ?? 65536,
    options.leniency ?? defaultLeniency,
    options.maxRequestLineSize ?? DEFAULT_MAX_REQUEST_LINE_SIZE
  )
  const requests: Array<ParsedRequest> = []
  /** The request whose body is being read. */
  let current: CheckedBody | undefined

  const done = (head: RequestHead, parts: ReadonlyArray<Uint8Array>) => {
    requests.push({ head, body: Buffer.concat(parts) })
    current = undefined
  }

  /** One step; `false` when it needs more bytes. */
  const step = (): boolean => {
    if (input.isEmpty) return false
    if (current !== undefined) {
      input.feedBody(current)
      if (current.framer.done) done(current.head, current.parts)
      return true
    }
    const head = input.readHead()
    if (head === undefined) return false
    if (head.framing._tag === "NoBody") done(head, [])
    else current = new CheckedBody(head)
    return true
  }

  // As the server reads plain sockets: every read lands in one shared buffer,
  // overwritten by the next, so what outlives a turn must have been copied.
  const readBuffer = Buffer.alloc(Math.max(0, ...pieces.map((p) => p.length)))
  try {
    for (const piece of pieces) {
      if (piece.length === 0) continue
      readBuffer.set(piece)
      input.receive(readBuffer.subarray(0, piece.length), true)
      while (step()) {
        // keep reading what is already here
      }
      input.endTurn()
      readBuffer.fill(0x7e, 0, piece.length) // "~": stale bytes that must never be read
    }
  } catch (error) {
    if (isHttpError(error)) return { requests, error, pending: false }
    throw error
  }
  // What is left unread is a body under way or a head begun (empty lines are consumed).
  return { requests, error: undefined, pending: current !== undefined || !input.isEmpty }
}

/** Latin-1 text to bytes: each character one byte. */
export const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "latin1"))

/** Latin-1 bytes to text. */
export const text = (data: Uint8Array): string => Buffer.from(data.buffer, data.byteOffset, data.length).toString("latin1")

/** `data` cut at the given offsets (the fuzz driver's `cutAt`). */
export const splitAt = (data: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> =>
  cutAt(Buffer.from(data.buffer, data.byteOffset, data.length), cuts)

/** `data` one byte at a time. */
export const byteByByte = (data: Uint8Array): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let i = 0; i < data.length; i++) out.push(data.slice(i, i + 1))
  return out
}

/** A comparable summary of a drive: heads as plain data, bodies as Latin-1 text, errors as tag and reason. */
export const summarize = (result: DriveResult) => ({
  requests: result.requests.map((r) => ({ ...r.head, body: text(r.body) })),
  error: result.error === undefined ? undefined : { _tag: result.error._tag, ...describe(result.error) },
  pending: result.pending
})

const describe = (error: HttpError): { reason?: string } =>
  error._tag === "MalformedRequest" ? { reason: error.reason } : {}

export interface ChunkedEncoding {
  /** Sizes of the chunks, used in turn until the data is cut up (0 and negatives are skipped). */
  readonly sizes?: ReadonlyArray<number>
  readonly upperCase?: boolean
  /** Leading zeros on every size (kept within `ChunkedLimits.maxSizeDigits` by the caller). */
  readonly zeros?: number
  /** Appended to every chunk-size line, e.g. `;a=b`. */
  readonly extension?: string
  /** Trailer field lines, without their CRLF. */
  readonly trailers?: ReadonlyArray<string>
}

/** The chunked transfer coding of `data` (RFC 9112 section 7.1), as Latin-1 text. */
export const encodeChunked = (data: Uint8Array, options: ChunkedEncoding = {}): string => {
  const sizes = (options.sizes ?? []).filter((n) => n > 0)
  const size = (n: number) => {
    const hex = n.toString(16)
    return "0".repeat(options.zeros ?? 0) + (options.upperCase === true ? hex.toUpperCase() : hex)
  }
  const ext = options.extension ?? ""
  let out = ""
  let at = 0
  let k = 0
  while (at < data.length) {
    const n = Math.min(sizes.length === 0 ? data.length : sizes[k++ % sizes.length]!, data.length - at)
    out += `${size(n)}${ext}\r\n${text(data.subarray(at, at + n))}\r\n`
    at += n
  }
  out += `${size(0)}${ext}\r\n`
  for (const t of options.trailers ?? []) out += `${t}\r\n`
  return out + "\r\n"
}
