/**
 * Reading the next request head off a connection's input: the byte logic of
 * `HttpConnection.nextRequest`, as a pure component (no socket, no timer, no
 * Effect), so that the connection, the request corpus and the fuzzer all read
 * heads through the same code.
 *
 * The input is one buffer holding the connection's unconsumed bytes in
 * `[start, end)`; a head may arrive over many reads, so a read that finds no
 * end yet says where the next scan resumes, and the caller passes that back
 * once more bytes are in (rebased if it moves the bytes). A read:
 *
 * 1. skips the empty lines a client may send before a request-line (RFC 9112
 *    section 2.2; {@link skipLeadingEmptyLines}). Only before a head starts:
 *    once it has, the bytes at `start` are no empty line, so skipping again
 *    is a no-op and the reader needs no flag for it;
 * 2. scans for the empty line that ends the head (RFC 9112 section 2.1) from
 *    the resume point ({@link findHeadEnd}, incremental: a head split over
 *    many reads is scanned once);
 * 3. enforces `maxHeaderSize` on what has come of a head (so a client cannot
 *    make us buffer an endless head) and on a whole head, and
 *    `maxRequestLineSize` on the request-line, as soon as it is passed
 *    (RFC 9112 section 3: `501` for a method, `414` for a target);
 * 4. parses the head from its Latin-1 text ({@link parseHead}), where every
 *    decision on the framing of the body is made.
 *
 * Results are left in the reader's fields rather than in a fresh object: this
 * runs once per request on the hot path, and a connection owns one reader.
 *
 * @since 0.1.0
 */
import type { ParserLeniency, RequestHead } from "./HeadParser.ts"
import { findHeadEnd, parseHead, requestLineTooLong, resumeScanAt, skipLeadingEmptyLines } from "./HeadParser.ts"
import { TOKEN } from "./CharClasses.ts"
import { HeaderTooLarge, MalformedRequest } from "./HttpErrors.ts"
import { latin1 } from "./Latin1.ts"

/**
 * The most input converted to text at once: 16 pipelined heads of a
 * benchmark client are about 720 bytes, a browser's head 500 to 2,000.
 */
const BATCH_TEXT_MAX_BYTES = 4096

/**
 * The Latin-1 text of `batch.of[batch.start, batch.end)`. When more input
 * follows a head (pipelined heads), the text of it all is made once and the
 * heads after the first are parsed in it, each at its offset, rather than
 * converted one by one (a call into C++ each, 10% of a pipelined request).
 * One for the process: an input is read whole in the turn it arrives, and a
 * connection's input is a new buffer whenever it changes (never rewritten
 * in place), so a buffer seen again is the same bytes.
 */
const batch: { of: Buffer | undefined; text: string; start: number; end: number } = {
  of: undefined,
  text: "",
  start: 0,
  end: 0
}

/** Where the head `input[headStart, headEnd)` starts in `batch.text`, made if need be. */
const batchTextFor = (input: Buffer, headStart: number, headEnd: number, end: number): number => {
  if (batch.of !== input || headStart < batch.start || headEnd > batch.end) {
    // A small input is taken whole (the heads after this one are in it);
    // of a large one (a body follows), only the head.
    const textEnd = end - headStart <= BATCH_TEXT_MAX_BYTES ? end : headEnd
    batch.text = latin1(input, headStart, textEnd)
    batch.of = input
    batch.start = headStart
    batch.end = textEnd
  }
  return headStart - batch.start
}

/**
 * @since 0.1.0
 * @category parsers
 */
export class HeadReader {
  /** The most bytes a request head may take, request-line to empty line. */
  readonly maxHeaderSize: number
  readonly leniency: ParserLeniency
  /** The most bytes a request-line may take, without its line end. */
  readonly maxRequestLineSize: number

  /**
   * After {@link read}: where the head starts, past any empty lines before it;
   * when no head has started, `end` (the empty lines are consumed).
   */
  start = 0
  /** After a {@link read} that returned a head: the index just past its empty line, where its body starts. */
  headEnd = -1
  /** After {@link read}: where the next scan for the end of a head resumes (`headEnd` once a head is read). */
  scanFrom = 0
  /**
   * After a {@link read} that returned no head: whether bytes of a head are
   * in, its end not yet (the connection's header timeout runs from the first).
   */
  started = false

