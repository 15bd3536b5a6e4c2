import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { ChunkedDecoder, ChunkedLimits } from "../../src/Wire/ChunkedDecoder.ts"
import { isHttpError, type MalformedRequest } from "../../src/Wire/HttpErrors.ts"
import { bytes, encodeChunked, text } from "./corpus/driver.ts"

// ---------------------------------------------------------------------------
// Helpers

interface Decoded {
  readonly data: string
  /** Absolute index just past the body, or -1 when the decoder is not done. */
  readonly end: number
  /** The error, as `tag: reason`, if decoding failed. */
  readonly error: string | undefined
}

/**
 * Decodes `input` arriving in pieces that end at `cuts` (and at the end),
 * each piece given as a window `[start, end)` of the one buffer or, with
 * `copies`, as a fresh buffer of its own.
 */
const decode = (input: Uint8Array, cuts: ReadonlyArray<number> = [], copies = false): Decoded => {
  const decoder = new ChunkedDecoder()
  let data = ""
  let from = 0
  try {
    for (const cut of [...cuts.filter((c) => c > 0 && c < input.length), input.length]) {
      if (cut <= from) continue
      let stop: number
      if (copies) {
        const piece = input.slice(from, cut)
        stop = from + decoder.decode(piece, 0, piece.length, (d) => {
          data += text(d)
        })
      } else {
        stop = decoder.decode(input, from, cut, (d) => {
          data += text(d)
        })
      }
      if (decoder.done) return { data, end: stop, error: undefined }
      // Not done: every byte offered was taken.
      if (stop !== cut) throw new Error(`decode stopped at ${stop}, not at ${cut}, without being done`)
      from = cut
    }
  } catch (error) {
    if (!isHttpError(error)) throw error
    return { data: "", end: -1, error: `${error._tag}: ${(error as MalformedRequest).reason}` }
  }
  return { data, end: -1, error: undefined }
}

/**
 * The same result whole, cut at every single offset (every few, past 400
 * bytes), and a byte at a time, as windows and as copies.
 */
const decodeEverySplit = (raw: string): Decoded => {
  const input = bytes(raw)
  const whole = decode(input)
  const strip = (d: Decoded): Decoded => (d.error === undefined ? d : { ...d, data: "" })
  const stride = Math.max(1, Math.floor(input.length / 400))
  for (let cut = 1; cut < input.length; cut += stride) {
    expect(strip(decode(input, [cut])), `cut at ${cut}`).toEqual(whole)
  }
  const everyByte = Array.from({ length: input.length }, (_, i) => i)
  expect(strip(decode(input, everyByte)), "byte by byte").toEqual(whole)
  expect(strip(decode(input, everyByte, true)), "byte by byte, copies").toEqual(whole)
  expect(strip(decode(input, [], true)), "whole, copy").toEqual(whole)
  return whole
}

const show = (s: string) => JSON.stringify(s.length > 80 ? s.slice(0, 60) + "…" + s.slice(-10) : s)

// ---------------------------------------------------------------------------
// Valid bodies (RFC 9112 section 7.1)

