/**
 * The fuzz harness: one connection's byte stream, arriving in given pieces
 * (each in a shared read buffer overwritten by the next, as the server reads
 * plain sockets), read by the protocol machine itself (`Http1Protocol`,
 * through the scripted driver of `ProtocolHarness.ts`; no sockets, no
 * Effects), which reads with:
 *
 * - input: the unconsumed rest of the buffer plus each new piece, the head
 *   scan's resume point rebased with it, transient bytes copied at the end
 *   of each turn;
 * - heads: its `readHead` step (the `HeadReader`: leading empty lines, the
 *   incremental scan, `maxHeaderSize`, `parseHead`);
 * - bodies: its `feedBody` step into a `BodyFramer` (as `RequestBody.feed`
 *   does); then the next pipelined request.
 *
 * What may come out of the parser is a request, or one of the engine's
 * tagged errors (`isHttpError`), which ends the connection. Anything else
 * thrown, and any broken contract between the pieces (an index out of range,
 * a framer that stops early or takes bytes once done, a head that says what
 * its bytes do not), is a finding: {@link Finding}.
 */
import { defaultLeniency, type ParserLeniency, type RequestHead } from "../src/Wire/HeadParser.ts"
import { DEFAULT_MAX_REQUEST_LINE_SIZE } from "../src/Wire/HeadReader.ts"
import { type BodyError, type HttpError, isHttpError, statusOf } from "../src/Wire/HttpErrors.ts"
import {
  MAX_V1_LENGTH,
  MAX_V2_PAYLOAD,
  parseProxyHeader,
  ProxyHeaderError,
  ProxyHeaderReader,
  type ProxyHeaderStep
} from "../src/Wire/ProxyHeader.ts"
import { FramedBody, type ProtocolHarness, type ReadResult, readRequests } from "./ProtocolHarness.ts"

/** A contract of the parser broken: what the fuzzer reports as a crash. */
export class Finding extends Error {
  readonly kind: string
  constructor(kind: string, message: string) {
    super(`${kind}: ${message}`)
    this.kind = kind
  }
}

export interface DriveOptions {
  readonly leniency: ParserLeniency
  readonly maxHeaderSize: number
  readonly maxRequestLineSize: number
}

export const defaultOptions: DriveOptions = {
  leniency: defaultLeniency,
  maxHeaderSize: 65536,
  maxRequestLineSize: DEFAULT_MAX_REQUEST_LINE_SIZE
}
export const strictOptions: DriveOptions = { ...defaultOptions, leniency: { bareLfInHead: false } }
/**
 * Small head and request-line limits, to reach the `HeaderTooLarge`,
 * `MethodTooLong` and `TargetTooLong` paths with small inputs.
 */
export const smallHeadOptions: DriveOptions = { leniency: defaultLeniency, maxHeaderSize: 96, maxRequestLineSize: 40 }

/** What a connection made of its bytes, comparable across ways of cutting them. */
export interface Outcome {
  readonly requests: Array<{ readonly head: RequestHead; readonly body: string }>
  /** The error that ended the connection: tag and, for a malformed request, the reason. */
  readonly error: string | undefined
  /** The status the server answers that error with. */
  readonly status: number | undefined
  /** Where the connection was left waiting for bytes. */
  readonly waiting: "nothing" | "head" | "body"
}

/** Errors each stage may throw; any other tag out of the parser is a finding too. */
const headTags: ReadonlySet<string> = new Set([
  "MalformedRequest",
  "VersionNotSupported",
  "UnsupportedTransferEncoding",
  "HeaderTooLarge",
  "MethodTooLong",
  "TargetTooLong"
])
/** Only chunked framing can be malformed; the limits that fail a body are `RequestBody`'s, not the framer's. */
const bodyTags: ReadonlySet<string> = new Set(["MalformedRequest"])

const describeError = (error: HttpError): string =>
  error._tag === "MalformedRequest" ? `${error._tag}: ${error.reason}` : error._tag

