/**
 * The first bytes of a clear connection: the HTTP/2 preface, or HTTP/1.x.
 */
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { HTTP2_PREFACE, prefaceVerdict } from "../../src/Http2/Http2Preface.ts"

describe("prefaceVerdict", () => {
  it("the whole preface (and frames after it) is HTTP/2", () => {
    expect(prefaceVerdict(HTTP2_PREFACE)).toBe("Http2")
    expect(prefaceVerdict(Buffer.concat([HTTP2_PREFACE, Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]))).toBe("Http2")
  })

  it("a proper prefix of it is undecided; HTTP/1.x request lines are HTTP/1 at the first differing byte", () => {
    expect(prefaceVerdict(Buffer.alloc(0))).toBe("Undecided")
    expect(prefaceVerdict(HTTP2_PREFACE.subarray(0, 23))).toBe("Undecided")
    expect(prefaceVerdict(Buffer.from("PRI * HTTP/1.1\r\n"))).toBe("Http1")
    expect(prefaceVerdict(Buffer.from("POST / HTTP/1.1\r\n"))).toBe("Http1")
    expect(prefaceVerdict(Buffer.from("P"))).toBe("Undecided")
    expect(prefaceVerdict(Buffer.from("PO"))).toBe("Http1")
    expect(prefaceVerdict(Buffer.from("GET / HTTP/1.1\r\n"))).toBe("Http1")
    expect(prefaceVerdict(Buffer.from("\x16\x03\x01"))).toBe("Http1")
  })

  const int = (minimum: number, maximum: number) =>
    Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

  it.prop(
    "any bytes: HTTP/2 exactly when they begin with the preface, undecided while a prefix of it",
    { cut: int(0, 24), tail: Arbitrary.array(int(0, 255), { maxLength: 16 }) },
    ({ cut, tail }) => {
      const bytes = Buffer.concat([HTTP2_PREFACE.subarray(0, cut), Buffer.from(tail)])
      const n = Math.min(bytes.byteLength, 24)
      const agrees = bytes.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n))
      expect(prefaceVerdict(bytes)).toBe(!agrees ? "Http1" : n === 24 ? "Http2" : "Undecided")
    }
  )
})
