import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { parseBodyArguments } from "../../src/Request/BodyArguments.ts"

const utf8 = (s: string) => Buffer.from(s, "utf8")

describe("parseBodyArguments", () => {
  const form = "application/x-www-form-urlencoded"

  it("parses the spec's /echo form bodies", () => {
    expect({ ...parseBodyArguments(form, utf8("foo=bar")).arguments }).toEqual({ foo: ["bar"] })
    expect({ ...parseBodyArguments(form, utf8("foo=&foo=")).arguments }).toEqual({ foo: ["", ""] })
  })

  it("reads a form body as bytes: raw UTF-8 and percent-escapes both decode as UTF-8", () => {
    const result = parseBodyArguments(`${form}; charset=UTF-8`, utf8("a=é&b=%C3%A9&c=x+y&d=%FF"))
    expect({ ...result.arguments }).toEqual({ a: ["é"], b: ["é"], c: ["x y"], d: ["\ufffd"] })
    expect({ ...result.files }).toEqual({})
    expect(result.warnings).toEqual([])
  })

  it("matches the media type case-insensitively", () => {
    expect({ ...parseBodyArguments("Application/X-WWW-Form-Urlencoded", utf8("a=1")).arguments }).toEqual({ a: ["1"] })
  })

  it("parses multipart bodies with the boundary from the content type", () => {
    const body = utf8(
      `--xyz\r\nContent-Disposition: form-data; name="upload"; filename="ó"\r\nContent-Type: text/plain\r\n\r\nú\r\n` +
        `--xyz\r\nContent-Disposition: form-data; name="foo"\r\n\r\nbar\r\n--xyz--\r\n`
    )
    for (const contentType of ["multipart/form-data; boundary=xyz", `Multipart/Form-Data; charset=x; Boundary="xyz"`]) {
      const result = parseBodyArguments(contentType, body)
      expect({ ...result.arguments }).toEqual({ foo: ["bar"] })
      const files = result.files["upload"]!
      expect(files.map((f) => [f.filename, f.contentType, Buffer.from(f.body).toString("utf8")])).toEqual([
        ["ó", "text/plain", "ú"]
      ])
      expect(result.warnings).toEqual([])
    }
  })

  it("warns when a multipart content type has no boundary", () => {
    for (const contentType of ["multipart/form-data", "multipart/form-data; boundary=", `multipart/form-data; boundary=""`]) {
      const result = parseBodyArguments(contentType, utf8("--x--"))
      expect({ ...result.arguments }).toEqual({})
      expect(result.warnings).toEqual(["Invalid multipart/form-data: multipart boundary not found"])
    }
  })

  it("ignores every other type, and no type", () => {
    for (const contentType of [undefined, "application/json", "text/plain", "application/x-www-form-urlencodedx", ""]) {
      const result = parseBodyArguments(contentType, utf8("a=1"))
      expect({ ...result.arguments }).toEqual({})
      expect({ ...result.files }).toEqual({})
      expect(result.warnings).toEqual([])
    }
  })

  it.prop(
    "a form body of name=value pairs comes back",
    {
      pairs: Arbitrary.array(
        Arbitrary.schema(Schema.Tuple([Schema.String, Schema.String])).pipe(
          Arbitrary.map(([k, v]) => [k.replace(/[\ud800-\udfff]/g, "x"), v.replace(/[\ud800-\udfff]/g, "x")] as const)
        ),
        { maxLength: 5 }
      )
    },
    ({ pairs }) => {
      const body = new URLSearchParams(pairs.map(([k, v]): [string, string] => [k, v])).toString()
      const expected: Record<string, Array<string>> = Object.create(null)
      for (const [k, v] of pairs) (expected[k] ??= []).push(v)
      expect(parseBodyArguments(form, utf8(body)).arguments).toEqual(expected)
    }
  )
})