const describeThrown = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ""}` : `non-Error thrown: ${String(error)}`

const TOKEN_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** What a parsed head must satisfy whatever the bytes were. */
const checkHead = (head: RequestHead, text: string): void => {
  const fail = (what: string) => {
    throw new Finding("bad-head", `${what}; head ${JSON.stringify(text.slice(0, 300))}`)
  }
  if (!TOKEN_PATTERN.test(head.method)) fail(`method ${JSON.stringify(head.method)} is not a token`)
  if (head.version !== "HTTP/1.0" && head.version !== "HTTP/1.1") fail(`version ${String(head.version)}`)
  if (head.target.length === 0 || /[\x00-\x20\x7f#]/.test(head.target)) fail(`target ${JSON.stringify(head.target)}`)
  if (head.rawHeaders.length % 2 !== 0) fail("odd rawHeaders")
  for (let i = 0; i < head.rawHeaders.length; i += 2) {
    const name = head.rawHeaders[i] as string
    const value = head.rawHeaders[i + 1] as string
    if (!TOKEN_PATTERN.test(name)) fail(`header name ${JSON.stringify(name)}`)
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) fail(`control byte in the value of ${name}`)
    if (value !== value.replace(/^[ \t]+|[ \t]+$/g, "")) fail(`value of ${name} not trimmed`)
  }
  const values = (name: string) =>
    head.rawHeaders.filter((_, i) => i % 2 === 0 && head.rawHeaders[i]?.toLowerCase() === name).length
  const framing = head.framing
  const te = values("transfer-encoding")
  const cl = values("content-length")
  if (framing._tag === "Chunked" && (te === 0 || cl > 0 || head.version !== "HTTP/1.1")) {
    fail(`chunked framing with ${te} Transfer-Encoding, ${cl} Content-Length, ${head.version}`)
  }
  if (framing._tag === "ContentLength") {
    if (!Number.isSafeInteger(framing.length) || framing.length <= 0) fail(`Content-Length ${framing.length}`)
    if (te > 0) fail("Content-Length framing with Transfer-Encoding present")
  }
  if (framing._tag === "NoBody" && te > 0) fail("no body with Transfer-Encoding present")
  if (head.version === "HTTP/1.1" && values("host") !== 1) fail("HTTP/1.1 without exactly one Host")
  if (head.expectContinue && head.version !== "HTTP/1.1") fail("100-continue on HTTP/1.0")
}

/**
 * Feeds `pieces` (the reads of one connection, in order) to the protocol
 * machine itself, as the server's driver does (`ProtocolHarness.readRequests`:
 * each read in a transient buffer overwritten after it, every body read
 * whole, each request answered once its body is in). Throws a
 * {@link Finding} on a broken contract.
 */
export const drive = (pieces: ReadonlyArray<Buffer>, options: DriveOptions = defaultOptions): Outcome => {
  /** At each head the machine reads, before its body: the head reader's contract. */
  const checkedBody = (head: RequestHead, harness: ProtocolHarness): CheckedBody => {
    const input = harness.core.input
    const reader = input.reader
    const start = reader.start
    const headEnd = reader.headEnd
    if (start < 0 || headEnd <= start || headEnd > input.end) {
      throw new Finding("head-contract", `the head spans [${start}, ${headEnd}) of ${input.end} bytes`)
    }
    if (input.start !== headEnd) throw new Finding("input-contract", `input at ${input.start} after a head ending at ${headEnd}`)
    const tail = input.buffer.toString("latin1", Math.max(start, headEnd - 3), headEnd)
    if (!tail.endsWith("\n\n") && !tail.endsWith("\n\r\n")) {
      throw new Finding("head-contract", `the head ends after ${JSON.stringify(tail)}, not an empty line`)
    }
    checkHead(head, input.buffer.toString("latin1", start, headEnd))
    return new CheckedBody(head)
  }
  let result: ReadResult
  try {
    result = readRequests(pieces, options, checkedBody)
  } catch (error) {
    if (error instanceof Finding) throw error
    throw new Finding("untagged-throw", `the machine threw ${describeThrown(error)}`)
  }
  const { error, harness } = result
  if (error !== undefined && !headTags.has(error._tag) && !bodyTags.has(error._tag)) {
    throw new Finding("unexpected-tag", `the machine answered ${error._tag}`)
  }
  const input = harness.core.input
  if (error === undefined && harness.core.exchange === undefined && input.reader.started !== input.headStarted) {
    throw new Finding("input-contract", `reader started ${input.reader.started}, input says ${input.headStarted}`)
  }
  const requests = result.requests.map(({ body, head }) => ({ head, body: body.toString("latin1") }))
  // Empty lines before a head are consumed: what is left unread is a body or a head under way.
  const waiting = error !== undefined
    ? "nothing"
    : harness.core.exchange !== undefined
    ? "body"
    : result.pending
    ? "head"
    : "nothing"
  return { requests, error: error === undefined ? undefined : describeError(error), status: error === undefined ? undefined : statusOf(error), waiting }
}

/**
 * A body being read (a `BodySink` for the `ConnectionInput`), checked
 * against the framer's contract: pieces are never empty and are views of the
 * input; `feed` stops at the end of the input unless the body is done; a
 * done framer takes nothing more. Its pieces are copies (the input is a
 * transient read buffer). The request corpus reads bodies through it too.
 */
export class CheckedBody extends FramedBody {
  override feed(input: Uint8Array, start: number, end: number): number {
    const framer = this.framer
    if (this.state._tag !== "Reading") return start
    const taken: Array<Buffer> = []
    let stop: number
    try {
      stop = framer.feed(input, start, end, (data) => {
        if (data.byteLength === 0) throw new Finding("framing-contract", "onData called with an empty piece")
        if (data.buffer !== input.buffer) throw new Finding("framing-contract", "onData piece is not a view of the input")
        taken.push(Buffer.from(data))
      })
    } catch (error) {
      if (error instanceof Finding) throw error
      if (!isHttpError(error)) throw new Finding("untagged-throw", `BodyFramer.feed threw ${describeThrown(error)}`)
      if (!bodyTags.has(error._tag)) throw new Finding("unexpected-tag", `BodyFramer.feed threw ${error._tag}`)
      this.fail(error as BodyError)
      return end
    }
    if (!Number.isInteger(stop) || stop < start || stop > end) {
      throw new Finding("framing-contract", `feed returned ${stop} outside [${start}, ${end}]`)
    }
    if (!framer.done && stop !== end) {
      throw new Finding("framing-contract", `feed stopped at ${stop} before ${end} without being done`)
    }
    if (framer.done) {
      const again = framer.feed(input, stop, end, () => {
        throw new Finding("framing-contract", "data after the end of the body")
      })
      if (again !== stop) throw new Finding("framing-contract", `a done framer consumed input (${stop} -> ${again})`)
      this.state = { _tag: "Complete" }
    }
    this.parts.push(...taken)
    return stop
  }
}

/** `data` cut at `cuts` (offsets; out-of-range ones ignored). */
export const cutAt = (data: Buffer, cuts: ReadonlyArray<number>): Array<Buffer> => {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < data.length))].sort((a, b) => a - b)
  const out: Array<Buffer> = []
  let from = 0
  for (const p of points) {
    out.push(data.subarray(from, p))
    from = p
  }
  out.push(data.subarray(from))
  return out
}

/** A small deterministic hash (FNV-1a) of the bytes: seeds the cuts, so a saved input replays the same. */
export const hashBytes = (data: Uint8Array): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < data.length; i++) {
    h ^= data[i] as number
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** Up to 7 cut points derived from the input itself. */
export const cutsOf = (data: Buffer): Array<number> => {
  let state = hashBytes(data) || 1
  const count = (state % 7) + 1
  const cuts: Array<number> = []
  for (let i = 0; i < count; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    cuts.push(state % (data.length + 1))
  }
  return cuts
}

const comparable = (outcome: Outcome): string => JSON.stringify(outcome)

const hasBareLf = (data: Buffer): boolean => {
  for (let i = data.indexOf(0x0a); i !== -1; i = data.indexOf(0x0a, i + 1)) {
    if (i === 0 || data[i - 1] !== 0x0d) return true
  }
  return false
}

/**
 * Requests as plain bytes again: the request line, the header lines as
 * parsed (so the framing headers too), CRLFs, and the body in the framing
 * the head declares (a chunked body as one chunk).
 */
const serialize = (requests: Outcome["requests"]): Buffer =>
  Buffer.concat(requests.map(({ body, head }) => {
    let text = `${head.method} ${head.target} ${head.version}\r\n`
    for (let i = 0; i < head.rawHeaders.length; i += 2) text += `${head.rawHeaders[i]}: ${head.rawHeaders[i + 1]}\r\n`
    text += "\r\n"
    if (head.framing._tag === "Chunked") {
      text += body.length > 0 ? `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n` : "0\r\n\r\n"
    } else {
      text += body
    }
    return Buffer.from(text, "latin1")
  }))

/** Byte-by-byte feeding is quadratic (the partial head is copied each read): only for inputs up to this. */
export const BYTE_BY_BYTE_MAX = 1024

/** What reading a PROXY header off `pieces` comes to, comparable (the rest as the pieces after it too). */
const readProxyHeader = (pieces: ReadonlyArray<Buffer>): string => {
  const reader = new ProxyHeaderReader()
  let step: ProxyHeaderStep = { _tag: "NeedMore" }
  let i = 0
  try {
    while (i < pieces.length && step._tag === "NeedMore") step = reader.push(pieces[i++] as Buffer)
  } catch (error) {
    throw new Finding("untagged-throw", `ProxyHeaderReader.push threw ${describeThrown(error)}`)
  }
  if (step._tag === "Failed" && !(step.error instanceof ProxyHeaderError)) {
    throw new Finding("unexpected-tag", "a PROXY header failure that is not a ProxyHeaderError")
  }
  return JSON.stringify(
    step._tag === "Complete"
      ? { ...step, rest: Buffer.concat([step.rest, ...pieces.slice(i)]).toString("latin1") }
      : step._tag === "Failed"
      ? { _tag: "Failed", kind: step.error.kind, detail: step.error.detail }
      : step
  )
}

/**
 * The input as the first bytes of a connection to a `proxyProtocol` server:
 * the header read whole, cut where the input's hash says and a byte at a
 * time must agree; a complete header is within its bounds; the bytes past it
 * go through {@link check} (HTTP) as that connection's first input, where a
 * second PROXY header is a bad request (400, once its head is whole), never
 * a request or an address.
 * Returns the rest's HTTP outcome, or `undefined` when no header completes.
 */
export const checkProxyHeader = (data: Buffer): Outcome | undefined => {
  const whole = readProxyHeader([data])
  const ways: Array<[string, ReadonlyArray<Buffer>]> = [["cut", cutAt(data, cutsOf(data))]]
  if (data.length <= BYTE_BY_BYTE_MAX) ways.push(["byte-by-byte", cutAt(data, Array.from(data.keys()))])
  for (const [name, pieces] of ways) {
    const actual = readProxyHeader(pieces)
    if (actual !== whole) throw new Finding("proxy-split-mismatch", `${name} read ${actual}\nwhole read ${whole}`)
  }
  const step = parseProxyHeader(data)
  if (step._tag !== "Complete") return undefined
  const { header, rest } = step
  const bound = header.version === 1 ? MAX_V1_LENGTH : 16 + MAX_V2_PAYLOAD
  if (header.length > bound || header.length + rest.length !== data.length) {
    throw new Finding("proxy-contract", `a header of ${header.length} bytes, ${rest.length} left of ${data.length}`)
  }
  const outcome = check(Buffer.from(rest))
  // A head is judged once whole: until then the connection waits (then 408 or 400).
  const answered = outcome.status === 400 || (outcome.error === undefined && outcome.waiting === "head")
  if (parseProxyHeader(rest)._tag === "Complete" && (outcome.requests.length > 0 || !answered)) {
    throw new Finding("proxy-second-header", `a second PROXY header read as ${JSON.stringify(outcome)}`)
  }
  return outcome
}

/**
 * One fuzz input through every way the server may meet it: whole, cut where
 * its hash says, one byte per read (small inputs), with the strict bare-LF
 * setting and with a small head limit. The ways of cutting the same bytes
 * must agree (what a request is cannot depend on how TCP delivered it).
 * Throws a {@link Finding}; returns the outcome of the whole input.
 */
export const check = (data: Buffer): Outcome => {
  const whole = drive([data], defaultOptions)
  const expected = comparable(whole)
  const ways: Array<[string, ReadonlyArray<Buffer>]> = [["cut", cutAt(data, cutsOf(data))]]
  if (data.length <= BYTE_BY_BYTE_MAX) ways.push(["byte-by-byte", cutAt(data, Array.from(data.keys()))])
  for (const [name, pieces] of ways) {
    const actual = comparable(drive(pieces, defaultOptions))
    if (actual !== expected) {
      throw new Finding("split-mismatch", `${name} (${pieces.length} pieces) read ${actual}\nwhole read ${expected}`)
    }
  }
  // Without a bare LF anywhere, the bare-LF leniency cannot matter.
  const strict = comparable(drive([data], strictOptions))
  if (!hasBareLf(data) && strict !== expected) {
    throw new Finding("leniency-mismatch", `strict read ${strict}\nlenient read ${expected}`)
  }
  // What was read, written out again plainly, reads the same.
  if (whole.requests.length > 0) {
    const again = drive([serialize(whole.requests)], defaultOptions)
    const before = JSON.stringify(whole.requests)
    const after = JSON.stringify(again.requests)
    if (after !== before || again.error !== undefined) {
      throw new Finding(
        "roundtrip-mismatch",
        `re-serialized requests read ${after} (error ${String(again.error)})\nfirst read ${before}`
      )
    }
  }
  const small = comparable(drive([data], smallHeadOptions))
  const smallCut = comparable(drive(cutAt(data, cutsOf(data)), smallHeadOptions))
  if (small !== smallCut) {
    throw new Finding("split-mismatch", `maxHeaderSize ${smallHeadOptions.maxHeaderSize}, cut read ${smallCut}\nwhole read ${small}`)
  }
  return whole
}
