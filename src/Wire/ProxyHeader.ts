/**
 * The PROXY protocol header (HAProxy's `doc/proxy-protocol.txt`, versions 1
 * and 2), which layer-4 load balancers (HAProxy `mode tcp`, nginx `stream`,
 * AWS NLB, ...) put in front of the bytes of a connection they relay, to say
 * whom they relay it for.
 *
 * {@link ProxyHeaderReader} takes the connection's first bytes as they come,
 * split anywhere, and ends with the header and the bytes past it, or with a
 * {@link ProxyHeaderError}. It is strict, as the spec asks ("any sequence
 * which does not exactly match the protocol must be discarded and cause the
 * receiver to abort the connection"): the version is told by its signature
 * from the first byte on, so a request that begins without one fails at
 * once.
 *
 * Bounds: a v1 line is at most 107 bytes with its CRLF (the spec's worst
 * case); a v2 header at most 16 + {@link MAX_V2_PAYLOAD} bytes.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import { isIPv6 } from "node:net"

/**
 * The largest v2 address-and-TLV block accepted (the length field of the
 * fixed 16-byte part), in bytes. The field allows 65535; what balancers send
 * is far smaller (an IPv6 address block is 36 bytes, AWS's VPC endpoint TLV
 * about 25, HAProxy's unique id at most 128 and its SSL TLV a few hundred
 * with a client certificate's CN), and a header that claims more is held in
 * memory before a byte of HTTP is read. 4 KiB leaves room for all of these
 * at once and stays well under a request head's `maxHeaderSize`.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_V2_PAYLOAD = 4096

/** The longest v1 line, CRLF included (`PROXY UNKNOWN` with two full IPv6 addresses and ports). */
export const MAX_V1_LENGTH = 107

/** The v2 signature: CR LF CR LF NUL CR LF "QUIT" LF. */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])
const V1_SIGNATURE = Buffer.from("PROXY ", "latin1")
const V2_FIXED_LENGTH = 16

/**
 * The addresses a header carries: the client's (source) and the one it
 * connected to at the balancer (destination).
 *
 * @since 0.1.0
 * @category models
 */
export interface ProxyAddresses {
  readonly family: "IPv4" | "IPv6"
  readonly sourceAddress: string
  readonly sourcePort: number
  readonly destinationAddress: string
  readonly destinationPort: number
}

/**
 * A v2 TLV (type-length-value) as sent: its value raw. Known types are in
 * {@link TLV_TYPES}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProxyTlv {
  readonly type: number
  readonly value: Uint8Array
}

/**
 * The TLV types the spec (section 2.2.x) assigns, and AWS's (`0xEA`, whose
 * first value byte `0x01` marks the VPC endpoint id).
 *
 * @since 0.1.0
 * @category constants
 */
export const TLV_TYPES = {
  ALPN: 0x01,
  AUTHORITY: 0x02,
  CRC32C: 0x03,
  NOOP: 0x04,
  UNIQUE_ID: 0x05,
  SSL: 0x20,
  NETNS: 0x30,
  AWS: 0xea
} as const

/**
 * A complete header.
 *
 * `addresses` is `undefined` when the header does not name the client: v2
 * `LOCAL` (the balancer's own connection: a health check), v1 `UNKNOWN`,
 * and v2 families this server does not relay (unspecified, UDP, Unix
 * sockets), for which the spec says to fall back to the connection's own
 * addresses.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProxyHeader {
  readonly version: 1 | 2
  /** `Proxy`: relayed for a client; `Local`: the balancer's own (v2 `LOCAL`, v1 `UNKNOWN`). */
  readonly command: "Proxy" | "Local"
  readonly addresses: ProxyAddresses | undefined
  /** v2's TLVs, in order (none for v1 or `LOCAL`). */
  readonly tlvs: ReadonlyArray<ProxyTlv>
  /** The header's length on the wire, in bytes. */
  readonly length: number
}

/**
 * The first value of a TLV type, if the header has one.
 *
 * @since 0.1.0
 * @category accessors
 */
export const tlvValue = (header: ProxyHeader, type: number): Uint8Array | undefined =>
  header.tlvs.find((tlv) => tlv.type === type)?.value

/**
 * A connection that had to begin with a PROXY header did not: no signature
 * (`NotProxyProtocol`), a header that breaks the spec (`Malformed`), or one
 * past the bounds (`TooLong`).
 *
 * @since 0.1.0
 * @category errors
 */
export class ProxyHeaderError extends Data.TaggedError("ProxyHeaderError")<{
  readonly kind: "NotProxyProtocol" | "Malformed" | "TooLong"
  readonly detail: string
}> {
  override get message() {
    return `PROXY protocol header: ${this.detail}`
  }
}

/**
 * Where reading a header stands after some bytes.
 *
 * @since 0.1.0
 * @category models
 */
export type ProxyHeaderStep =
  | { readonly _tag: "NeedMore" }
  | { readonly _tag: "Complete"; readonly header: ProxyHeader; readonly rest: Uint8Array }
  | { readonly _tag: "Failed"; readonly error: ProxyHeaderError }

