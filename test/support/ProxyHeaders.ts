/**
 * PROXY protocol headers as balancers write them (HAProxy's
 * `doc/proxy-protocol.txt`), for the tests: a v1 line, a v2 binary header
 * with its addresses and TLVs.
 */
import * as Net from "node:net"

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])

/** `PROXY TCP4 src dst sport dport\r\n` (TCP6 for IPv6 addresses). */
export const v1 = (source: string, destination: string, sourcePort: number, destinationPort: number): Buffer =>
  Buffer.from(
    `PROXY ${Net.isIPv6(source) ? "TCP6" : "TCP4"} ${source} ${destination} ${sourcePort} ${destinationPort}\r\n`,
    "latin1"
  )

export interface V2Options {
  readonly command?: "LOCAL" | "PROXY"
  /** The 14th byte (family << 4 | transport); from the addresses when not given. */
  readonly familyTransport?: number
  readonly source?: string
  readonly destination?: string
  readonly sourcePort?: number
  readonly destinationPort?: number
  readonly tlvs?: ReadonlyArray<{ readonly type: number; readonly value: Uint8Array | string }>
  /** The length field, when it must lie. */
  readonly length?: number
}

/** The 16 bytes of an IPv6 address (or 4 of an IPv4 one). */
export const addressBytes = (address: string): Buffer => {
  if (Net.isIPv4(address)) return Buffer.from(address.split(".").map(Number))
  // A dotted IPv4 tail (`::ffff:10.0.0.1`) as its two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address)
  const text = dotted === null
    ? address
    : address.slice(0, dotted.index) +
      [[1, 2], [3, 4]].map(([a, b]) => ((Number(dotted[a as number]) << 8) | Number(dotted[b as number])).toString(16)).join(":")
  const [head = "", tail = ""] = text.split("::")
  const groups = (text: string) => text === "" ? [] : text.split(":").map((g) => parseInt(g, 16))
  const before = groups(head)
  const after = groups(tail)
  const all = text.includes("::")
    ? [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after]
    : before
  const out = Buffer.alloc(16)
  all.forEach((group, i) => out.writeUInt16BE(group, 2 * i))
  return out
}

/** A v2 header: PROXY over TCP with the given addresses, or LOCAL with none. */
export const v2 = (options: V2Options = {}): Buffer => {
  const command = options.command ?? "PROXY"
  const parts: Array<Buffer> = []
  let familyTransport = options.familyTransport ?? 0x00
  if (options.source !== undefined && options.destination !== undefined) {
    familyTransport = options.familyTransport ?? (Net.isIPv6(options.source) ? 0x21 : 0x11)
    const ports = Buffer.alloc(4)
    ports.writeUInt16BE(options.sourcePort ?? 0, 0)
    ports.writeUInt16BE(options.destinationPort ?? 0, 2)
    parts.push(addressBytes(options.source), addressBytes(options.destination), ports)
  }
  for (const tlv of options.tlvs ?? []) {
    const value = typeof tlv.value === "string" ? Buffer.from(tlv.value, "latin1") : Buffer.from(tlv.value)
    const head = Buffer.alloc(3)
    head[0] = tlv.type
    head.writeUInt16BE(value.length, 1)
    parts.push(head, value)
  }
  const payload = Buffer.concat(parts)
  const fixed = Buffer.alloc(4)
  fixed[0] = 0x20 | (command === "PROXY" ? 0x1 : 0x0)
  fixed[1] = familyTransport
  fixed.writeUInt16BE(options.length ?? payload.length, 2)
  return Buffer.concat([V2_SIGNATURE, fixed, payload])
}
