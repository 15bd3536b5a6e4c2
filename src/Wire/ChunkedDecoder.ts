/**
 * Incremental decoder of the chunked transfer coding (RFC 9112 section 7.1).
 *
 * One state per position in the grammar; bytes may arrive split anywhere.
 * Chunk data is handed on as sub-views of the input (never copied). Framing
 * lines must end in CRLF: a bare LF or CR here is refused, since servers that
 * disagree on where a chunk ends are how requests get smuggled.
 *
 * ```
 * chunked-body   = *chunk last-chunk trailer-section CRLF
 * chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 * chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 * chunk-ext-name = token
 * chunk-ext-val  = token / quoted-string
 * ```
 *
 * Extensions are read to that grammar exactly (RFC 9112 section 7.1.1, RFC
 * 9110 section 5.6.4 for quoted-string) and dropped: whitespace (BWS) only
 * where a `;` or `=` follows it, so `5 \r\n` and `5;a \r\n` are refused;
 * a quoted-string must close before the CR; `;` needs a name after it.
 *
 * @since 0.1.0
 */
import { FIELD_VALUE, HEX_VALUE, QDTEXT, TOKEN } from "./CharClasses.ts"
import { MalformedRequest } from "./HttpErrors.ts"

/**
 * Caps on what the framing itself may cost, so that a client cannot make us
 * buffer or loop without bound on bytes that carry no data.
 *
 * @since 0.1.0
 */
export const ChunkedLimits = {
  /** Hex digits of a chunk size: 13 allow up to 2^52, safely an integer. */
  maxSizeDigits: 13,
  /**
   * Bytes between the size and the CR of one chunk-size line: BWS, `;` and
   * extensions (llhttp and hyper cap these too).
   */
  maxExtensionBytes: 1024,
  /** Bytes of the whole trailer section. */
  maxTrailerBytes: 8192
} as const

type State =
  | "Size" // reading hex digits of chunk-size
  | "ExtSpace" // BWS after the size or an extension: ";" must follow
  | "ExtNameStart" // after ";": BWS, then a token
  | "ExtName" // inside chunk-ext-name
  | "ExtSpaceAfterName" // BWS after a name: "=" or ";" must follow
  | "ExtValueStart" // after "=": BWS, then a token or a quoted-string
  | "ExtToken" // inside a token chunk-ext-val
  | "ExtQuoted" // inside a quoted-string
  | "ExtQuotedPair" // after a backslash in a quoted-string
  | "ExtQuoteEnd" // after the closing quote
  | "SizeLf" // CR seen after the size line, LF expected
  | "Data" // chunk-data
  | "DataCr" // CR expected after chunk-data
  | "DataLf" // LF expected after chunk-data
  | "TrailerLineStart" // start of a trailer line, or of the final CRLF
  | "TrailerName" // inside the name of a trailer field line
  | "TrailerValue" // after the colon of a trailer field line
  | "TrailerLf" // CR seen at the end of a trailer line
  | "EndLf" // CR of the final empty line seen, LF expected
  | "Done"

const CR = 0x0d
const LF = 0x0a
const SEMICOLON = 0x3b
const EQUALS = 0x3d
const QUOTE = 0x22
const BACKSLASH = 0x5c

const fail = (reason: string): never => {
  throw new MalformedRequest({ reason })
}

/**
 * @since 0.1.0
 * @category decoders
 */
export class ChunkedDecoder {
  private state: State = "Size"
  /** Bytes left in the current chunk, or the size being read. */
  private size = 0
  private sizeDigits = 0
  private extensionBytes = 0
  private trailerBytes = 0
  /** No byte of the current trailer field name seen yet. */
  private trailerNameEmpty = true

  /** Whether the last chunk and the trailer section have been read. */
  get done(): boolean {
    return this.state === "Done"
  }

  /** Whether a chunk-size line may end (CRLF) where the extension grammar stands. */
  private extensionMayEnd(): boolean {
    const state = this.state
    return state === "ExtName" || state === "ExtToken" || state === "ExtQuoteEnd"
  }