const NEED_MORE: ProxyHeaderStep = { _tag: "NeedMore" }

const fail = (kind: ProxyHeaderError["kind"], detail: string): ProxyHeaderStep => ({
  _tag: "Failed",
  error: new ProxyHeaderError({ kind, detail })
})

/**
 * Reads one header from bytes that arrive in pieces. Push each piece with
 * {@link ProxyHeaderReader.push} until it answers `Complete` (with the bytes
 * past the header, the connection's first input) or `Failed`; the pieces are
 * copied, so a transient buffer may be pushed.
 *
 * @since 0.1.0
 * @category parsing
 */
export class ProxyHeaderReader {
  private buffered: Buffer = Buffer.alloc(0)
  private done = false

  push(chunk: Uint8Array): ProxyHeaderStep {
    if (this.done) throw new Error("ProxyHeaderReader: the header is already read")
    this.buffered = this.buffered.length === 0
      ? Buffer.from(chunk)
      : Buffer.concat([this.buffered, chunk])
    const step = parseProxyHeader(this.buffered)
    if (step._tag !== "NeedMore") {
      this.done = true
      this.buffered = Buffer.alloc(0)
    }
    return step
  }
}

/**
 * Reads a header from the start of `bytes` (all the connection has sent so
 * far): `NeedMore` while they are a valid beginning of one.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseProxyHeader = (bytes: Uint8Array): ProxyHeaderStep => {
  const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (startsLike(data, V2_SIGNATURE)) return data.length < V2_SIGNATURE.length ? NEED_MORE : parseV2(data)
  if (startsLike(data, V1_SIGNATURE)) return data.length < V1_SIGNATURE.length ? NEED_MORE : parseV1(data)
  return fail("NotProxyProtocol", "the connection does not begin with a PROXY protocol signature")
}

/** Whether the bytes so far agree with `signature` (as far as either goes). */
const startsLike = (data: Buffer, signature: Buffer): boolean => {
  const n = Math.min(data.length, signature.length)
  return data.subarray(0, n).equals(signature.subarray(0, n))
}

// ---------------------------------------------------------------------------
// Version 1: `PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n` or `PROXY UNKNOWN ...\r\n`

const parseV1 = (data: Buffer): ProxyHeaderStep => {
  const scanned = Math.min(data.length, MAX_V1_LENGTH)
  for (let i = V1_SIGNATURE.length; i < scanned; i++) {
    const byte = data[i] as number
    if (byte === 0x0d) {
      if (i + 2 > MAX_V1_LENGTH) break
      if (i + 1 >= data.length) return NEED_MORE
      if (data[i + 1] !== 0x0a) return fail("Malformed", "v1 line: a CR not followed by LF")
      return v1Line(data.toString("latin1", 0, i), i + 2, data)
    }
    // The spec: "the receiver must not tolerate a single CR or LF character to end the line".
    if (byte === 0x0a) return fail("Malformed", "v1 line: a bare LF")
  }
  return data.length >= MAX_V1_LENGTH
    ? fail("TooLong", `v1 line: no CRLF within ${MAX_V1_LENGTH} bytes`)
    : NEED_MORE
}

const PORT = /^(?:0|[1-9]\d{0,4})$/
const IPV4_PART = /^(?:0|[1-9]\d{0,2})$/
const IPV6_TEXT = /^[0-9A-Fa-f:]+$/

const v1Line = (line: string, length: number, data: Buffer): ProxyHeaderStep => {
  const fields = line.split(" ")
  const rest = data.subarray(length)
  if (fields[1] === "UNKNOWN") {
    // "the receiver must ignore anything presented before the CRLF is found"
    return { _tag: "Complete", header: { version: 1, command: "Local", addresses: undefined, tlvs: [], length }, rest }
  }
  const [, protocol, source, destination, sourcePort, destinationPort] = fields
  if (protocol !== "TCP4" && protocol !== "TCP6") {
    return fail("Malformed", `v1 line: unknown protocol ${JSON.stringify(protocol)}`)
  }
  if (fields.length !== 6) return fail("Malformed", "v1 line: not exactly four fields after the protocol")
  const isAddress = protocol === "TCP4" ? isStrictIPv4 : isStrictIPv6
  if (!isAddress(source as string) || !isAddress(destination as string)) {
    return fail("Malformed", `v1 line: an address that is not ${protocol === "TCP4" ? "IPv4" : "IPv6"}`)
  }
  const ports = [sourcePort as string, destinationPort as string]
  if (!ports.every((port) => PORT.test(port) && Number(port) <= 65535)) {
    return fail("Malformed", "v1 line: a port that is not a decimal from 0 to 65535 without leading zeros")
  }
  const addresses: ProxyAddresses = {
    family: protocol === "TCP4" ? "IPv4" : "IPv6",
    sourceAddress: source as string,
    destinationAddress: destination as string,
    sourcePort: Number(sourcePort),
    destinationPort: Number(destinationPort)
  }
  return { _tag: "Complete", header: { version: 1, command: "Proxy", addresses, tlvs: [], length }, rest }
}

