import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { HTTPHeaders } from "../../src/Request/HTTPHeaders.ts"

const token = Schema.String.check(Schema.isPattern(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,20}$/))

describe("HTTPHeaders", () => {
  const raw = ["Host", "example.com", "Accept", "text/html", "X-Header", "\u00e9", "accept", "*/*", "Set-Cookie", "a=1"]
  const headers = HTTPHeaders.fromRaw(raw)

  it("looks fields up case-insensitively, joining repeated ones with ','", () => {
    expect(headers.get("host")).toBe("example.com")
    expect(headers.get("HOST")).toBe("example.com")
    expect(headers.get("Accept")).toBe("text/html,*/*")
    expect(headers.getAll("ACCEPT")).toEqual(["text/html", "*/*"])
    expect(headers.get("x-header")).toBe("é")
    expect(headers.has("set-cookie")).toBe(true)
    expect(headers.has("Content-Type")).toBe(false)
    expect(headers.get("Content-Type")).toBeUndefined()
    expect(headers.getAll("Content-Type")).toEqual([])
  })

  it("keeps every line in order, names as sent", () => {
    expect(headers.size).toBe(5)
    expect(headers.entries()).toEqual([
      ["Host", "example.com"],
      ["Accept", "text/html"],
      ["X-Header", "é"],
      ["accept", "*/*"],
      ["Set-Cookie", "a=1"]
    ])
    expect([...headers]).toEqual(headers.entries())
    expect(JSON.parse(JSON.stringify(headers))).toEqual(headers.entries())
  })

  it("wraps the parser's array without copying it", () => {
    const source = ["A", "1"]
    const wrapped = HTTPHeaders.fromRaw(source)
    expect(wrapped.entries()).toEqual([["A", "1"]])
    expect(source).toEqual(["A", "1"])
    expect(HTTPHeaders.fromRaw(["A", "1", "dangling"]).size).toBe(1)
    expect(HTTPHeaders.fromRaw(["A", "1", "dangling"]).has("dangling")).toBe(false)
  })

  it("decodes nothing: Latin-1 values stay as they came (the /echo X-Header example)", () => {
    const value = Buffer.from([0xe9]).toString("latin1")
    const h = HTTPHeaders.fromRaw(["X-Header", value])
    expect(h.get("X-Header")).toBe("é")
    expect(JSON.stringify(h)).toBe(`[["X-Header","é"]]`)
  })

  it("fromEntries keeps order and multiplicity", () => {
    const h = HTTPHeaders.fromEntries([["B", "2"], ["a", "1"], ["b", "3"]])
    expect(h.entries()).toEqual([["B", "2"], ["a", "1"], ["b", "3"]])
    expect(h.get("b")).toBe("2,3")
    expect(HTTPHeaders.fromEntries(new Map([["x", "y"]])).get("X")).toBe("y")
  })

  it("without drops every line of a field, keeps the rest, leaves the original intact", () => {
    const h = HTTPHeaders.fromRaw(["Content-Encoding", "gzip", "A", "1", "content-encoding", "br", "B", "2"])
    const stripped = h.without("CONTENT-ENCODING")
    expect(stripped.entries()).toEqual([["A", "1"], ["B", "2"]])
    expect(stripped.has("Content-Encoding")).toBe(false)
    expect(h.get("Content-Encoding")).toBe("gzip,br")
    expect(h.without("Missing")).toBe(h)
  })

  it("empty headers", () => {
    const h = HTTPHeaders.fromRaw([])
    expect(h.size).toBe(0)
    expect(h.entries()).toEqual([])
    expect(h.get("a")).toBeUndefined()
  })

  it.prop(
    "lookups are case-insensitive for any casing",
    {
      name: token,
      value: Schema.String,
      flips: Arbitrary.array(Arbitrary.schema(Schema.Boolean), { maxLength: 20 })
    },
    ({ flips, name, value }) => {
      const recased = Array.from(name, (c, i) => (flips[i] ? c.toUpperCase() : c.toLowerCase())).join("")
      const h = HTTPHeaders.fromRaw(["Other-Field", "x", name, value])
      if (name.toLowerCase() !== "other-field") {
        expect(h.get(recased)).toBe(value)
        expect(h.getAll(recased)).toEqual([value])
      }
      expect(h.has(recased)).toBe(true)
      expect(h.has(recased.toUpperCase())).toBe(true)
    }
  )

  it.prop(
    "entries round-trip through fromEntries, and get joins getAll",
    { fields: Arbitrary.array(Arbitrary.schema(Schema.Tuple([token, Schema.String])), { maxLength: 8 }) },
    ({ fields }) => {
      const h = HTTPHeaders.fromEntries(fields)
      expect(h.entries()).toEqual(fields)
      expect(h.size).toBe(fields.length)
      for (const [name] of fields) {
        const expected = fields.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v)
        expect(h.getAll(name)).toEqual(expected)
        expect(h.get(name)).toBe(expected.join(","))
        expect(h.without(name).entries()).toEqual(fields.filter(([n]) => n.toLowerCase() !== name.toLowerCase()))
      }
    }
  )
})