  /**
   * One byte of the chunk-ext grammar after the size (not the CR that ends
   * the line): moves to the next state or fails. Every byte counts against
   * `maxExtensionBytes`: uncapped, a client could stream an extension (or
   * BWS) forever on one size line, costing us time while no body byte,
   * limit or timeout advances.
   */
  private extensionByte(b: number): void {
    if (++this.extensionBytes > ChunkedLimits.maxExtensionBytes) fail("chunk extensions too long")
    const space = b === 0x20 || b === 0x09
    switch (this.state) {
      case "Size":
        if (b === SEMICOLON) this.state = "ExtNameStart"
        else if (space) this.state = "ExtSpace"
        else fail(b === LF ? "chunk size line not ended by CRLF" : "invalid chunk size")
        return
      case "ExtSpace":
        if (b === SEMICOLON) this.state = "ExtNameStart"
        else if (!space) fail(b === CR ? "whitespace before the end of a chunk-size line" : "invalid byte after chunk size")
        return
      case "ExtNameStart":
        if (TOKEN[b] === 1) this.state = "ExtName"
        else if (!space) fail("invalid byte in chunk extension: a name must follow ';'")
        return
      case "ExtName":
        if (b === SEMICOLON) this.state = "ExtNameStart"
        else if (b === EQUALS) this.state = "ExtValueStart"
        else if (space) this.state = "ExtSpaceAfterName"
        else if (TOKEN[b] === 0) fail("invalid byte in chunk extension name")
        return
      case "ExtSpaceAfterName":
        if (b === SEMICOLON) this.state = "ExtNameStart"
        else if (b === EQUALS) this.state = "ExtValueStart"
        else if (!space) fail(b === CR ? "whitespace before the end of a chunk-size line" : "invalid byte in chunk extension after a name")
        return
      case "ExtValueStart":
        if (b === QUOTE) this.state = "ExtQuoted"
        else if (TOKEN[b] === 1) this.state = "ExtToken"
        else if (!space) fail("invalid byte in chunk extension: a value must follow '='")
        return
      case "ExtToken":
        if (b === SEMICOLON) this.state = "ExtNameStart"
        else if (space) this.state = "ExtSpace"
        else if (TOKEN[b] === 0) fail("invalid byte in chunk extension value")
        return
      case "ExtQuoted":
        if (b === QUOTE) this.state = "ExtQuoteEnd"
        else if (b === BACKSLASH) this.state = "ExtQuotedPair"
        else if (QDTEXT[b] === 0) fail(b === CR ? "unterminated quoted-string in chunk extension" : "invalid byte in chunk extension value")
        return
      case "ExtQuotedPair":
        if (FIELD_VALUE[b] === 0) fail("invalid byte in chunk extension: quoted-pair")
        this.state = "ExtQuoted"
        return
      case "ExtQuoteEnd":
        if (b === SEMICOLON) this.state = "ExtNameStart"
        else if (space) this.state = "ExtSpace"
        else fail("invalid byte in chunk extension after a quoted value")
        return
      default:
        fail("invalid chunk extension")
    }
  }

  /**
   * Decodes `input[start, end)`, calling `onData` with each piece of chunk
   * data. Returns the index where it stopped: `end`, or just past the end of
   * the body when {@link done} (the rest belongs to the next request).
   *
   * @throws MalformedRequest
   */
  decode(input: Uint8Array, start: number, end: number, onData: (data: Uint8Array) => void): number {
    let i = start
    while (i < end) {
      switch (this.state) {
        case "Size": {
          const b = input[i] as number
          const v = HEX_VALUE[b] as number
          if (v !== 255) {
            if (++this.sizeDigits > ChunkedLimits.maxSizeDigits) fail("chunk size too large")
            this.size = this.size * 16 + v
            i++
          } else if (this.sizeDigits === 0) {
            fail("invalid chunk size")
          } else if (b === CR) {
            this.state = "SizeLf"
            i++
          } else {
            this.extensionByte(b)
            i++
          }
          break
        }
        case "ExtSpace":
        case "ExtNameStart":
        case "ExtName":
        case "ExtSpaceAfterName":
        case "ExtValueStart":
        case "ExtToken":
        case "ExtQuoted":
        case "ExtQuotedPair":
        case "ExtQuoteEnd": {
          const b = input[i] as number
          if (b === CR && this.extensionMayEnd()) this.state = "SizeLf"
          else this.extensionByte(b)
          i++
          break
        }
        case "SizeLf": {
          if (input[i] !== LF) fail("chunk size line not ended by CRLF")
          i++
          this.extensionBytes = 0
          this.sizeDigits = 0
          this.state = this.size === 0 ? "TrailerLineStart" : "Data"
          break
        }
        case "Data": {
          const n = Math.min(this.size, end - i)
          onData(input.subarray(i, i + n))
          i += n
          this.size -= n
          if (this.size === 0) this.state = "DataCr"
          break
        }
        case "DataCr":
          if (input[i] !== CR) fail("chunk data not followed by CRLF")
          this.state = "DataLf"
          i++
          break
        case "DataLf":
          if (input[i] !== LF) fail("chunk data not followed by CRLF")
          this.state = "Size"
          i++
          break
        case "TrailerLineStart": {
          // A trailer field line has the grammar of a header line (RFC 9112
          // section 7.1.2, 5); its value is dropped. Each byte is checked as
          // it arrives, so a bad one (a bare LF above all: RFC 9112 section 7.1
          // frames with CRLF) fails at once instead of leaving the decoder
          // waiting for a CR that may never come.
          const b = input[i] as number
          if (b === CR) {
            this.state = "EndLf"
            i++
          } else if (b === LF) {
            fail("chunked body not ended by CRLF")
          } else {
            this.state = "TrailerName"
          }
          break
        }
        case "TrailerName": {
          const b = input[i] as number
          if (++this.trailerBytes > ChunkedLimits.maxTrailerBytes) fail("trailer section too large")
          if (b === 0x3a /* : */) {
            if (this.trailerNameEmpty) fail("invalid trailer field")
            this.state = "TrailerValue"
          } else if (TOKEN[b] === 0) {
            fail(b === CR || b === LF ? "invalid trailer field" : "invalid trailer field name")
          } else {
            this.trailerNameEmpty = false
          }
          i++
          break
        }
        case "TrailerValue": {
          const b = input[i] as number
          if (++this.trailerBytes > ChunkedLimits.maxTrailerBytes) fail("trailer section too large")
          if (b === CR) this.state = "TrailerLf"
          else if (FIELD_VALUE[b] === 0) fail("invalid trailer field value")
          i++
          break
        }
        case "TrailerLf":
          if (input[i] !== LF) fail("trailer line not ended by CRLF")
          this.state = "TrailerLineStart"
          this.trailerNameEmpty = true
          i++
          break
        case "EndLf":
          if (input[i] !== LF) fail("chunked body not ended by CRLF")
          this.state = "Done"
          return i + 1
        case "Done":
          return i
      }
    }
    return i
  }
}
