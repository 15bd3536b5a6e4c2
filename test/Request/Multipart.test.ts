import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { parseMultipartFormData } from "../../src/Request/Multipart.ts"

const D = "Content-Disposition: form-data; "
const latin1 = (s: string) => Buffer.from(s, "latin1")
const utf8 = (s: string) => Buffer.from(s, "utf8")

/** Files as `[filename, contentType, body as Latin-1]` for easy comparison. */
const summarize = (boundary: string, body: Uint8Array) => {
  const { arguments: args, files, warnings } = parseMultipartFormData(boundary, body)
  const fileSummary: Record<string, Array<[string, string, string]>> = {}
  for (const name in files) {
    fileSummary[name] = files[name]!.map((f) => [f.filename, f.contentType, Buffer.from(f.body).toString("latin1")])
  }
  return [{ ...args }, fileSummary, warnings.length] as const
}

describe("parseMultipartFormData", () => {
  it("parses the spec's /echo upload: filename ó, body ú, in UTF-8", () => {
    const body = utf8(
      `--B\r\n${D}name="upload"; filename="ó"\r\nContent-Type: text/plain\r\n\r\nú\r\n` +
        `--B\r\n${D}name="foo"\r\n\r\nbar\r\n--B--\r\n`
    )
    const result = parseMultipartFormData("B", body)
    expect({ ...result.arguments }).toEqual({ foo: ["bar"] })
    expect(result.warnings).toEqual([])
    const [file] = result.files["upload"]!
    expect(file!.filename).toBe("ó")
    expect(file!.contentType).toBe("text/plain")
    expect(Buffer.from(file!.body).toString("utf8")).toBe("ú")
    // a view of the body, not a copy
    expect(file!.body.buffer).toBe(body.buffer)
  })

  // [boundary, body (Latin-1 bytes), expected [arguments, files, number of warnings]],
  // from Tornado's parse_multipart_form_data (log-and-skip version).
  const table: ReadonlyArray<
    readonly [string, string, string, readonly [Record<string, Array<string>>, Record<string, Array<[string, string, string]>>, number]]
  > = [
    ["quoted boundary", `"B"`, `--B\r\n${D}name="a"\r\n\r\n1\r\n--B--`, [{ a: ["1"] }, {}, 0]],
    ["no final boundary", "B", `--B\r\n${D}name="a"\r\n\r\n1\r\n--B\r\n`, [{}, {}, 1]],
    ["preamble and epilogue", "B", `preamble\r\n--B\r\n${D}name="a"\r\n\r\n1\r\n--B--\r\nepilogue`, [{ a: ["1"] }, {}, 1]],
    ["part without headers", "B", `--B\r\nno headers here\r\n--B\r\n${D}name="a"\r\n\r\n1\r\n--B--`, [{ a: ["1"] }, {}, 1]],
    [
      "not form-data",
      "B",
      `--B\r\nContent-Disposition: attachment; name="x"\r\n\r\n1\r\n--B\r\n${D}name="a"\r\n\r\n1\r\n--B--`,
      [{ a: ["1"] }, {}, 1]
    ],
    ["Form-Data is case-sensitive", "B", `--B\r\nContent-Disposition: Form-Data; name=a\r\n\r\n1\r\n--B--`, [{}, {}, 1]],
    ["missing or empty name", "B", `--B\r\n${D}filename="f"\r\n\r\n1\r\n--B\r\n${D}name=""\r\n\r\n2\r\n--B--`, [{}, {}, 2]],
    ["empty filename is an argument", "B", `--B\r\n${D}name="a"; filename=""\r\n\r\nv\r\n--B--`, [{ a: ["v"] }, {}, 0]],
    ["part not ending in CRLF", "B", `--B\r\n${D}name="a"\r\n\r\nv--B--`, [{}, {}, 1]],
    [
      "header line without colon stops the parse",
      "B",
      `--B\r\n${D}name="a"\r\n\r\n1\r\n--B\r\nbroken\r\n\r\n2\r\n--B\r\n${D}name="c"\r\n\r\n3\r\n--B--`,
      [{ a: ["1"] }, {}, 1]
    ],
    ["continuation as first header line", "B", `--B\r\n name=x\r\n\r\n1\r\n--B--`, [{}, {}, 1]],
    [
      "folded headers, lower-case names",
      "B",
      `--B\r\nContent-Disposition: form-data;\r\n name="a";\r\n\tfilename="f.txt"\r\ncontent-type: image/png\r\n\r\nPNG\r\n--B--`,
      [{}, { a: [["f.txt", "image/png", "PNG"]] }, 0]
    ],
    ["bare LF between part headers", "B", `--B\r\n${D}name="a"\nContent-Type: text/x\r\n\r\n1\r\n--B--`, [{ a: ["1"] }, {}, 0]],
    ["malformed UTF-8 value", "B", `--B\r\n${D}name="a"\r\n\r\n\u00ff\u00fe\r\n--B--`, [{ a: ["\ufffd\ufffd"] }, {}, 0]],
    ["empty values", "B", `--B\r\n${D}name="a"\r\n\r\n\r\n--B\r\n${D}name="a"\r\n\r\n\r\n--B--`, [{ a: ["", ""] }, {}, 0]],
    [
      "RFC 5987 filename, default content type",
      "B",
      `--B\r\n${D}name="f"; filename*=UTF-8''%C3%B3.txt\r\n\r\nx\r\n--B--`,
      [{}, { f: [["ó.txt", "application/unknown", "x"]] }, 0]
    ],
    ["empty body", "B", "", [{}, {}, 1]],
    ["only the final boundary", "B", "--B--", [{}, {}, 0]],
    [
      "the last final boundary counts",
      "B",
      `--B\r\n${D}name="a"\r\n\r\n1\r\n--B--\r\n--B\r\n${D}name="b"\r\n\r\n2\r\n--B--`,
      [{ a: ["1\r\n--B--"], b: ["2"] }, {}, 0]
    ],
    [
      "part headers that are not UTF-8 stop the parse",
      "B",
      `--B\r\n${D}name="a"\r\n\r\n1\r\n--B\r\n${D}name="\u00ff"\r\n\r\n2\r\n--B--`,
      [{ a: ["1"] }, {}, 1]
    ],
    [
      "UTF-8 names and filenames",
      "B",
      `--B\r\n${D}name="\u00c3\u00a9"; filename="\u00e2\u0082\u00ac.txt"\r\n\r\n1\r\n--B--`,
      [{}, { "é": [["€.txt", "application/unknown", "1"]] }, 0]
    ]
  ]

  for (const [title, boundary, body, expected] of table) {
    it(`Tornado table: ${title}`, () => {
      expect(summarize(boundary, latin1(body))).toEqual(expected)
    })
  }

  it("reports why parts were skipped", () => {
    const body = latin1(
      `--B\r\nno headers\r\n--B\r\nContent-Disposition: attachment\r\n\r\nx\r\n--B\r\n${D}filename=f\r\n\r\nx\r\n--B--`
    )
    expect(parseMultipartFormData("B", body).warnings).toEqual([
      "multipart/form-data missing headers",
      "Invalid multipart/form-data",
      "multipart/form-data missing name"
    ])
    expect(parseMultipartFormData("B", latin1("nothing")).warnings).toEqual([
      "Invalid multipart/form-data: no final boundary"
    ])
    expect(parseMultipartFormData("B", latin1(`--B\r\nbroken\r\n\r\nx\r\n--B--`)).warnings).toEqual([
      "Invalid multipart/form-data: no colon in header line"
    ])
  })

  it("works on a Uint8Array view at an offset", () => {
    const inner = latin1(`--B\r\n${D}name="a"\r\n\r\n1\r\n--B--`)
    const outer = new Uint8Array(inner.length + 10)
    outer.set(inner, 5)
    expect(summarize("B", outer.subarray(5, 5 + inner.length))).toEqual([{ a: ["1"] }, {}, 0])
  })

  it("returns null-prototype objects", () => {
    const result = parseMultipartFormData("B", latin1(`--B\r\n${D}name="__proto__"\r\n\r\n1\r\n--B--`))
    expect(Object.getPrototypeOf(result.arguments)).toBe(null)
    expect(Object.getPrototypeOf(result.files)).toBe(null)
    expect(result.arguments["__proto__"]).toEqual(["1"])
  })

  const bytes = Arbitrary.array(Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 255 }))), {
    maxLength: 64
  }).pipe(Arbitrary.map((list) => Uint8Array.from(list)))

  it.prop(
    "binary file bodies come back byte for byte",
    { files: Arbitrary.array(bytes, { maxLength: 4 }) },
    ({ files }) => {
      const boundary = "----formdata-0123456789"
      const chunks: Array<Uint8Array> = []
      files.forEach((content, i) => {
        chunks.push(latin1(`--${boundary}\r\n${D}name="f"; filename="f${i}.bin"\r\n`))
        chunks.push(latin1(`Content-Type: application/octet-stream\r\n\r\n`), content, latin1("\r\n"))
      })
      chunks.push(latin1(`--${boundary}--\r\n`))
      const result = parseMultipartFormData(boundary, Buffer.concat(chunks))
      expect(result.warnings).toEqual([])
      const got = result.files["f"] ?? []
      expect(got.map((f) => f.filename)).toEqual(files.map((_, i) => `f${i}.bin`))
      expect(got.map((f) => Array.from(f.body))).toEqual(files.map((content) => Array.from(content)))
    }
  )
})