  /**
   * @param maxRequestLineSize default 8 KiB, as nginx's
   *   `large_client_header_buffers`
   */
  constructor(maxHeaderSize: number, leniency: ParserLeniency, maxRequestLineSize = DEFAULT_MAX_REQUEST_LINE_SIZE) {
    this.maxHeaderSize = maxHeaderSize
    this.leniency = leniency
    this.maxRequestLineSize = maxRequestLineSize
    this.smallerLimit = Math.min(maxHeaderSize, maxRequestLineSize)
  }

  private readonly smallerLimit: number

  /**
   * Reads the next head from `input[start, end)`, resuming the scan for its
   * end at `scanFrom` (from an earlier read of the same bytes, or `start`).
   * Returns the head, or `undefined` when more bytes are needed; see the
   * fields for where the input and the scan stand.
   *
   * @throws HeaderTooLarge when the head, whole or not yet, passes
   *   `maxHeaderSize`; MethodTooLong | TargetTooLong when the request-line,
   *   whole or not yet, passes `maxRequestLineSize`;
   *   MalformedRequest | VersionNotSupported | UnsupportedTransferEncoding
   *   from {@link parseHead}
   */
  read(input: Buffer, start: number, end: number, scanFrom: number): RequestHead | undefined {
    const headStart = skipLeadingEmptyLines(input, start, end)
    this.start = headStart
    this.headEnd = -1
    if (headStart >= end) {
      this.scanFrom = headStart
      this.started = false
      return undefined
    }
    // A request-line starts with a method (a token): a stray byte where one
    // must start (a bare CR, whitespace, NUL after a body) fails at once,
    // not once a head's worth of bytes has come in behind it. A CR that ends
    // the input may be the start of an empty line: the next read decides.
    const first = input[headStart] as number
    if (TOKEN[first] === 0 && !(first === CR && headStart + 1 === end)) {
      throw new MalformedRequest({ reason: "request line has no method" })
    }
    const headEnd = findHeadEnd(input, scanFrom > headStart ? scanFrom : headStart, end)
    if (headEnd === -1) {
      if (end - headStart > this.smallerLimit) this.refuseOversized(input, headStart, end)
      this.scanFrom = resumeScanAt(headStart, end)
      this.started = true
      return undefined
    }
    if (headEnd - headStart > this.maxHeaderSize) this.refuseOversized(input, headStart, headEnd)
    // The head's text, with the heads that follow it in a small input.
    const from = batchTextFor(input, headStart, headEnd, end)
    const head = parseHead(batch.text, this.leniency, this.maxRequestLineSize, from)
    this.headEnd = headEnd
    this.scanFrom = headEnd
    this.started = false
    return head
  }

  /**
   * `input[headStart, end)`, a head whole or under way, passes a limit:
   * refused with the error of the limit its bytes passed first, so that the
   * answer never depends on how the bytes were cut into reads. The
   * request-line comes first in a head, so when its limit is the smaller one
   * a line past it is passed first; otherwise a line past it is a head past
   * `maxHeaderSize` too.
   */
  private refuseOversized(input: Buffer, headStart: number, end: number): void {
    if (this.maxRequestLineSize < this.maxHeaderSize && end - headStart > this.maxRequestLineSize) {
      this.refuseLongRequestLine(input, headStart, end)
    }
    if (end - headStart > this.maxHeaderSize) throw new HeaderTooLarge({ limit: this.maxHeaderSize })
  }

  /**
   * A head with more than `maxRequestLineSize` bytes in, whole or not: its
   * request-line must have ended within the limit (a CR may end it), or it
   * is refused, as soon as that is known.
   */
  private refuseLongRequestLine(input: Buffer, headStart: number, end: number): void {
    const limit = this.maxRequestLineSize
    let lineEnd = input.indexOf(LF, headStart)
    if (lineEnd === -1 || lineEnd > end) lineEnd = end
    // A CR before the LF, or ending the input (its LF may come next), is not the line's.
    if (input[lineEnd - 1] === CR) lineEnd--
    if (lineEnd - headStart <= limit) return
    const sp = input.indexOf(SP, headStart)
    throw requestLineTooLong(sp === -1 || sp >= end ? -1 : sp - headStart, limit)
  }
}

const LF = 0x0a
const CR = 0x0d
const SP = 0x20

/**
 * The request-line limit when none is given: 8 KiB, as nginx
 * (`large_client_header_buffers 4 8k`).
 *
 * @since 0.1.0
 */
export const DEFAULT_MAX_REQUEST_LINE_SIZE = 8192