describe("ChunkedDecoder: valid bodies", () => {
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ["an empty body", "0\r\n\r\n", ""],
    ["one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"],
    ["two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"],
    ["a lowercase size", "a\r\n0123456789\r\n0\r\n\r\n", "0123456789"],
    ["an uppercase size", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789"],
    ["a mixed-case size", "1e\r\nall your base are belong to us\r\n0\r\n\r\n", "all your base are belong to us"],
    ["leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello"],
    ["leading zeros up to the digit cap", "0".repeat(ChunkedLimits.maxSizeDigits - 1) + "5\r\nhello\r\n0\r\n\r\n", "hello"],
    ["a last chunk of maxSizeDigits zeros", "0".repeat(ChunkedLimits.maxSizeDigits) + "\r\n\r\n", ""],
    ["CRLF and framing-looking bytes in data", "d\r\n\r\n0\r\n\r\nX: y\r\n\r\n0\r\n\r\n", "\r\n0\r\n\r\nX: y\r\n"],
    ["binary data", "4\r\n\0\xff\r\n\r\n0\r\n\r\n", "\0\xff\r\n"],
    ["an extension name", "5;ilovew3\r\nhello\r\n0\r\n\r\n", "hello"],
    ["extensions with values", "5;a=b;c=d\r\nhello\r\n0;last\r\n\r\n", "hello"],
    ["a quoted extension value", "5;a=b;c=\"d\"\r\nhello\r\n0\r\n\r\n", "hello"],
    ["a quoted value with ; and escapes", "5;a=\"x; \\\"y\\\" \\\\z\"\r\nhello\r\n0\r\n\r\n", "hello"],
    ["BWS around the extension", "5 ; a = b\r\nhello\r\n0\r\n\r\n", "hello"],
    ["a tab before the extension", "5\t;a\r\nhello\r\n0\r\n\r\n", "hello"],
    ["obs-text in an extension value", "5;a=\"caf\xe9\"\r\nhello\r\n0\r\n\r\n", "hello"],
    ["a trailer field", "5\r\nhello\r\n0\r\nExpires: never\r\n\r\n", "hello"],
    ["trailer fields", "5\r\nhello\r\n0\r\nVary: *\r\nContent-Type: text/plain\r\n\r\n", "hello"],
    ["a trailer with an empty value", "0\r\nX:\r\n\r\n", ""],
    ["a trailer with obs-text", "0\r\nX: caf\xe9\r\n\r\n", ""],
    ["an extension on the last chunk and trailers", "3;x=y\r\nabc\r\n0;z\r\nT: 1\r\n\r\n", "abc"],
    // chunk-ext (RFC 9112 section 7.1.1): BWS on either side of ";" and "=", empty quoted-string, quoted-pairs
    ["BWS before ; after a value", "5;a=b ;c\r\nhello\r\n0\r\n\r\n", "hello"],
    ["BWS after a quoted value, before ;", "5;a=\"b\"\t;c\r\nhello\r\n0\r\n\r\n", "hello"],
    ["BWS after ;", "5;\ta; b\r\nhello\r\n0\r\n\r\n", "hello"],
    ["an empty quoted-string", "5;a=\"\"\r\nhello\r\n0\r\n\r\n", "hello"],
    ["a quoted-pair of obs-text", "5;a=\"\\\xe9\"\r\nhello\r\n0\r\n\r\n", "hello"],
    ["a name with every token punctuation", "5;!#$%&'*+-.^_`|~=v\r\nhello\r\n0\r\n\r\n", "hello"]
  ]
  for (const [name, raw, data] of cases) {
    it(`${name}: ${show(raw)}`, () => {
      const result = decodeEverySplit(raw)
      expect(result).toEqual({ data, end: raw.length, error: undefined })
    })
  }

  it("stops at the end of the body and leaves the rest untouched", () => {
    const body = "5\r\nhello\r\n0\r\nT: v\r\n\r\n"
    const rest = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"
    const input = bytes(body + rest)
    const before = input.slice()
    for (let cut = 0; cut < input.length; cut++) {
      expect(decode(input, [cut])).toEqual({ data: "hello", end: body.length, error: undefined })
    }
    expect(input).toEqual(before)
  })

  it("leaves a second chunked body for the next decoder", () => {
    const input = bytes("1\r\na\r\n0\r\n\r\n1\r\nb\r\n0\r\n\r\n")
    const first = new ChunkedDecoder()
    const out: Array<string> = []
    const end = first.decode(input, 0, input.length, (d) => out.push(text(d)))
    expect(end).toBe(11)
    const second = new ChunkedDecoder()
    expect(second.decode(input, end, input.length, (d) => out.push(text(d)))).toBe(input.length)
    expect(out).toEqual(["a", "b"])
  })

  it("takes nothing once done", () => {
    const decoder = new ChunkedDecoder()
    const input = bytes("0\r\n\r\nmore")
    expect(decoder.decode(input, 0, input.length, () => {})).toBe(5)
    expect(decoder.done).toBe(true)
    expect(decoder.decode(input, 5, input.length, () => {})).toBe(5)
    expect(decoder.done).toBe(true)
  })

  it("is not done before the final CRLF", () => {
    const raw = "5\r\nhello\r\n0\r\nT: v\r\n\r\n"
    const input = bytes(raw)
    for (let end = 0; end < input.length; end++) {
      const decoder = new ChunkedDecoder()
      expect(decoder.decode(input, 0, end, () => {})).toBe(end)
      expect(decoder.done).toBe(false)
    }
  })

  it("hands data on as views of the input, never copies, never empty", () => {
    const input = bytes("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    const pieces: Array<Uint8Array> = []
    new ChunkedDecoder().decode(input, 0, input.length, (d) => pieces.push(d))
    expect(pieces.map(text)).toEqual(["abc", "de"])
    for (const p of pieces) {
      expect(p.buffer).toBe(input.buffer)
      expect(p.length).toBeGreaterThan(0)
    }
  })

  it("splits chunk data at read boundaries without losing a byte", () => {
    const raw = "a\r\n0123456789\r\n0\r\n\r\n"
    const input = bytes(raw)
    const pieces: Array<string> = []
    const decoder = new ChunkedDecoder()
    decoder.decode(input, 0, 6, (d) => pieces.push(text(d)))
    decoder.decode(input, 6, 10, (d) => pieces.push(text(d)))
    decoder.decode(input, 10, input.length, (d) => pieces.push(text(d)))
    expect(pieces).toEqual(["012", "3456", "789"])
    expect(decoder.done).toBe(true)
  })

  it("reads the largest size the digit cap allows", () => {
    // 13 hex digits: up to 2^52 - 1, still an exact integer.
    const decoder = new ChunkedDecoder()
    const input = bytes("fffffffffffff\r\nabc")
    let got = ""
    expect(decoder.decode(input, 0, input.length, (d) => (got += text(d)))).toBe(input.length)
    expect(got).toBe("abc")
    expect(decoder.done).toBe(false)
  })
})

// ---------------------------------------------------------------------------
// Errors

describe("ChunkedDecoder: errors", () => {
  const long = (n: number, c = "a") => c.repeat(n)
  const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
    // chunk-size = 1*HEXDIG (RFC 9112 section 7.1)
    ["no digits", "\r\nhello\r\n0\r\n\r\n", /invalid chunk size/],
    ["an extension without a size", ";a\r\n", /invalid chunk size/],
    ["a space before the size", " 5\r\nhello\r\n0\r\n\r\n", /invalid chunk size/],
    ["a sign", "+5\r\nhello\r\n0\r\n\r\n", /invalid chunk size/],
    ["a minus sign", "-5\r\nhello\r\n0\r\n\r\n", /invalid chunk size/],
    ["a 0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", /invalid chunk size/],
    ["a non-hex letter", "5g\r\nhello\r\n0\r\n\r\n", /invalid chunk size/],
    ["a non-hex letter alone", "g\r\n", /invalid chunk size/],
    ["obs-text in the size", "5\xb2\r\n", /invalid chunk size/],
    ["NUL after the size", "5\0\r\n", /invalid chunk size/],
    ["no ; before an extension", "2 erfrferferf\r\naa\r\n0\r\n\r\n", /invalid byte after chunk size/],
    ["a digit after whitespace", "5 5\r\nhello\r\n", /invalid byte after chunk size/],
    ["maxSizeDigits + 1 digits", "1" + "0".repeat(ChunkedLimits.maxSizeDigits) + "\r\n", /chunk size too large/],
    ["maxSizeDigits + 1 leading zeros", "0".repeat(ChunkedLimits.maxSizeDigits + 1) + "\r\n\r\n", /chunk size too large/],
    ["a size past 2^64", "10000000000000000\r\n", /chunk size too large/],
    // CRLF after the size line and after the data
    ["a bare LF after the size", "5\nhello\r\n0\r\n\r\n", /not ended by CRLF/],
    ["a bare CR after the size", "5\rhello\r\n0\r\n\r\n", /not ended by CRLF/],
    ["CR CR after the size", "5\r\r;ABCD\r\n34\r\nE\r\n0\r\n\r\n", /not ended by CRLF/],
    ["a bare LF after whitespace", "5 \nhello\r\n", /invalid byte after chunk size/],
    // RFC 9112 section 7.1.1: BWS only before ";" (this was accepted before the differential run).
    ["whitespace after the size, then CRLF", "5 \r\nhello\r\n0\r\n\r\n", /whitespace before the end of a chunk-size line/],
    ["a bare LF in an extension", "5;a\nhello\r\n", /invalid byte in chunk extension/],
    ["a bare LF after the last chunk", "0\n\r\n", /not ended by CRLF/],
    ["data longer than its size", "5\r\nhelloX\r\n0\r\n\r\n", /chunk data not followed by CRLF/],
    ["data shorter than its size", "5\r\nhell\r\n0\r\n\r\n", /chunk data not followed by CRLF/],
    ["a bare LF after the data", "5\r\nhello\n0\r\n\r\n", /chunk data not followed by CRLF/],
    ["a bare CR after the data", "5\r\nhello\r0\r\n\r\n", /chunk data not followed by CRLF/],
    ["no CRLF between chunks", "5\r\nhello0\r\n\r\n", /chunk data not followed by CRLF/],
    ["a missing last chunk", "3\r\nfoo\r\n\r\n", /invalid chunk size/],
    // chunk-ext (RFC 9112 section 7.1.1)
    ["NUL in an extension", "5;a\0b\r\nhello\r\n0\r\n\r\n", /invalid byte in chunk extension/],
    ["a control byte in an extension", "5;a=\x01\r\nhello\r\n0\r\n\r\n", /invalid byte in chunk extension/],
    ["DEL in an extension", "5;a\x7f\r\nhello\r\n0\r\n\r\n", /invalid byte in chunk extension/],
    // chunk-ext grammar (RFC 9112 section 7.1.1), found by the differential run
    ["an unterminated quoted-string", "5;a=\"b\r\nhello\r\n0\r\n\r\n", /unterminated quoted-string/],
    ["a quoted-pair cut by the CR", "5;a=\"b\\\r\nhello\r\n0\r\n\r\n", /invalid byte in chunk extension: quoted-pair/],
    ["bytes after a closing quote", "5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", /invalid byte in chunk extension after a quoted value/],
    ["a quote inside a token value", "5;a=b\"\r\nhello\r\n0\r\n\r\n", /invalid byte in chunk extension value/],
    ["DEL in a quoted value", "5;a=\"\x7f\"\r\nhello\r\n0\r\n\r\n", /invalid byte in chunk extension value/],
    ["a ; without a name", "5;\r\nhello\r\n0\r\n\r\n", /a name must follow/],
    ["two ; in a row", "5;;a\r\nhello\r\n0\r\n\r\n", /a name must follow/],
    ["a value without a name", "5;=b\r\nhello\r\n0\r\n\r\n", /a name must follow/],
    ["an = without a value", "5;a=\r\nhello\r\n0\r\n\r\n", /a value must follow/],
    ["a space inside a value", "5;a=b c\r\nhello\r\n0\r\n\r\n", /invalid byte after chunk size/],
    ["a separator in a name", "5;a@b\r\nhello\r\n0\r\n\r\n", /invalid byte in chunk extension name/],
    ["whitespace after a name, then CRLF", "5;a \r\nhello\r\n0\r\n\r\n", /whitespace before the end of a chunk-size line/],
    ["whitespace after a value, then CRLF", "5;a=b\t\r\nhello\r\n0\r\n\r\n", /whitespace before the end of a chunk-size line/],
    ["whitespace after a quoted value, then CRLF", "5;a=\"b\" \r\nhello\r\n0\r\n\r\n", /whitespace before the end/],
    ["whitespace after the last chunk's size", "5\r\nhello\r\n0 \r\n\r\n", /whitespace before the end/],
    ["extensions too long", `5;${long(ChunkedLimits.maxExtensionBytes)}\r\nhello\r\n0\r\n\r\n`, /chunk extensions too long/],
    ["whitespace after the size too long", `5${long(ChunkedLimits.maxExtensionBytes + 1, " ")}\r\nhello\r\n0\r\n\r\n`, /too long/],
    // trailer-section (RFC 9112 section 7.1.2)
    ["a trailer without a colon", "0\r\nnocolon\r\n\r\n", /invalid trailer field/],
    ["a trailer with an empty name", "0\r\n: v\r\n\r\n", /invalid trailer field/],
    ["a trailer with a space before the colon", "0\r\nX : v\r\n\r\n", /invalid trailer field name/],
    ["a folded trailer line", "0\r\nX: a\r\n b\r\n\r\n", /invalid trailer field/],
    ["NUL in a trailer name", "0\r\nX\0: v\r\n\r\n", /invalid trailer field/],
    ["NUL in a trailer value", "0\r\nX: a\0b\r\n\r\n", /invalid trailer field/],
    ["DEL in a trailer value", "0\r\nX: \x7f\r\n\r\n", /invalid trailer field/],
    ["a bare LF ending a trailer", "0\r\nX: v\nY: w\r\n\r\n", /trailer/],
    ["a bare CR inside a trailer", "0\r\nX: a\rb\r\n\r\n", /trailer line not ended by CRLF/],
    ["the final line not CRLF", "0\r\n\rX", /chunked body not ended by CRLF/],
    ["a trailer section too large", `0\r\nX: ${long(ChunkedLimits.maxTrailerBytes)}\r\n\r\n`, /trailer section too large/],
    [
      "many small trailers, too large together",
      "0\r\n" + "X: y\r\n".repeat(Math.ceil(ChunkedLimits.maxTrailerBytes / 5)) + "\r\n",
      /trailer section too large/
    ]
  ]
  for (const [name, raw, reason] of cases) {
    it(`${name}: ${show(raw)}`, () => {
      const result = decodeEverySplit(raw)
      expect(result.error).toMatch(/^MalformedRequest: /)
      expect(result.error).toMatch(reason)
    })
  }

  it("fails as soon as the bad byte arrives, without waiting for more", () => {
    const probes: ReadonlyArray<readonly [string, number]> = [
      ["5\n", 2],
      ["0\r\n\n", 4],
      ["0\r\nX: v\n", 8],
      ["0\r\nX\0", 5],
      ["5;\0", 3],
      ["z", 1]
    ]
    for (const [raw, failsAt] of probes) {
      const input = bytes(raw)
      expect(decode(input.subarray(0, failsAt - 1)).error, raw).toBeUndefined()
      expect(decode(input.subarray(0, failsAt)).error, raw).toMatch(/^MalformedRequest/)
    }
  })

  it("accepts extensions of exactly maxExtensionBytes and trailers of exactly maxTrailerBytes", () => {
    const ext = `5;${"a".repeat(ChunkedLimits.maxExtensionBytes - 1)}\r\nhello\r\n0\r\n\r\n`
    expect(decode(bytes(ext))).toEqual({ data: "hello", end: ext.length, error: undefined })
    // The trailer count takes each line's bytes and its CR.
    const trailer = `0\r\nX:${"a".repeat(ChunkedLimits.maxTrailerBytes - 3)}\r\n\r\n`
    expect(decode(bytes(trailer))).toEqual({ data: "", end: trailer.length, error: undefined })
  })
})

