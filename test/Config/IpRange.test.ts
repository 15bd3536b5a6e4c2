import { describe, expect, it } from "@effect/vitest"
import { makeIpMatcher, parseIpRange } from "../../src/Config/IpRange.ts"

describe("parseIpRange", () => {
  it("parses exact addresses with a full prefix", () => {
    expect(parseIpRange("10.0.0.1")).toEqual({ family: 4, address: "10.0.0.1", prefix: 32 })
    expect(parseIpRange("::1")).toEqual({ family: 6, address: "::1", prefix: 128 })
  })

  it("parses CIDR ranges", () => {
    expect(parseIpRange("10.0.0.0/8")).toEqual({ family: 4, address: "10.0.0.0", prefix: 8 })
    expect(parseIpRange("fd00::/8")).toEqual({ family: 6, address: "fd00::", prefix: 8 })
    expect(parseIpRange("0.0.0.0/0")).toEqual({ family: 4, address: "0.0.0.0", prefix: 0 })
    expect(parseIpRange("::/128")).toEqual({ family: 6, address: "::", prefix: 128 })
  })

  it("refuses what is neither an address nor a range", () => {
    for (
      const text of [
        "",
        "foo",
        "localhost",
        "10.0.0",
        "256.0.0.1",
        "10.0.0.0/33",
        "::/129",
        "10.0.0.0/",
        "10.0.0.0/-1",
        "10.0.0.0/8/8",
        "10.0.0.0/x",
        " 10.0.0.1",
        "fe80::1%eth0",
        "[::1]"
      ]
    ) {
      expect(parseIpRange(text), text).toBeUndefined()
    }
  })
})

describe("makeIpMatcher", () => {
  const trusted = makeIpMatcher(["10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1"])

  it("matches exact addresses", () => {
    expect(trusted("192.168.1.7")).toBe(true)
    expect(trusted("192.168.1.8")).toBe(false)
    expect(trusted("::1")).toBe(true)
    expect(trusted("0:0:0:0:0:0:0:1")).toBe(true)
  })

  it("matches addresses inside CIDR ranges", () => {
    expect(trusted("10.0.0.1")).toBe(true)
    expect(trusted("10.255.255.255")).toBe(true)
    expect(trusted("11.0.0.1")).toBe(false)
    expect(trusted("fd12:3456::1")).toBe(true)
    expect(trusted("fe80::1")).toBe(false)
  })

  it("matches IPv4-mapped IPv6 addresses against IPv4 ranges", () => {
    expect(trusted("::ffff:10.0.0.1")).toBe(true)
    expect(trusted("::ffff:192.168.1.7")).toBe(true)
    expect(trusted("::ffff:11.0.0.1")).toBe(false)
  })

  it("ignores a zone identifier on the address tested", () => {
    expect(makeIpMatcher(["fe80::/10"])("fe80::1%eth0")).toBe(true)
  })

  it("never matches what is not an IP address", () => {
    expect(trusted("")).toBe(false)
    expect(trusted("unix:/tmp/socket")).toBe(false)
    expect(trusted("10.0.0.1:80")).toBe(false)
  })

  it("matches nothing with no entries, and skips entries that do not parse", () => {
    expect(makeIpMatcher([])("10.0.0.1")).toBe(false)
    expect(makeIpMatcher(["nope", "10.0.0.1"])("10.0.0.1")).toBe(true)
  })
})