/** Four decimals from 0 to 255, no leading zeros (the spec: no octal confusion). */
const isStrictIPv4 = (text: string): boolean => {
  const parts = text.split(".")
  return parts.length === 4 && parts.every((part) => IPV4_PART.test(part) && Number(part) <= 255)
}

/** Hexadecimal groups and colons only (no zone, no dotted tail), 128 bits. */
const isStrictIPv6 = (text: string): boolean => IPV6_TEXT.test(text) && isIPv6(text)

// ---------------------------------------------------------------------------
// Version 2: the signature, version/command, family/transport, length, then
// the address block and TLVs.

/** Address block lengths by family (high nibble of the 14th byte). */
const ADDRESS_LENGTH: Readonly<Record<number, number>> = { 0x0: 0, 0x1: 12, 0x2: 36, 0x3: 216 }

const parseV2 = (data: Buffer): ProxyHeaderStep => {
  if (data.length < V2_FIXED_LENGTH) return NEED_MORE
  const versionCommand = data[12] as number
  if (versionCommand >> 4 !== 0x2) return fail("Malformed", `v2: version ${versionCommand >> 4}, not 2`)
  const command = versionCommand & 0x0f
  if (command > 0x1) return fail("Malformed", `v2: unassigned command ${command}`)
  const familyTransport = data[13] as number
  const family = familyTransport >> 4
  const transport = familyTransport & 0x0f
  const addressLength = ADDRESS_LENGTH[family]
  if (addressLength === undefined || transport > 0x2) {
    return fail("Malformed", `v2: unassigned family/transport byte 0x${familyTransport.toString(16)}`)
  }
  const payload = data.readUInt16BE(14)
  if (payload > MAX_V2_PAYLOAD) return fail("TooLong", `v2: ${payload} bytes of addresses and TLVs (at most ${MAX_V2_PAYLOAD})`)
  const length = V2_FIXED_LENGTH + payload
  if (data.length < length) return NEED_MORE
  const rest = data.subarray(length)
  // LOCAL: "the receiver must ... use the real connection endpoints and discard the protocol block".
  if (command === 0x0) {
    return { _tag: "Complete", header: { version: 2, command: "Local", addresses: undefined, tlvs: [], length }, rest }
  }
  // UNSPEC: nothing says where its addresses end; the block is ignored whole.
  if (family === 0x0 || transport === 0x0) {
    return { _tag: "Complete", header: { version: 2, command: "Proxy", addresses: undefined, tlvs: [], length }, rest }
  }
  if (payload < addressLength) {
    return fail("Malformed", `v2: ${payload} bytes, fewer than the ${addressLength} of its family's addresses`)
  }
  const block = data.subarray(V2_FIXED_LENGTH, length)
  const tlvs = readTlvs(block.subarray(addressLength))
  if (tlvs === undefined) return fail("Malformed", "v2: a TLV runs past the header's length")
  // TCP over IPv4 or IPv6 names the client; UDP and Unix sockets fall back to the connection's own addresses.
  const addresses = transport === 0x1 && family !== 0x3 ? readAddresses(block, family === 0x1) : undefined
  return { _tag: "Complete", header: { version: 2, command: "Proxy", addresses, tlvs, length }, rest }
}

const readAddresses = (block: Buffer, ipv4: boolean): ProxyAddresses => {
  const size = ipv4 ? 4 : 16
  const format = ipv4 ? formatIPv4 : formatIPv6
  return {
    family: ipv4 ? "IPv4" : "IPv6",
    sourceAddress: format(block.subarray(0, size)),
    destinationAddress: format(block.subarray(size, 2 * size)),
    sourcePort: block.readUInt16BE(2 * size),
    destinationPort: block.readUInt16BE(2 * size + 2)
  }
}

/** Type (1 byte), length (2 bytes, network order), value; `undefined` when one overruns. */
const readTlvs = (bytes: Buffer): ReadonlyArray<ProxyTlv> | undefined => {
  const tlvs: Array<ProxyTlv> = []
  let at = 0
  while (at < bytes.length) {
    if (at + 3 > bytes.length) return undefined
    const length = bytes.readUInt16BE(at + 1)
    const end = at + 3 + length
    if (end > bytes.length) return undefined
    tlvs.push({ type: bytes[at] as number, value: Uint8Array.prototype.slice.call(bytes, at + 3, end) })
    at = end
  }
  return tlvs
}

const formatIPv4 = (bytes: Buffer): string => `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`

/**
 * RFC 5952's text form: lower case, no leading zeros, the longest run of
 * two or more zero groups as `::`; an IPv4-mapped address as `::ffff:a.b.c.d`.
 */
const formatIPv6 = (bytes: Buffer): string => {
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(2 * i))
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatIPv4(bytes.subarray(12))}`
  }
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = groups.map((group) => group.toString(16))
  if (bestStart === -1) return hex.join(":")
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`
}
