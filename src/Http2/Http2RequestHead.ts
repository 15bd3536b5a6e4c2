/**
 * An HTTP/2 stream's header block as the {@link RequestHead} every request
 * is built from, so that a handler sees the same request over either
 * protocol: method and target from `:method` and `:path` (`:authority` for
 * `CONNECT`), the host from `:authority` (else `host`), and, as RFC 9113
 * section 8.3.1 asks of a conversion to HTTP/1.1, a `host` field made from
 * `:authority` when the client sent none. The pseudo-header fields are not
 * headers. nghttp2 has already checked the block (section 8.2: lower-case
 * names, no connection-specific fields, the pseudo-headers present once,
 * a numeric `content-length` that the DATA frames match).
 *
 * @since 0.1.0
 */
import type { BodyFraming, RequestHead } from "../Wire/HeadParser.ts"

const NO_BODY: BodyFraming = { _tag: "NoBody" }
const STREAM_END: BodyFraming = { _tag: "StreamEnd" }

/**
 * The head of a request from its stream's raw header block
 * (`[name0, value0, ...]` as Node gives it, pseudo-headers included).
 * `endAfterHeaders`: the HEADERS frame ended the stream (no body). Only what
 * every request needs is read at once; the headers without the
 * pseudo-headers ({@link RequestHead.rawHeaders}) are made on first use (a
 * handler that never looks at them costs no copy).
 *
 * @since 0.1.0
 * @category decoders
 */
export const requestHeadOf = (rawBlock: ReadonlyArray<string>, endAfterHeaders: boolean): RequestHead => {
  let method = "GET"
  let path: string | undefined = undefined
  let authority: string | undefined = undefined
  let host: string | undefined = undefined
  let contentLength: string | undefined = undefined
  let expect: string | undefined = undefined
  for (let i = 0; i + 1 < rawBlock.length; i += 2) {
    const name = rawBlock[i] as string
    const value = rawBlock[i + 1] as string
    if (name.charCodeAt(0) === 0x3a) {
      if (name === ":method") method = value
      else if (name === ":path") path = value
      else if (name === ":authority") authority = value
    } else if (name === "host") host = value
    else if (name === "content-length") contentLength = value
    else if (name === "expect") expect = value
  }
  const length = contentLength === undefined ? undefined : Number(contentLength)
  const framing: BodyFraming = endAfterHeaders || length === 0
    ? NO_BODY
    : length !== undefined && Number.isSafeInteger(length)
    ? { _tag: "ContentLength", length }
    : STREAM_END
  return new StreamRequestHead(
    method,
    path ?? authority ?? "/",
    framing,
    // RFC 9110 section 10.1.1; in HTTP/2 the 100 is a HEADERS frame of its own (RFC 9113 section 8.1).
    !endAfterHeaders && expect !== undefined && expect.toLowerCase() === "100-continue",
    authority ?? host,
    rawBlock,
    host === undefined ? authority : undefined
  )
}

class StreamRequestHead implements RequestHead {
  readonly method: string
  readonly target: string
  readonly version = "HTTP/2.0" as const
  readonly framing: BodyFraming
  readonly keepAlive = true
  readonly expectContinue: boolean
  readonly host: string | undefined
  readonly upgrade = undefined
  private readonly rawBlock: ReadonlyArray<string>
  /** The `host` field to add, from `:authority`, when the client sent none. */
  private readonly hostFromAuthority: string | undefined
  private headers: Array<string> | undefined = undefined

  constructor(
    method: string,
    target: string,
    framing: BodyFraming,
    expectContinue: boolean,
    host: string | undefined,
    rawBlock: ReadonlyArray<string>,
    hostFromAuthority: string | undefined
  ) {
    this.method = method
    this.target = target
    this.framing = framing
    this.expectContinue = expectContinue
    this.host = host
    this.rawBlock = rawBlock
    this.hostFromAuthority = hostFromAuthority
  }

  /** The header fields, pseudo-headers left out; a `host` from `:authority` first when the client sent none. */
  get rawHeaders(): Array<string> {
    if (this.headers !== undefined) return this.headers
    const block = this.rawBlock
    const headers: Array<string> = this.hostFromAuthority === undefined ? [] : ["host", this.hostFromAuthority]
    for (let i = 0; i + 1 < block.length; i += 2) {
      const name = block[i] as string
      if (name.charCodeAt(0) !== 0x3a) headers.push(name, block[i + 1] as string)
    }
    this.headers = headers
    return headers
  }
}

/**
 * The size of a header list as RFC 9113 section 6.5.2 counts it for
 * `SETTINGS_MAX_HEADER_LIST_SIZE`: each field's name and value, plus 32.
 *
 * @since 0.1.0
 * @category decoders
 */
export const headerListSize = (rawBlock: ReadonlyArray<string>): number => {
  let size = 0
  for (let i = 0; i + 1 < rawBlock.length; i += 2) {
    size += (rawBlock[i] as string).length + (rawBlock[i + 1] as string).length + 32
  }
  return size
}
