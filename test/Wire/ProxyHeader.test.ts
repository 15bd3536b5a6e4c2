/**
 * The PROXY protocol header reader (HAProxy's `doc/proxy-protocol.txt`):
 * each case read whole, then split at every byte offset and a byte at a
 * time, with the same outcome and the same bytes left over.
 */
import { readdirSync, readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { checkProxyHeader } from "../../fuzz/driver.ts"
import {
  MAX_V1_LENGTH,
  MAX_V2_PAYLOAD,
  parseProxyHeader,
  type ProxyHeaderError,
  ProxyHeaderReader,
  type ProxyHeaderStep,
  TLV_TYPES,
  tlvValue
} from "../../src/Wire/ProxyHeader.ts"
import { v1, v2, V2_SIGNATURE } from "../support/ProxyHeaders.ts"

const REQUEST = Buffer.from("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "latin1")
const latin1 = (text: string) => Buffer.from(text, "latin1")

/**
 * What reading `pieces` in turn comes to: the last step; once complete, the
 * rest is what the connection reads next (the pieces after it included).
 */
const readPieces = (pieces: ReadonlyArray<Uint8Array>): ProxyHeaderStep => {
  const reader = new ProxyHeaderReader()
  let step: ProxyHeaderStep = { _tag: "NeedMore" }
  let i = 0
  while (i < pieces.length && step._tag === "NeedMore") step = reader.push(pieces[i++] as Uint8Array)
  return step._tag === "Complete" ? { ...step, rest: Buffer.concat([step.rest, ...pieces.slice(i)]) } : step
}

/** Reads `bytes` whole, split at every offset and byte by byte: all the same, returned. */
const readEveryWay = (bytes: Buffer): ProxyHeaderStep => {
  const whole = readPieces([bytes])
  for (let cut = 1; cut < bytes.length; cut++) {
    expect(readPieces([bytes.subarray(0, cut), bytes.subarray(cut)]), `cut at ${cut}`).toEqual(whole)
  }
  expect(readPieces([...bytes].map((byte) => Uint8Array.of(byte))), "byte by byte").toEqual(whole)
  return whole
}

const complete = (step: ProxyHeaderStep) => {
  if (step._tag !== "Complete") throw new Error(`expected a header, got ${JSON.stringify(step)}`)
  return step
}

const failure = (step: ProxyHeaderStep): ProxyHeaderError => {
  if (step._tag !== "Failed") throw new Error(`expected a failure, got ${step._tag}`)
  return step.error
}

describe("v1", () => {
  const valid: ReadonlyArray<readonly [string, Buffer, object]> = [
    ["TCP4", v1("192.0.2.1", "198.51.100.2", 56324, 443), {
      family: "IPv4",
      sourceAddress: "192.0.2.1",
      destinationAddress: "198.51.100.2",
      sourcePort: 56324,
      destinationPort: 443
    }],
    ["TCP6", v1("2001:db8::1", "2001:db8::ff", 0, 65535), {
      family: "IPv6",
      sourceAddress: "2001:db8::1",
      destinationAddress: "2001:db8::ff",
      sourcePort: 0,
      destinationPort: 65535
    }],
    ["TCP6 at the spec's longest (104 bytes)", latin1(
      "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"
    ), { sourceAddress: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", sourcePort: 65535 }]
  ]
  for (const [name, header, addresses] of valid) {
    it(`reads ${name}, and the request after it is the rest`, () => {
      const step = complete(readEveryWay(Buffer.concat([header, REQUEST])))
      expect(step.header).toMatchObject({ version: 1, command: "Proxy", tlvs: [], length: header.length })
      expect(step.header.addresses).toMatchObject(addresses)
      expect(step.rest).toEqual(REQUEST)
    })
  }

  it("UNKNOWN (short, or with anything up to the CRLF, 107 bytes at most) keeps the socket's addresses", () => {
    for (const line of ["PROXY UNKNOWN\r\n", `PROXY UNKNOWN ${"f".repeat(MAX_V1_LENGTH - 16)}\r\n`]) {
      expect(line.length).toBeLessThanOrEqual(MAX_V1_LENGTH)
      const step = complete(readEveryWay(Buffer.concat([latin1(line), REQUEST])))
      expect(step.header).toMatchObject({ version: 1, command: "Local", addresses: undefined, length: line.length })
      expect(step.rest).toEqual(REQUEST)
    }
  })

  const malformed: ReadonlyArray<readonly [string, string, ProxyHeaderError["kind"]]> = [
    ["no CRLF within 107 bytes", `PROXY UNKNOWN ${"f".repeat(MAX_V1_LENGTH)}`, "TooLong"],
    ["a CRLF at bytes 107-108", `PROXY UNKNOWN ${"f".repeat(MAX_V1_LENGTH - 15)}\r\n`, "TooLong"],
    ["a bare LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "Malformed"],
    ["a CR without LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", "Malformed"],
    ["an unknown protocol", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", "Malformed"],
    ["lower-case proxy", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "NotProxyProtocol"],
    ["two spaces", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", "Malformed"],
    ["a missing port", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "Malformed"],
    ["an extra field", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "Malformed"],
    ["an IPv6 address after TCP4 (wrong family)", "PROXY TCP4 ::1 ::1 1 2\r\n", "Malformed"],
    ["an IPv4 address after TCP6 (wrong family)", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", "Malformed"],
    ["an IPv4 octet with a leading zero", "PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n", "Malformed"],
    ["an IPv4 octet past 255", "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", "Malformed"],
    ["an IPv6 zone", "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", "Malformed"],
    ["an IPv6 address with a dotted tail", "PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2\r\n", "Malformed"],
    ["a port past 65535", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "Malformed"],
    ["a port with a leading zero", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "Malformed"],
    ["a signed port", "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", "Malformed"],
    ["a name for an address", "PROXY TCP4 localhost 5.6.7.8 1 2\r\n", "Malformed"]
  ]
  for (const [name, text, kind] of malformed) {
    it(`refuses ${name}: ${kind}`, () => {
      expect(failure(readEveryWay(latin1(text))).kind).toBe(kind)
    })
  }

  it("waits while the line is incomplete, up to 106 bytes", () => {
    expect(parseProxyHeader(latin1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r"))._tag).toBe("NeedMore")
    expect(parseProxyHeader(latin1(`PROXY UNKNOWN ${"f".repeat(MAX_V1_LENGTH - 15)}`))._tag).toBe("NeedMore")
  })
})

describe("v2", () => {
  it("reads TCP over IPv4, and the request after it is the rest", () => {
    const header = v2({ source: "192.0.2.1", destination: "198.51.100.2", sourcePort: 56324, destinationPort: 443 })
    const step = complete(readEveryWay(Buffer.concat([header, REQUEST])))
    expect(step.header).toEqual({
      version: 2,
      command: "Proxy",
      addresses: {
        family: "IPv4",
        sourceAddress: "192.0.2.1",
        destinationAddress: "198.51.100.2",
        sourcePort: 56324,
        destinationPort: 443
      },
      tlvs: [],
      length: 28
    })
    expect(step.rest).toEqual(REQUEST)
  })

  it("reads TCP over IPv6, written in RFC 5952's form (IPv4-mapped as dotted)", () => {
    const cases = [
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["::1", "::1"],
      ["::", "::"],
      ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"],
      ["::ffff:10.0.0.1", "::ffff:10.0.0.1"],
      ["fe80::", "fe80::"]
    ] as const
    for (const [written, expected] of cases) {
      const step = complete(readPieces([v2({ source: written, destination: "::1", sourcePort: 1, destinationPort: 2 })]))
      expect(step.header.addresses).toEqual({
        family: "IPv6",
        sourceAddress: expected,
        destinationAddress: "::1",
        sourcePort: 1,
        destinationPort: 2
      })
    }
  })

  it("keeps TLVs as raw values, in order (ALPN, authority, unique id, AWS VPC endpoint, SSL)", () => {
    const tlvs = [
      { type: TLV_TYPES.ALPN, value: "h2" },
      { type: TLV_TYPES.AUTHORITY, value: "example.com" },
      { type: TLV_TYPES.UNIQUE_ID, value: "abc123" },
      { type: TLV_TYPES.AWS, value: "\x01vpce-08d2bf15fac5001c9" },
      { type: TLV_TYPES.SSL, value: Uint8Array.of(0x01, 0, 0, 0, 0) },
      { type: TLV_TYPES.NOOP, value: "" }
    ]
    const header = v2({ source: "10.0.0.1", destination: "10.0.0.2", sourcePort: 1, destinationPort: 2, tlvs })
    const step = complete(readEveryWay(Buffer.concat([header, REQUEST])))
    expect(step.header.tlvs.map((tlv) => [tlv.type, Buffer.from(tlv.value).toString("latin1")])).toEqual(
      tlvs.map((tlv) => [tlv.type, Buffer.from(tlv.value as string | Uint8Array).toString("latin1")])
    )
    expect(Buffer.from(tlvValue(step.header, TLV_TYPES.AUTHORITY) ?? []).toString()).toBe("example.com")
    expect(tlvValue(step.header, TLV_TYPES.CRC32C)).toBeUndefined()
    expect(step.rest).toEqual(REQUEST)
  })

  it("LOCAL (a health check) keeps the socket's addresses, whatever its block holds", () => {
    for (const header of [v2({ command: "LOCAL" }), v2({ command: "LOCAL", source: "1.2.3.4", destination: "5.6.7.8" })]) {
      const step = complete(readEveryWay(Buffer.concat([header, REQUEST])))
      expect(step.header).toEqual({ version: 2, command: "Local", addresses: undefined, tlvs: [], length: header.length })
      expect(step.rest).toEqual(REQUEST)
    }
  })

  it("UNSPEC, UDP and Unix sockets fall back to the socket's addresses", () => {
    const unix = Buffer.concat([v2({ familyTransport: 0x31, length: 216 }), Buffer.alloc(216)])
    for (
      const header of [
        v2({ familyTransport: 0x00 }),
        v2({ source: "1.2.3.4", destination: "5.6.7.8", familyTransport: 0x12 }),
        unix
      ]
    ) {
      const step = complete(readEveryWay(Buffer.concat([header, REQUEST])))
      expect(step.header).toMatchObject({ version: 2, command: "Proxy", addresses: undefined })
      expect(step.rest).toEqual(REQUEST)
    }
  })

  const refused: ReadonlyArray<readonly [string, Buffer, ProxyHeaderError["kind"]]> = [
    ["version 1 in the binary form", Buffer.concat([V2_SIGNATURE, Buffer.from([0x11, 0x11, 0, 0])]), "Malformed"],
    ["an unassigned command", Buffer.concat([V2_SIGNATURE, Buffer.from([0x22, 0x11, 0, 12])]), "Malformed"],
    ["an unassigned family", Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x41, 0, 0])]), "Malformed"],
    ["an unassigned transport", Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x13, 0, 12])]), "Malformed"],
    ["a length past the bound", v2({ command: "LOCAL", length: MAX_V2_PAYLOAD + 1 }), "TooLong"],
    [
      "IPv4 with fewer than 12 address bytes (wrong family)",
      Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11, 0, 4, 1, 2, 3, 4])]),
      "Malformed"
    ],
    [
      "IPv6 family with IPv4's 12 bytes (wrong family)",
      v2({ source: "1.2.3.4", destination: "5.6.7.8", familyTransport: 0x21 }),
      "Malformed"
    ],
    [
      "a TLV cut short by the length",
      v2({ source: "1.2.3.4", destination: "5.6.7.8", tlvs: [{ type: 1, value: "h2" }], length: 12 + 4 }),
      "Malformed"
    ],
    ["a signature off by one byte", Buffer.concat([V2_SIGNATURE.subarray(0, 11), Buffer.from("X")]), "NotProxyProtocol"]
  ]
  for (const [name, bytes, kind] of refused) {
    it(`refuses ${name}: ${kind}`, () => {
      expect(failure(readEveryWay(bytes)).kind).toBe(kind)
    })
  }

  it("a length that runs into the request: the request's bytes are not TLVs", () => {
    const header = v2({ source: "1.2.3.4", destination: "5.6.7.8", length: 12 + REQUEST.length })
    expect(failure(readEveryWay(Buffer.concat([header, REQUEST]))).kind).toBe("Malformed")
  })

  it("waits for the whole length, and no longer", () => {
    const header = v2({ source: "1.2.3.4", destination: "5.6.7.8", length: 12 + 3 + 100 })
    expect(parseProxyHeader(header)._tag).toBe("NeedMore")
    expect(parseProxyHeader(V2_SIGNATURE.subarray(0, 5))._tag).toBe("NeedMore")
  })
})

