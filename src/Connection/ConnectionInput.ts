/**
 * The input side of one connection as pure code (no socket, no timer, no
 * Effect): the bytes read and not yet consumed, and the one step that takes
 * from them, either the next request head ({@link HeadReader}) or the next
 * piece of the body in flight (a {@link BodySink}: `RequestBody`, which
 * frames with a `BodyFramer`). `HttpConnection` reads requests through it,
 * and so do the request corpus and the fuzzer: what they test is what runs.
 *
 * The input is one buffer; unconsumed bytes are `buffer[start, end)`.
 * - A read that finds the buffer consumed takes the new bytes as they are
 *   (no copy). Otherwise only a partial head or partial framing is left
 *   over, and it is joined with the new bytes into a fresh buffer (body
 *   pieces already handed out are views of the old one, never written to
 *   again); the head scan's resume point moves with the bytes.
 * - `transient` bytes live in a read buffer that the next read of any
 *   connection overwrites: whatever of them outlives the turn (a partial
 *   head, body bytes not read yet) is copied out by {@link endTurn}, so that
 *   reading itself allocates nothing.
 *
 * @since 0.1.0
 */
import { findHeadEnd, type ParserLeniency, type RequestHead, skipLeadingEmptyLines } from "../Wire/HeadParser.ts"
import { HeadReader } from "../Wire/HeadReader.ts"

/**
 * What takes a body's bytes off the input: `RequestBody` on a connection
 * (a `BodyFramer` with limits and a queue), a framer alone in the drivers.
 *
 * @since 0.1.0
 * @category models
 */
export interface BodySink {
  /**
   * Takes the body's bytes from `input[start, end)`; returns where they end
   * (`end`, or just past the body once its framing is done). `transient`:
   * `input` is overwritten after this turn, so a piece kept must be copied.
   */
  readonly feed: (input: Uint8Array, start: number, end: number, transient: boolean) => number
}

const EMPTY = Buffer.alloc(0)

/**
 * @since 0.1.0
 * @category models
 */
export class ConnectionInput {
  // The fields are read (never written) by the fuzzer's contract checks.
  /** The bytes read; the unconsumed ones are `[start, buffer.length)`. */
  buffer: Buffer = EMPTY
  /** The buffer is a shared read buffer, valid only during this turn. */
  private transient = false
  /** Where the unconsumed bytes begin. */
  start = 0
  /** Where the search for the end of the head resumes. */
  scanFrom = 0
  /** How many bytes of the connection came before `buffer[0]`. */
  private before = 0
  /** The head reader (its fields say where the last {@link readHead} stopped). */
  readonly reader: HeadReader

  constructor(maxHeaderSize: number, leniency: ParserLeniency, maxRequestLineSize?: number) {
    this.reader = new HeadReader(maxHeaderSize, leniency, maxRequestLineSize)
  }

  /** Where the bytes read end. */
  get end(): number {
    return this.buffer.length
  }

  /** Whether every byte read was consumed. */
  get isEmpty(): boolean {
    return this.start >= this.buffer.length
  }

  /** How many bytes read are not consumed yet. */
  get size(): number {
    return this.buffer.length - this.start
  }

  /** How many bytes the connection has received in all: a position in its byte stream. */
  get received(): number {
    return this.before + this.buffer.length
  }

  /**
   * Whether the unconsumed bytes hold a whole head (past the empty lines
   * before it) that ends at or before the stream position `limit`: the same
   * scan as the {@link HeadReader}'s, not a parse; {@link readHead} may
   * still refuse what it finds.
   */
  holdsHeadEndBy(limit: number): boolean {
    const buffer = this.buffer
    const end = buffer.length
    const headStart = skipLeadingEmptyLines(buffer, this.start, end)
    if (headStart >= end) return false
    const headEnd = findHeadEnd(buffer, headStart, end)
    return headEnd !== -1 && this.before + headEnd <= limit
  }

  /**
   * After a {@link readHead} that returned no head: whether bytes of a head
   * are in and its end is not (the connection's header timeout runs).
   */
  get headStarted(): boolean {
    return this.reader.started
  }

  /** Takes bytes read from the socket; see the module doc for `transient`. */
  receive(chunk: Buffer, transient: boolean): void {
    if (this.start >= this.buffer.length) {
      this.before += this.buffer.length
      this.buffer = chunk
      this.transient = transient
      this.start = 0
      this.scanFrom = 0
    } else {
      this.buffer = Buffer.concat([this.buffer.subarray(this.start), chunk])
      this.transient = false
      this.rebase()
    }
  }

  /**
   * The turn that received the bytes is over: what is left of transient
   * input is copied into a buffer of our own.
   */
  endTurn(): void {
    if (!this.transient) return
    this.transient = false
    if (this.start >= this.buffer.length) {
      this.clear()
      return
    }
    this.buffer = Buffer.from(this.buffer.subarray(this.start))
    this.rebase()
  }

  /** Drops all input (the connection is gone). */
  clear(): void {
    this.before += this.buffer.length
    this.buffer = EMPTY
    this.transient = false
    this.start = 0
    this.scanFrom = 0
  }

  /** The unconsumed bytes now begin at 0 of the buffer: the scan point moves with them. */
  private rebase(): void {
    this.before += this.start
    this.scanFrom = Math.max(0, this.scanFrom - this.start)
    this.start = 0
  }

  /**
   * The step when no request is in flight: reads the next head, consuming
   * it (and the empty lines before it). Returns `undefined` when more bytes
   * are needed (see {@link headStarted}).
   *
   * @throws HeaderTooLarge | MethodTooLong | TargetTooLong | MalformedRequest |
   *   VersionNotSupported | UnsupportedTransferEncoding from the
   *   {@link HeadReader}; the connection is then over
   */
  readHead(): RequestHead | undefined {
    const reader = this.reader
    const head = reader.read(this.buffer, this.start, this.buffer.length, this.scanFrom)
    if (head === undefined) {
      this.start = reader.start
      this.scanFrom = reader.scanFrom
      return undefined
    }
    this.start = this.scanFrom = reader.headEnd
    return head
  }

  /** The step when a request is in flight: hands its body the bytes there are. */
  feedBody(body: BodySink): void {
    this.start = body.feed(this.buffer, this.start, this.buffer.length, this.transient)
  }
}
