import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { parseCookies } from "../../src/Request/Cookies.ts"

/** Cookie names and values without `;`, `=`, `"`, `\` or surrounding whitespace. */
const plain = Schema.String.check(Schema.isPattern(/^[!#-+\--:<>-[\]-~]{0,12}$/))

describe("parseCookies", () => {
  // Expected values are Tornado's httputil.parse_cookie.
  const table: ReadonlyArray<readonly [string, Record<string, string>]> = [
    ["session=abc", { session: "abc" }],
    ["a=1; b=2", { a: "1", b: "2" }],
    ["a=1; a=2", { a: "2" }],
    ["  a = 1 ;b= 2 ", { a: "1", b: "2" }],
    ["lone", { "": "lone" }],
    ["a=1; lone; ; b", { a: "1", "": "b" }],
    ["=x", { "": "x" }],
    ["a=", { a: "" }],
    ["a==b", { a: "=b" }],
    [`a="quoted"`, { a: "quoted" }],
    [`a="x\\"y"`, { a: `x"y` }],
    [`a="\\101\\102"`, { a: "AB" }],
    [`a="\\400"`, { a: "400" }],
    [`a="\\\\"`, { a: "\\" }],
    [`a="\\n"`, { a: "n" }],
    [`a="\\012"`, { a: "\n" }],
    [`a="\\\n"`, { a: "\\\n" }],
    [`a="x`, { a: `"x` }],
    [`a="`, { a: `"` }],
    [`a=""`, { a: "" }],
    [`a=" spaced "`, { a: " spaced " }],
    [`a = "q" `, { a: "q" }],
    ["a=1;;;", { a: "1" }],
    [";", {}],
    ["", {}],
    ["\u0085a=1\u0085", { a: "1" }],
    ["a=\u001c1", { a: "1" }],
    ["a=%41", { a: "%41" }],
    ["a=b c", { a: "b c" }],
    ["k=\u00e9", { k: "\u00e9" }]
  ]

  for (const [header, expected] of table) {
    it(`Tornado table: ${JSON.stringify(header)}`, () => {
      expect({ ...parseCookies(header) }).toEqual(expected)
    })
  }

  it("returns a null-prototype object", () => {
    const cookies = parseCookies("__proto__=x; constructor=y")
    expect(Object.getPrototypeOf(cookies)).toBe(null)
    expect(cookies["__proto__"]).toBe("x")
    expect(cookies["constructor"]).toBe("y")
  })

  it.prop(
    "name=value pairs joined with '; ' parse back, later duplicates winning",
    { pairs: Arbitrary.array(Arbitrary.all([Arbitrary.schema(plain), Arbitrary.schema(plain)]), { maxLength: 6 }) },
    ({ pairs }) => {
      const expected: Record<string, string> = Object.create(null)
      for (const [name, value] of pairs) if (name || value) expected[name] = value
      expect(parseCookies(pairs.map(([n, v]) => `${n}=${v}`).join("; "))).toEqual(expected)
    }
  )

  it.prop(
    "a quoted value with every character escaped as octal comes back",
    { value: Schema.String.check(Schema.isPattern(/^[\u0000-\u00ff]{0,12}$/)) },
    ({ value }) => {
      const escaped = Array.from(value, (c) => "\\" + c.charCodeAt(0).toString(8).padStart(3, "0")).join("")
      expect(parseCookies(`k="${escaped}"`)["k"]).toBe(value)
    }
  )
})