describe("neither", () => {
  it("a plain request fails at its first byte, a TLS ClientHello too", () => {
    expect(failure(parseProxyHeader(latin1("G"))).kind).toBe("NotProxyProtocol")
    expect(failure(parseProxyHeader(Uint8Array.of(0x16, 0x03, 0x01))).kind).toBe("NotProxyProtocol")
    expect(failure(parseProxyHeader(latin1("PRI * HTTP/2.0"))).kind).toBe("NotProxyProtocol")
    expect(parseProxyHeader(latin1("PROX"))._tag).toBe("NeedMore")
  })

  it("a reader reads one header: pushing past its end is a bug of the caller", () => {
    const reader = new ProxyHeaderReader()
    expect(reader.push(v1("1.2.3.4", "5.6.7.8", 1, 2))._tag).toBe("Complete")
    expect(() => reader.push(REQUEST)).toThrow(/already read/)
  })
})

describe("the fuzzer's seeds for the header (fuzz/corpus/proxy-*.http)", () => {
  const directory = new URL("../../fuzz/corpus/", import.meta.url)
  const seeds = readdirSync(directory).filter((name) => name.startsWith("proxy-")).sort()

  it("pass the fuzz driver's checks (split agreement, bounds, the rest as HTTP)", () => {
    expect(seeds.length).toBeGreaterThanOrEqual(10)
    const outcomes = Object.fromEntries(
      seeds.map((name) => [name, checkProxyHeader(readFileSync(new URL(name, directory)))])
    )
    expect(outcomes["proxy-v1-tcp4.http"]?.requests).toHaveLength(1)
    expect(outcomes["proxy-v2-local.http"]?.requests).toHaveLength(1)
    // A second header is the first request's bytes: a plain 400.
    expect(outcomes["proxy-second-header.http"]).toMatchObject({ requests: [], status: 400 })
    for (const refused of ["proxy-v1-truncated", "proxy-v1-too-long", "proxy-v2-over-long", "proxy-v2-wrong-family"]) {
      expect(outcomes[`${refused}.http`], refused).toBeUndefined()
    }
  })
})
