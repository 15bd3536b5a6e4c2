/**
 * The request corpus: request-smuggling and malformed-request cases, each
 * with the RFC 9112 / 9110 rule it comes from, in `corpus/*.json`.
 *
 * A case is the raw bytes of one connection (a JSON string whose characters
 * are the bytes, `\r\n` escapes and all; every character must be <= U+00FF),
 * the requests expected to be read whole from it, in order (each compared on
 * the fields it names), and, when the connection must stop, the error that
 * stops it (its `_tag`, and for MalformedRequest a piece of the reason). The
 * bytes are read through the same steps as `HttpConnection` (see
 * `corpus/driver.ts`), whole, cut at every offset, and a byte at a time: how
 * the bytes arrive must never change how they are read.
 */
import { readdirSync, readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { byteByByte, bytes, drive, type DriveOptions, splitAt, summarize } from "./corpus/driver.ts"

const ErrorTag = Schema.Literals([
  "HeaderTooLarge",
  "MethodTooLong",
  "TargetTooLong",
  "MalformedRequest",
  "VersionNotSupported",
  "UnsupportedTransferEncoding"
])

const Case = Schema.Struct({
  name: Schema.String,
  /** The rule the case comes from, e.g. `RFC 9112 §6.3 (3)`. */
  rfc: Schema.String,
  raw: Schema.String,
  leniency: Schema.optionalKey(Schema.Struct({ bareLfInHead: Schema.Boolean })),
  maxHeaderSize: Schema.optionalKey(Schema.Number),
  maxRequestLineSize: Schema.optionalKey(Schema.Number),
  expect: Schema.Struct({
    /** Compared with `toMatchObject`: `method`, `target`, `body` (Latin-1), and any other RequestHead field. */
    requests: Schema.Array(Schema.Record(Schema.String, Schema.Unknown)),
    error: Schema.optionalKey(ErrorTag),
    /** A piece of the MalformedRequest reason. */
    reason: Schema.optionalKey(Schema.String),
    /** Left waiting for more bytes; false unless said. */
    pending: Schema.optionalKey(Schema.Boolean)
  })
})

type Case = typeof Case.Type

const directory = new URL("./corpus/", import.meta.url)
const files = readdirSync(directory).filter((f) => f.endsWith(".json")).sort()
const corpus: ReadonlyArray<readonly [string, ReadonlyArray<Case>]> = files.map((file) => [
  file,
  Schema.decodeUnknownSync(Schema.Array(Case), { onExcessProperty: "error" })(
    JSON.parse(readFileSync(new URL(file, directory), "utf8"))
  )
])
const allCases = corpus.flatMap(([, cases]) => cases)

const optionsOf = (c: Case): DriveOptions => ({
  ...(c.leniency === undefined ? {} : { leniency: c.leniency }),
  ...(c.maxHeaderSize === undefined ? {} : { maxHeaderSize: c.maxHeaderSize }),
  ...(c.maxRequestLineSize === undefined ? {} : { maxRequestLineSize: c.maxRequestLineSize })
})

describe("request corpus", () => {
  it("has enough cases, each named once, each with its rule, each raw string a byte string", () => {
    expect(allCases.length).toBeGreaterThanOrEqual(40)
    expect(new Set(allCases.map((c) => c.name)).size).toBe(allCases.length)
    for (const c of allCases) {
      expect(c.rfc, c.name).toMatch(/^RFC \d+ §/)
      expect([...c.raw].every((ch) => ch.charCodeAt(0) <= 0xff), c.name).toBe(true)
      if (c.expect.reason !== undefined) expect(c.expect.error, c.name).toBe("MalformedRequest")
      if (c.expect.pending === true) expect(c.expect.error, c.name).toBeUndefined()
    }
  })

  for (const [file, cases] of corpus) {
    describe(file, () => {
      for (const c of cases) {
        it(`${c.name} (${c.rfc})`, () => {
          const input = bytes(c.raw)
          const options = optionsOf(c)
          const result = drive([input], options)
          const summary = summarize(result)

          expect(summary.requests.length, "requests read").toBe(c.expect.requests.length)
          c.expect.requests.forEach((expected, i) => expect(summary.requests[i]).toMatchObject(expected))
          expect(summary.error?._tag).toBe(c.expect.error)
          if (c.expect.reason !== undefined) expect(summary.error?.reason).toContain(c.expect.reason)
          expect(summary.pending, "pending").toBe(c.expect.pending ?? false)

          // However the bytes arrive, they are read the same way.
          const stride = Math.max(1, Math.floor(input.length / 400))
          for (let cut = 1; cut < input.length; cut += stride) {
            expect(summarize(drive(splitAt(input, [cut]), options)), `cut at ${cut}`).toEqual(summary)
          }
          expect(summarize(drive(byteByByte(input), options)), "byte by byte").toEqual(summary)
        })
      }
    })
  }
})