// ---------------------------------------------------------------------------
// Properties

const int = (minimum: number, maximum: number) =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))
const oneOf = <A>(items: ReadonlyArray<A>): Arbitrary.Arbitrary<A> =>
  int(0, items.length - 1).pipe(Arbitrary.map((i) => items[i]!))

const encodingArb = Arbitrary.all({
  data: Arbitrary.array(int(0, 255), { maxLength: 80 }),
  sizes: Arbitrary.array(int(1, 40), { maxLength: 6 }),
  upperCase: oneOf([false, true]),
  zeros: int(0, 3),
  extension: oneOf(["", ";a", ";a=b;c=\"d e\"", " ; x = y", ";q=\"\\\"\""]),
  trailers: Arbitrary.array(oneOf(["Expires: never", "X-Sum: abc", "Y:", "Z: caf\xe9 \t x"]), { maxLength: 3 }),
  rest: oneOf(["", "GET / HTTP/1.1\r\n\r\n", "0\r\n\r\n", "\r\n"]),
  cuts: Arbitrary.array(int(0, 10_000), { maxLength: 10 })
})

describe("ChunkedDecoder: properties", () => {
  it.prop(
    "decoding a chunked encoding gives the data back, wherever the input is cut",
    { e: encodingArb },
    ({ e }) => {
      const data = new Uint8Array(e.data)
      const body = encodeChunked(data, {
        sizes: e.sizes,
        upperCase: e.upperCase,
        zeros: e.zeros,
        extension: e.extension,
        trailers: e.trailers
      })
      const input = bytes(body + e.rest)
      const cuts = e.cuts.map((c) => Math.floor((c * input.length) / 10_001))
      const expected = { data: text(data), end: body.length, error: undefined }
      expect(decode(input)).toEqual(expected)
      expect(decode(input, cuts)).toEqual(expected)
      expect(decode(input, cuts, true)).toEqual(expected)
    },
    { arbitrary: { runs: 500, size: 40 } }
  )

  const anyByte = Arbitrary.schema(Schema.Union([
    Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 255 })),
    Schema.Literals([0x0d, 0x0a, 0x3b, 0x3a, 0x20, 0x30, 0x31, 0x61, 0x00])
  ]))

  it.prop(
    "random bytes: only tagged errors, an end in range, the same outcome however cut",
    {
      data: Arbitrary.array(anyByte, { maxLength: 64 }),
      prefix: oneOf(["", "1\r\n", "0\r\n", "2;a\r\nxy\r\n"]),
      cuts: Arbitrary.array(int(0, 10_000), { maxLength: 6 })
    },
    ({ data, prefix, cuts }) => {
      const input = new Uint8Array([...bytes(prefix), ...data])
      const whole = decode(input)
      if (whole.end !== -1) expect(whole.end > 0 && whole.end <= input.length).toBe(true)
      const strip = (d: Decoded): Decoded => (d.error === undefined ? d : { ...d, data: "" })
      expect(strip(decode(input, cuts.map((c) => Math.floor((c * input.length) / 10_001))))).toEqual(strip(whole))
    },
    { arbitrary: { runs: 500, size: 40 } }
  )

  const mutationArb = Arbitrary.all({
    at: int(0, 10_000),
    op: oneOf(["replace", "insert", "delete"] as const),
    byte: oneOf([0x0d, 0x0a, 0x3b, 0x3a, 0x20, 0x09, 0x22, 0x00, 0x7f, 0x30, 0x66, 0x67, 0x80])
  })

  it.prop(
    "mutated chunked bodies: only tagged errors, the same outcome byte by byte",
    { e: encodingArb, mutations: Arbitrary.array(mutationArb, { minLength: 1, maxLength: 3 }) },
    ({ e, mutations }) => {
      const body = encodeChunked(new Uint8Array(e.data), { sizes: e.sizes, extension: e.extension, trailers: e.trailers })
      const wire = [...bytes(body + e.rest)]
      for (const m of mutations) {
        const at = Math.floor((m.at * wire.length) / 10_001)
        if (m.op === "replace") wire[at] = m.byte
        else if (m.op === "insert") wire.splice(at, 0, m.byte)
        else wire.splice(at, 1)
      }
      const input = new Uint8Array(wire)
      const whole = decode(input)
      const strip = (d: Decoded): Decoded => (d.error === undefined ? d : { ...d, data: "" })
      expect(strip(decode(input, Array.from({ length: input.length }, (_, i) => i)))).toEqual(strip(whole))
    },
    { arbitrary: { runs: 500, size: 40 } }
  )
})
