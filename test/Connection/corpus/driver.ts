/**
 * A test driver for the parser: the byte stream of one connection, fed in
 * pieces, read the way `HttpConnection.nextRequest` and `RequestBody.feed`
 * read it (skip empty lines, scan for the end of the head resuming at
 * `resumeScanAt`, `parseHead` on the Latin-1 text, then the body by
 * Content-Length or through a `ChunkedDecoder`), without sockets or Effects.
 *
 * It gives back every request read whole, the error that stopped the
 * connection if any, and whether it was left waiting for more bytes. The
 * corpus and the split-invariance properties compare these results.
 */
import { ChunkedDecoder } from "../../../src/Connection/ChunkedDecoder.ts"
import {
  defaultLeniency,
  findHeadEnd,
  type ParserLeniency,
  parseHead,
  type RequestHead,
  resumeScanAt,
  skipLeadingEmptyLines
} from "../../../src/Connection/HeadParser.ts"
import { HeaderTooLarge, type HttpError, isHttpError } from "../../../src/Connection/HttpErrors.ts"

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
}

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  let length = 0
  for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

type BodyState =
  | { readonly _tag: "Length"; remaining: number; readonly parts: Array<Uint8Array> }
  | { readonly _tag: "Chunked"; readonly decoder: ChunkedDecoder; readonly parts: Array<Uint8Array> }

/** Reads the requests out of `pieces`, the reads of one connection in order. */
export const drive = (pieces: ReadonlyArray<Uint8Array>, options: DriveOptions = {}): DriveResult => {
  const leniency = options.leniency ?? defaultLeniency
  const maxHeaderSize = options.maxHeaderSize ?? 65536
  const requests: Array<ParsedRequest> = []
  let input: Uint8Array = new Uint8Array(0)
  let inputStart = 0
  let scanFrom = 0
  let headStarted = false
  let head: RequestHead | undefined
  let body: BodyState | undefined

  const finish = () => {
    requests.push({ head: head!, body: concat(body === undefined ? [] : body.parts) })
    head = undefined
    body = undefined
  }

  /** One step; `false` when it needs more bytes. */
  const step = (): boolean => {
    const end = input.length
    if (body !== undefined) {
      if (body._tag === "Length") {
        const n = Math.min(body.remaining, end - inputStart)
        if (n === 0) return false
        // A copy: the driver's buffer is replaced when pieces arrive.
        body.parts.push(input.slice(inputStart, inputStart + n))
        inputStart += n
        body.remaining -= n
        if (body.remaining === 0) finish()
        return true
      }
      if (inputStart >= end) return false
      const parts = body.parts
      const stop = body.decoder.decode(input, inputStart, end, (data) => parts.push(data.slice()))
      if (stop < inputStart || stop > end) throw new Error(`decode returned ${stop} outside [${inputStart}, ${end}]`)
      if (!body.decoder.done && stop !== end) throw new Error(`decode stopped at ${stop} before ${end} without done`)
      inputStart = stop
      if (body.decoder.done) finish()
      return true
    }
    if (inputStart >= end) return false
    if (!headStarted) {
      const start = skipLeadingEmptyLines(input, inputStart, end)
      if (start !== inputStart) {
        inputStart = start
        scanFrom = start
        if (start >= end) return false
      }
      headStarted = true
    }
    const start = inputStart
    const headEnd = findHeadEnd(input, Math.max(scanFrom, start), end)
    if (headEnd === -1) {
      if (end - start > maxHeaderSize) throw new HeaderTooLarge({ limit: maxHeaderSize })
      scanFrom = resumeScanAt(start, end)
      return false
    }
    if (headEnd - start > maxHeaderSize) throw new HeaderTooLarge({ limit: maxHeaderSize })
    head = parseHead(Buffer.from(input.buffer, input.byteOffset, input.length).toString("latin1", start, headEnd), leniency)
    inputStart = headEnd
    scanFrom = headEnd
    headStarted = false
    const framing = head.framing
    if (framing._tag === "NoBody") finish()
    else if (framing._tag === "ContentLength") body = { _tag: "Length", remaining: framing.length, parts: [] }
    else body = { _tag: "Chunked", decoder: new ChunkedDecoder(), parts: [] }
    return true
  }

  try {
    for (const piece of pieces) {
      if (piece.length === 0) continue
      input = concat([input, piece])
      while (step()) {
        // keep reading what is already here
      }
    }
  } catch (error) {
    if (isHttpError(error)) return { requests, error, pending: false }
    throw error
  }
  const pending = body !== undefined || head !== undefined || headStarted ||
    skipLeadingEmptyLines(input, inputStart, input.length) < input.length
  return { requests, error: undefined, pending }
}

/** Latin-1 text to bytes: each character one byte. */
export const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "latin1"))

/** Latin-1 bytes to text. */
export const text = (data: Uint8Array): string => Buffer.from(data.buffer, data.byteOffset, data.length).toString("latin1")

/** `data` cut at the given offsets (sorted, deduplicated, in range). */
export const splitAt = (data: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < data.length))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let from = 0
  for (const p of points) {
    out.push(data.slice(from, p))
    from = p
  }
  out.push(data.slice(from))
  return out
}

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
