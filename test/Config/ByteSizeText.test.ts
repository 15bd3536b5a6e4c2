import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import { parseByteSize } from "../../src/Config/ByteSizeText.ts"

const ok = (text: string) => {
  const result = parseByteSize(text)
  if (Result.isFailure(result)) throw new Error(`expected ${text} to parse, got: ${result.failure}`)
  return result.success
}

const error = (text: string) => {
  const result = parseByteSize(text)
  if (Result.isSuccess(result)) throw new Error(`expected ${text} to fail, got ${result.success}`)
  return result.failure
}

describe("parseByteSize", () => {
  it("reads a plain number of bytes", () => {
    expect(ok("65536")).toBe(65536)
    expect(ok("0")).toBe(0)
    expect(ok(" 42 ")).toBe(42)
  })

  it("reads binary suffixes as powers of 1024", () => {
    expect(ok("64KiB")).toBe(65536)
    expect(ok("64 KiB")).toBe(65536)
    expect(ok("1MiB")).toBe(1048576)
    expect(ok("2GiB")).toBe(2 * 1024 ** 3)
  })

  it("reads decimal suffixes as powers of 1000", () => {
    expect(ok("10KB")).toBe(10_000)
    expect(ok("100 MB")).toBe(100_000_000)
    expect(ok("1GB")).toBe(1_000_000_000)
    expect(ok("5B")).toBe(5)
  })

  it("matches suffixes case-insensitively", () => {
    expect(ok("1kib")).toBe(1024)
    expect(ok("1kb")).toBe(1000)
    expect(ok("1 MIB")).toBe(1048576)
  })

  it("accepts decimals that make a whole number of bytes", () => {
    expect(ok("1.5KiB")).toBe(1536)
    expect(ok("0.5 MB")).toBe(500_000)
  })

  it("refuses a negative size", () => {
    expect(error("-5")).toBe("must not be negative, got \"-5\"")
    expect(error("-1KiB")).toContain("must not be negative")
  })

  it("refuses a fraction of a byte", () => {
    expect(error("0.5")).toBe("must be a whole number of bytes, got \"0.5\"")
    expect(error("1.1KiB")).toContain("whole number of bytes")
  })

  it("refuses an unknown suffix, naming it", () => {
    expect(error("1TB")).toBe("unknown unit \"TB\": use KiB, MiB, GiB, KB, MB or GB, got \"1TB\"")
    expect(error("3 kbit")).toContain("unknown unit \"kbit\"")
  })

  it("refuses text that is not a size", () => {
    for (const text of ["", "abc", "KiB", "1e3", "0x10", "1  KiB", "1,000"]) {
      expect(error(text)).toContain("must be a number of bytes")
    }
  })

  it("refuses sizes beyond Number.MAX_SAFE_INTEGER", () => {
    expect(error("9007199254740992")).toContain("must be at most")
    expect(error("99999999GiB")).toContain("must be at most")
  })
})
