import { describe, expect, it } from "@effect/vitest"
import { Duration, Result } from "effect"
import { parseSeconds } from "../../src/Config/SecondsText.ts"

const millis = (text: string) => {
  const result = parseSeconds(text)
  if (Result.isFailure(result)) throw new Error(`expected ${text} to parse, got: ${result.failure}`)
  return Duration.toMillis(result.success)
}

const error = (text: string) => {
  const result = parseSeconds(text)
  if (Result.isSuccess(result)) throw new Error(`expected ${text} to fail`)
  return result.failure
}

describe("parseSeconds", () => {
  it("reads whole seconds", () => {
    expect(millis("30")).toBe(30_000)
    expect(millis("0")).toBe(0)
    expect(millis("3600")).toBe(3_600_000)
  })

  it("reads decimals exactly", () => {
    expect(millis("0.1")).toBe(100)
    expect(millis("0.7")).toBe(700)
    expect(millis(".5")).toBe(500)
    expect(millis("2.")).toBe(2000)
    expect(millis("0.000001")).toBe(0.001)
  })

  it("returns a Duration", () => {
    const result = parseSeconds("1.5")
    expect(Result.isSuccess(result) && Duration.equals(result.success, Duration.millis(1500))).toBe(true)
  })

  it("refuses negative values", () => {
    expect(error("-1")).toBe("must not be negative, got \"-1\"")
    expect(error("-0.1")).toContain("must not be negative")
  })

  it("refuses text that is not a number", () => {
    for (const text of ["", "abc", ".", "1s", "1e3", "Infinity", "NaN", "1,5"]) {
      expect(error(text)).toContain("must be a number of seconds")
    }
  })
})
