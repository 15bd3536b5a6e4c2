/**
 * `latin1`: every byte becomes the code unit of the same value, for any
 * range of a buffer, as `toString("latin1", ...)` gives it.
 */
import { describe, expect, it } from "@effect/vitest"
import { latin1 } from "../../src/Wire/Latin1.ts"

describe("latin1", () => {
  const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i))

  it("maps each of the 256 byte values to the code unit of that value", () => {
    const text = latin1(every, 0, 256)
    expect(text.length).toBe(256)
    for (let i = 0; i < 256; i++) expect(text.charCodeAt(i)).toBe(i)
  })

  it("reads exactly [start, end) of a buffer, also a view into a larger one", () => {
    const view = Buffer.concat([Buffer.from("xxGET / HTTP/1.1\r\n\r\nyy")]).subarray(2)
    expect(latin1(view, 0, 18)).toBe("GET / HTTP/1.1\r\n\r\n")
    expect(latin1(view, 4, 5)).toBe("/")
    expect(latin1(view, 3, 3)).toBe("")
    for (const [start, end] of [[0, 256], [10, 200], [255, 256], [128, 129]] as const) {
      expect(latin1(every, start, end)).toBe(every.toString("latin1", start, end))
    }
  })
})
