import { describe, expect, it } from "@effect/vitest"
import { HTTPHeaders } from "../../src/Request/HTTPHeaders.ts"
import { applyForwarded, nodeAddress, parseForwarded } from "../../src/Request/Forwarded.ts"

const socket = { remoteIp: "10.0.0.1", protocol: "http" } as const
const proxies = ["10.0.0.1", "10.0.0.2", "2001:db8::1"]
const trusted = (list: ReadonlyArray<string>) => (ip: string) => list.includes(ip)

describe("parseForwarded", () => {
  it("parses elements and pairs, tokens and quoted strings, case-insensitive names (RFC 7239 section 4)", () => {
    expect(parseForwarded("for=192.0.2.60;proto=http;by=203.0.113.43, For=\"[2001:db8:cafe::17]:4711\";HOST=\"a.example\""))
      .toEqual([
        { for: "192.0.2.60", by: "203.0.113.43", proto: "http", host: undefined, malformed: false },
        { for: "[2001:db8:cafe::17]:4711", by: undefined, proto: undefined, host: "a.example", malformed: false }
      ])
  })

  it("takes whitespace around separators, skips empty list elements, unescapes quoted pairs", () => {
    expect(parseForwarded(" for=1.2.3.4 ; proto=https ,, for=\"a\\\"b\"").map((e) => [e.for, e.proto, e.malformed]))
      .toEqual([["1.2.3.4", "https", false], ["a\"b", undefined, false]])
  })

  const malformed: ReadonlyArray<string> = [
    "for=1.2.3.4:80", // a port needs quotes
    "for=[2001:db8::1]", // so does IPv6
    "for",
    "=1.2.3.4",
    "for=1.2.3.4;for=5.6.7.8", // a parameter twice
    "for=\"1.2.3.4", // unterminated
    "for=1.2.3.4 proto=http"
  ]
  for (const value of malformed) {
    it(`marks ${JSON.stringify(value)} malformed`, () => {
      expect(parseForwarded(value).at(-1)?.malformed).toBe(true)
    })
  }

  it("an unterminated quote runs to the end: it cannot split what a proxy appends", () => {
    const elements = parseForwarded("for=\"1.2.3.4, for=5.6.7.8")
    expect(elements).toHaveLength(1)
    expect(elements[0]?.malformed).toBe(true)
  })

  it("a malformed element does not spoil the next one", () => {
    expect(parseForwarded("garbage, for=5.6.7.8").map((e) => [e.for, e.malformed])).toEqual([
      [undefined, true],
      ["5.6.7.8", false]
    ])
  })
})

describe("nodeAddress (RFC 7239 section 6)", () => {
  const table: ReadonlyArray<readonly [string, string | undefined]> = [
    ["192.0.2.43", "192.0.2.43"],
    ["192.0.2.43:47011", "192.0.2.43"],
    ["192.0.2.43:_port", "192.0.2.43"],
    ["[2001:db8:cafe::17]", "2001:db8:cafe::17"],
    ["[2001:db8:cafe::17]:4711", "2001:db8:cafe::17"],
    ["2001:db8:cafe::17", undefined], // IPv6 needs brackets
    ["[192.0.2.43]", undefined],
    ["unknown", undefined],
    ["_hidden", undefined],
    ["_SEVKISEK", undefined],
    ["example.com", undefined],
    ["192.0.2.43:99999x", undefined],
    ["[::1", undefined]
  ]
  for (const [node, expected] of table) {
    it(`${JSON.stringify(node)} -> ${String(expected)}`, () => {
      expect(nodeAddress(node)).toBe(expected)
    })
  }
})

describe("applyForwarded", () => {
  const apply = (values: ReadonlyArray<string>, downstream: ReadonlyArray<string> = []) =>
    applyForwarded(socket, HTTPHeaders.fromRaw(values.flatMap((v) => ["Forwarded", v])), trusted(downstream))

  it("is undefined without the header", () => {
    expect(apply([])).toBeUndefined()
  })

  // [field values, trusted downstream, expected [remoteIp, protocol, host]]
  const table: ReadonlyArray<readonly [Array<string>, Array<string>, readonly [string, string, string | undefined]]> = [
    [["for=1.2.3.4"], [], ["1.2.3.4", "http", undefined]],
    [["for=1.2.3.4;proto=https;host=example.com"], [], ["1.2.3.4", "https", "example.com"]],
    [["for=\"[2001:db8:cafe::17]:4711\";proto=HTTPS"], [], ["2001:db8:cafe::17", "https", undefined]],
    // The rightmost element is the nearest proxy's.
    [["for=1.2.3.4, for=5.6.7.8;proto=https"], [], ["5.6.7.8", "https", undefined]],
    // Trusted downstreams are skipped, as in X-Forwarded-For.
    [["for=1.2.3.4;proto=https, for=10.0.0.2;proto=http"], proxies, ["1.2.3.4", "https", undefined]],
    [["for=1.2.3.4", "for=\"[2001:db8::1]:80\""], proxies, ["1.2.3.4", "http", undefined]],
    [["for=10.0.0.2;proto=https, for=10.0.0.1"], proxies, ["10.0.0.2", "https", undefined]],
    // Several fields are one list.
    [["for=1.2.3.4", "for=5.6.7.8"], [], ["5.6.7.8", "http", undefined]],
    // Obfuscated or unknown identifiers are ignored: the socket's address stays; the walk stops.
    [["for=1.2.3.4, for=_hidden;proto=https"], [], ["10.0.0.1", "https", undefined]],
    [["for=1.2.3.4, for=unknown"], proxies, ["10.0.0.1", "http", undefined]],
    // Junk values change nothing.
    [["for=1.2.3.4;proto=ftp;host=\"bad host\""], [], ["1.2.3.4", "http", undefined]],
    [["proto=https"], [], ["10.0.0.1", "https", undefined]],
    // A malformed element nearest us gives nothing, whatever is to its left.
    [["for=1.2.3.4, for=5.6.7.8:80"], [], ["10.0.0.1", "http", undefined]],
    // A client's unterminated quote cannot take over the proxy's element.
    [["for=\"6.6.6.6, for=5.6.7.8"], [], ["10.0.0.1", "http", undefined]],
    // A client's malformed element to the left of the proxy's is never reached.
    [["for=6.6.6.6:1, for=5.6.7.8"], [], ["5.6.7.8", "http", undefined]],
    [["host=\"[::1]:8080\";for=1.2.3.4"], [], ["1.2.3.4", "http", "[::1]:8080"]]
  ]
  for (const [values, downstream, expected] of table) {
    it(`${JSON.stringify(values)} trusting ${JSON.stringify(downstream)}`, () => {
      const result = apply(values, downstream)
      expect([result?.remoteIp, result?.protocol, result?.host]).toEqual(expected)
    })
  }
})
