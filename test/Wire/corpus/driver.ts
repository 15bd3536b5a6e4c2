/**
 * A test driver for the parser: the byte stream of one connection, fed in
 * pieces to the protocol machine itself (`Http1Protocol`, through the
 * scripted driver of `fuzz/ProtocolHarness.ts`): its input (the buffer, the
 * scan rebase, heads by the `HeadReader`: empty lines before a head, the
 * incremental scan, `maxHeaderSize`, `parseHead`), bodies cut by a
 * `BodyFramer` (the fuzzer's `CheckedBody`, which checks the framer's
 * contract), one request after the other as the server reads them; no
 * sockets, no Effects.
 *
 * It gives back every request read whole, the error that stopped the
 * connection if any, and whether it was left waiting for more bytes. The
 * corpus and the split-invariance properties compare these results.
 */
import { CheckedBody, cutAt } from "../../../fuzz/driver.ts"
import { readRequests } from "../../../fuzz/ProtocolHarness.ts"
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

/** Reads the requests out of `pieces`, the reads of one connection in order, through the protocol machine. */
export const drive = (pieces: ReadonlyArray<Uint8Array>, options: DriveOptions = {}): DriveResult => {
  const { error, pending, requests } = readRequests(pieces, {
    maxHeaderSize: options.maxHeaderSize ?? 65536,
    leniency: options.leniency ?? defaultLeniency,
    maxRequestLineSize: options.maxRequestLineSize ?? DEFAULT_MAX_REQUEST_LINE_SIZE
  }, (head) => new CheckedBody(head))
  return { requests, error, pending }
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
