import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { parseQueryArguments } from "../../src/Request/QueryArguments.ts"

const codePoint = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))

/**
 * Code points biased toward the characters that matter to the parsers
 * (`&`, `=`, `+`, `%`, `;`, quotes, backslash, space), plus ASCII, the rest of
 * the BMP (no surrogates) and astral planes.
 */
const codePoints = Arbitrary.schema(
  Schema.Union([
    Schema.Literals([0x26, 0x3d, 0x2b, 0x25, 0x3b, 0x22, 0x5c, 0x20, 0x2c]),
    codePoint(0, 0x7f),
    codePoint(0x80, 0xff),
    codePoint(0x100, 0xd7ff),
    codePoint(0xe000, 0xffff),
    codePoint(0x10000, 0x10ffff)
  ])
)

/** Well-formed Unicode strings (no lone surrogates) over `codePoints`. */
const text = Arbitrary.array(codePoints, { maxLength: 12 }).pipe(
  Arbitrary.map((cps) => String.fromCodePoint(...cps))
)

/** The query as the engine hands it over: raw bytes read as Latin-1. */
const latin1 = (s: string) => Buffer.from(s, "utf8").toString("latin1")

/** Python's `urlencode` with `quote_plus`, enough for the round trip. */
const urlencode = (pairs: ReadonlyArray<readonly [string, string]>) =>
  pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`.replaceAll("%20", "+")).join("&")

const group = (pairs: ReadonlyArray<readonly [string, string]>) => {
  const out: Record<string, Array<string>> = Object.create(null)
  for (const [k, v] of pairs) (out[k] ??= []).push(v)
  return out
}

describe("parseQueryArguments", () => {
  // Expected values are Tornado's: parse_qs_bytes(q, keep_blank_values=True),
  // values then decoded as UTF-8 with replacement.
  const table: ReadonlyArray<readonly [string, Record<string, Array<string>>]> = [
    ["", {}],
    ["a=1", { a: ["1"] }],
    ["foo=&foo=", { foo: ["", ""] }],
    ["foo", { foo: [""] }],
    ["&&a=1&&", { a: ["1"] }],
    ["=", { "": [""] }],
    ["=x", { "": ["x"] }],
    ["a=b=c", { a: ["b=c"] }],
    ["a+b=c+d", { "a b": ["c d"] }],
    ["a=%41%42", { a: ["AB"] }],
    ["a=%zz", { a: ["%zz"] }],
    ["a=%4", { a: ["%4"] }],
    ["a=%", { a: ["%"] }],
    ["a=%%41", { a: ["%A"] }],
    ["q=%C3%A9", { q: ["é"] }],
    ["q=%c3%a9", { q: ["é"] }],
    ["q=%C3", { q: ["\ufffd"] }],
    ["q=%E2%82", { q: ["\ufffd"] }],
    ["q=%E2%82%AC%FF", { q: ["€\ufffd"] }],
    ["q=%F0%9F%98%80", { q: ["😀"] }],
    ["q=%ED%A0%80", { q: ["\ufffd\ufffd\ufffd"] }],
    ["q=%EF%BB%BFx", { q: ["\ufeffx"] }],
    [latin1("q=é"), { q: ["é"] }],
    ["q=\u00e9", { q: ["\ufffd"] }],
    ["%2B=%26%3D", { "+": ["&="] }],
    ["a=1;b=2", { a: ["1;b=2"] }],
    ["a=%00", { a: ["\u0000"] }],
    ["a=1&a=2&b=&a=3", { a: ["1", "2", "3"], b: [""] }],
    ["a=1&%61=2", { a: ["1", "2"] }]
  ]

  for (const [query, expected] of table) {
    it(`Tornado table: ${JSON.stringify(query)}`, () => {
      expect({ ...parseQueryArguments(query) }).toEqual(expected)
    })
  }

  it("returns a null-prototype object", () => {
    const args = parseQueryArguments("__proto__=1&constructor=2&toString")
    expect(Object.getPrototypeOf(args)).toBe(null)
    expect(args["__proto__"]).toEqual(["1"])
    expect(args["constructor"]).toEqual(["2"])
    expect(args["toString"]).toEqual([""])
  })

  it("handles field names that are Object.prototype keys", () => {
    expect(parseQueryArguments("__proto__=a&__proto__=b")).toEqual(group([["__proto__", "a"], ["__proto__", "b"]]))
  })

  it("takes characters above U+00FF as text", () => {
    expect({ ...parseQueryArguments("q=€+%E2%82%AC") }).toEqual({ q: ["€ €"] })
    expect({ ...parseQueryArguments("q=\ud800+x") }).toEqual({ q: ["\ufffd x"] })
  })

  it("stays linear on many fields without '='", () => {
    const query = "a&".repeat(100_000) + "b=1"
    const args = parseQueryArguments(query)
    expect(args["a"]!.length).toBe(100_000)
    expect(args["b"]).toEqual(["1"])
  })

  it.prop(
    "urlencode → parse gives back the pairs, grouped by name",
    { pairs: Arbitrary.array(Arbitrary.all([text, text]), { maxLength: 6 }) },
    ({ pairs }) => {
      expect(parseQueryArguments(urlencode(pairs))).toEqual(group(pairs))
    }
  )

  it.prop(
    "raw UTF-8 bytes (read as Latin-1) parse like their percent-encoded form",
    { pairs: Arbitrary.array(Arbitrary.all([text, text]), { maxLength: 6 }) },
    ({ pairs }) => {
      const safe = pairs.map(([k, v]) => [k.replace(/[&=+%]/g, "_"), v.replace(/[&=+%]/g, "_")] as const)
      const raw = latin1(safe.map(([k, v]) => `${k}=${v}`).join("&"))
      expect({ ...parseQueryArguments(raw) }).toEqual({ ...parseQueryArguments(urlencode(safe)) })
    }
  )

  it.prop(
    "never throws, and every value is a string",
    { query: Schema.String },
    ({ query }) => {
      const args = parseQueryArguments(query)
      for (const name in args) for (const value of args[name]!) expect(typeof value).toBe("string")
    }
  )
})
