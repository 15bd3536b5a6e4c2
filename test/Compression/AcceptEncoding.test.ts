/**
 * `Accept-Encoding` negotiation (RFC 9110 section 12.5.3): q-values, `*`,
 * refusals, the server's order for ties, and malformed values.
 */
import { describe, expect, it } from "@effect/vitest"
import { negotiate, parseAcceptEncoding } from "../../src/Compression/AcceptEncoding.ts"

const ALL = ["br", "gzip", "zstd"] as const

describe("parseAcceptEncoding", () => {
  it("reads codings and q-values, case-insensitively, spaces around ';' allowed", () => {
    expect(parseAcceptEncoding("GZIP;q=0.5, br ; Q=1.0,zstd;q=0, *;q=0.001")).toEqual(
      new Map([["gzip", 0.5], ["br", 1], ["zstd", 0], ["*", 0.001]])
    )
  })

  it("ignores empty members; the first mention of a coding counts", () => {
    expect(parseAcceptEncoding(" , gzip;q=0,, gzip")).toEqual(new Map([["gzip", 0]]))
    expect(parseAcceptEncoding("")).toEqual(new Map())
  })

  it("rejects a value off the grammar", () => {
    for (const bad of ["gzip;q=2", "gzip;q=0.0001", "gzip;level=1", "gz ip", "gzip;q=", "br;q=1.5"]) {
      expect(parseAcceptEncoding(bad), bad).toBeUndefined()
    }
  })
})

describe("negotiate", () => {
  it("no header, an empty one, or only identity: no coding", () => {
    expect(negotiate(undefined, ALL)).toBeUndefined()
    expect(negotiate("", ALL)).toBeUndefined()
    expect(negotiate("identity", ALL)).toBeUndefined()
  })

  it("equal q-values: the server's order", () => {
    expect(negotiate("gzip, deflate, br, zstd", ALL)).toBe("br")
    expect(negotiate("gzip, deflate, br, zstd", ["zstd", "gzip"])).toBe("zstd")
    expect(negotiate("gzip, zstd", ALL)).toBe("gzip")
  })

  it("the client's q-values come first", () => {
    expect(negotiate("br;q=0.5, gzip;q=0.8", ALL)).toBe("gzip")
    expect(negotiate("zstd, br;q=0.9", ALL)).toBe("zstd")
  })

  it("q=0 refuses a coding, also against *", () => {
    expect(negotiate("br;q=0, *", ALL)).toBe("gzip")
    expect(negotiate("br;q=0, gzip;q=0, *;q=0.1", ALL)).toBe("zstd")
    expect(negotiate("*;q=0", ALL)).toBeUndefined()
    expect(negotiate("gzip;q=0", ["gzip"])).toBeUndefined()
  })

  it("* stands for every coding not named", () => {
    expect(negotiate("*", ALL)).toBe("br")
    expect(negotiate("*", ["gzip"])).toBe("gzip")
    expect(negotiate("deflate, *;q=0.2, gzip;q=0.1", ALL)).toBe("br")
  })

  it("x-gzip is gzip (RFC 9110 section 8.4.1.3)", () => {
    expect(negotiate("x-gzip", ALL)).toBe("gzip")
  })

  it("identity;q=0 with nothing we offer: no coding (the body goes as it is, no error)", () => {
    expect(negotiate("identity;q=0", ALL)).toBeUndefined()
    expect(negotiate("identity;q=0, deflate", ALL)).toBeUndefined()
    expect(negotiate("identity;q=0, gzip", ALL)).toBe("gzip")
  })

  it("a malformed value: no coding", () => {
    expect(negotiate("gzip;q=high", ALL)).toBeUndefined()
  })

  it("a coding not offered is never chosen", () => {
    expect(negotiate("br", ["gzip", "zstd"])).toBeUndefined()
    expect(negotiate("br, gzip", [])).toBeUndefined()
  })
})
