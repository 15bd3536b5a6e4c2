import { describe, expect, it } from "@effect/vitest"
import { parseContentType, parseHeaderValue } from "../../src/Request/HeaderParameters.ts"

describe("parseHeaderValue", () => {
  // From Tornado's httputil._parse_header.
  const table: ReadonlyArray<readonly [string, string, Record<string, string>]> = [
    [`form-data; name="a"; filename*=UTF-8''%C3%B3`, "form-data", { name: "a", filename: "ó" }],
    [`a; filename*=iso-8859-1'en'%E9`, "a", { filename: "é" }],
    [`a; f*0="x"; f*1*=%41; f*2=y`, "a", { f: "xAy" }],
    [`a; f=<x>`, "a", { f: "x" }],
    [`a; f*=windows-1252''%80`, "a", { f: "€" }],
    [`a; f*=bogus''%41"`, "a", { f: `A"` }],
    [`form-data; name="a;b"; x=1`, "form-data", { name: "a;b", x: "1" }],
    [`form-data; name="q\\"uote"; f="back\\\\slash"`, "form-data", { name: `q"uote`, f: "back\\slash" }],
    [`form-data; NAME=upper`, "form-data", { name: "upper" }],
    [`form-data; novalue; n = spaced `, "form-data", { n: "spaced" }],
    [`form-data; filename="plain"; filename*=UTF-8''%E2%82%AC`, "form-data", { filename: "€" }],
    [`a; f*=%C3%B3`, "a", { f: "\ufffd\ufffd" }],
    [`a; f*=us-ascii'en'%C3%B3`, "a", { f: "\ufffd\ufffd" }],
    [`a; f="\\"x\\""`, "a", { f: "x" }],
    [`Form-Data; name=a`, "Form-Data", { name: "a" }],
    ["", "", {}],
    [`a; f="unterminated; g=1`, "a", { f: `"unterminated; g=1` }],
    [`a; f*=UTF-8''a%22b`, "a", { f: `a\\"b` }],
    [`a; f*=UTF-8''%C3`, "a", { f: "\ufffd" }],
    ["text/plain", "text/plain", {}],
    [`a; f*=UTF-8'en'\u00e9`, "a", { f: "\ufffd" }],
    [`a; f*=''x`, "a", { f: "x" }]
  ]

  for (const [line, value, parameters] of table) {
    it(`Tornado table: ${JSON.stringify(line)}`, () => {
      const result = parseHeaderValue(line)
      expect(result.value).toBe(value)
      expect({ ...result.parameters }).toEqual(parameters)
    })
  }

  it("throws where Python cannot sort mixed continuations", () => {
    expect(() => parseHeaderValue(`a; f*0=x; f*=y`)).toThrow()
  })
})

describe("parseContentType", () => {
  const table: ReadonlyArray<readonly [string, string, Record<string, string>]> = [
    ["text/html", "text/html", {}],
    ["Text/HTML; Charset=UTF-8", "text/html", { charset: "UTF-8" }],
    [`multipart/form-data; boundary="a;b\\"c"`, "multipart/form-data", { boundary: `a;b"c` }],
    ["multipart/form-data;boundary=----x ; charset = utf-8 ", "multipart/form-data", { boundary: "----x", charset: "utf-8" }],
    ["  application/json  ", "application/json", {}],
    ["", "", {}],
    ["text/plain; flag; a=1; a=2", "text/plain", { a: "2" }]
  ]
  for (const [header, mediaType, parameters] of table) {
    it(JSON.stringify(header), () => {
      const result = parseContentType(header)
      expect(result.mediaType).toBe(mediaType)
      expect({ ...result.parameters }).toEqual(parameters)
    })
  }
})
