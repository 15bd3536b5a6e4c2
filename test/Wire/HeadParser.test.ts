import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import {
  type BodyFraming,
  findHeadEnd,
  type ParserLeniency,
  parseHead,
  type RequestHead,
  resumeScanAt,
  skipLeadingEmptyLines
} from "../../src/Wire/HeadParser.ts"
import { FIELD_VALUE, HOST } from "../../src/Wire/CharClasses.ts"
import { type HttpError, isHttpError } from "../../src/Wire/HttpErrors.ts"
import { byteByByte, bytes, drive, encodeChunked, splitAt, summarize, text } from "./corpus/driver.ts"

// ---------------------------------------------------------------------------
// Helpers

/** A head from its lines: CRLF after each, then the empty line. */
const head = (...lines: ReadonlyArray<string>): string => lines.map((l) => l + "\r\n").join("") + "\r\n"

/** An HTTP/1.1 GET with a Host and the given extra field lines. */
const get11 = (...fields: ReadonlyArray<string>): string => head("GET / HTTP/1.1", "Host: example.com", ...fields)

/** The error `f` throws; fails when it throws nothing or something that is not one of ours. */
const errorOf = (f: () => unknown): HttpError => {
  let result: unknown
  try {
    result = f()
  } catch (error) {
    if (isHttpError(error)) return error
    throw error
  }
  throw new Error(`expected an HttpError, got ${JSON.stringify(result)}`)
}

interface ExpectedError {
  readonly _tag: HttpError["_tag"]
  /** For MalformedRequest: a pattern the reason must match. */
  readonly reason?: RegExp
}

const malformed = (reason: RegExp): ExpectedError => ({ _tag: "MalformedRequest", reason })

const expectError = (text: string, expected: ExpectedError, leniency?: ParserLeniency) => {
  const error = errorOf(() => parseHead(text, leniency))
  expect(error._tag).toBe(expected._tag)
  if (expected.reason !== undefined) {
    expect(error._tag === "MalformedRequest" ? error.reason : "").toMatch(expected.reason)
  }
  return error
}

const show = (s: string) => JSON.stringify(s)

// ---------------------------------------------------------------------------
// Request line (RFC 9112 section 3)

describe("parseHead: request line", () => {
  const ok: ReadonlyArray<readonly [string, string, Partial<RequestHead>]> = [
    ["origin-form", "GET / HTTP/1.1", { method: "GET", target: "/", version: "HTTP/1.1" }],
    ["origin-form with query", "GET /a/b?c=d&e=%20f HTTP/1.1", { target: "/a/b?c=d&e=%20f" }],
    ["origin-form with empty segments", "GET //a//b HTTP/1.1", { target: "//a//b" }],
    ["quotes and brackets in the target", "GET /\"q\"/[x]{y}|<z> HTTP/1.1", { target: "/\"q\"/[x]{y}|<z>" }],
    ["obs-text in the target, kept as Latin-1", "GET /caf\xe9 HTTP/1.1", { target: "/caf\xe9" }],
    ["HTTP/1.0", "POST /submit HTTP/1.0", { method: "POST", version: "HTTP/1.0" }],
    ["asterisk-form for OPTIONS", "OPTIONS * HTTP/1.1", { method: "OPTIONS", target: "*" }],
    ["absolute-form", "GET http://example.com/a?b HTTP/1.1", { target: "http://example.com/a?b" }],
    ["absolute-form, https with port", "GET https://example.com:8443/ HTTP/1.1", { target: "https://example.com:8443/" }],
    ["absolute-form, other scheme", "GET coap+tcp://h/x HTTP/1.1", { target: "coap+tcp://h/x" }],
    ["authority-form for CONNECT", "CONNECT example.com:443 HTTP/1.1", { method: "CONNECT", target: "example.com:443" }],
    ["authority-form, IPv6 literal", "CONNECT [::1]:443 HTTP/1.1", { target: "[::1]:443" }],
    ["extension method", "PROPFIND /dav HTTP/1.1", { method: "PROPFIND" }],
    ["method of tchar punctuation", "X!#$%&'*+-.^_`|~ / HTTP/1.1", { method: "X!#$%&'*+-.^_`|~" }],
    ["method is case-sensitive, kept as sent", "get / HTTP/1.1", { method: "get" }]
  ]
  for (const [name, line, expected] of ok) {
    it(`accepts ${name}: ${show(line)}`, () => {
      expect(parseHead(head(line, "Host: example.com"))).toMatchObject(expected)
    })
  }

  const bad: ReadonlyArray<readonly [string, string, ExpectedError]> = [
    ["an empty request line", "", malformed(/no method/)],
    ["a leading space", " GET / HTTP/1.1", malformed(/no method/)],
    ["no spaces at all", "GET", malformed(/no method/)],
    ["tabs as separators", "GET\t/\tHTTP/1.1", malformed(/no method/)],
    ["no version", "GET /", malformed(/no version/)],
    ["two spaces after the method", "GET  / HTTP/1.1", malformed(/empty request-target/)],
    ["a space inside the target", "GET /a b HTTP/1.1", malformed(/version/)],
    ["a trailing space", "GET / HTTP/1.1 ", malformed(/invalid HTTP version/)],
    ["HTTP/1 (no minor)", "GET / HTTP/1", malformed(/invalid HTTP version/)],
    ["HTTP/1.1.1", "GET / HTTP/1.1.1", malformed(/invalid HTTP version/)],
    ["HTTP/11", "GET / HTTP/11", malformed(/invalid HTTP version/)],
    ["lowercase http", "GET / http/1.1", malformed(/invalid HTTP version/)],
    ["another protocol", "GET / ICE/1.0", malformed(/invalid HTTP version/)],
    ["a bare CR after the version", "GET / HTTP/1.1\r", malformed(/invalid HTTP version/)],
    ["a method with a separator", "G(T / HTTP/1.1", malformed(/invalid method/)],
    ["a method with obs-text", "G\xc9T / HTTP/1.1", malformed(/invalid method/)],
    ["a method with NUL", "GE\0T / HTTP/1.1", malformed(/invalid method/)],
    ["a fragment in the target", "GET /a#frag HTTP/1.1", malformed(/fragment/)],
    ["NUL in the target", "GET /a\0b HTTP/1.1", malformed(/invalid byte in request-target/)],
    ["a control byte in the target", "GET /a\x01b HTTP/1.1", malformed(/invalid byte in request-target/)],
    ["DEL in the target", "GET /a\x7fb HTTP/1.1", malformed(/invalid byte in request-target/)],
    ["a tab in the target", "GET /a\tb HTTP/1.1", malformed(/invalid byte in request-target/)],
    ["a bare CR in the target", "GET /a\rb HTTP/1.1", malformed(/invalid byte in request-target/)],
    ["asterisk-form on GET", "GET * HTTP/1.1", malformed(/asterisk/)],
    ["asterisk-form on CONNECT", "CONNECT * HTTP/1.1", malformed(/asterisk/)],
    ["a relative target", "GET a/b HTTP/1.1", malformed(/neither origin-form nor absolute-form/)],
    ["authority-form on GET", "GET example.com:80 HTTP/1.1", malformed(/neither origin-form nor absolute-form/)],
    ["a scheme without //", "GET http:/x HTTP/1.1", malformed(/neither origin-form nor absolute-form/)],
    ["absolute-form with an empty authority", "GET http:///x HTTP/1.1", malformed(/invalid authority/)],
    ["absolute-form with userinfo", "GET http://u:p@example.com/ HTTP/1.1", malformed(/invalid authority/)],
    ["absolute-form with obs-text in the authority", "GET http://h\x91x HTTP/1.1", malformed(/invalid authority/)],
    ["a path in an authority-form", "CONNECT example.com/x HTTP/1.1", malformed(/authority-form/)],
    ["absolute-form on CONNECT", "CONNECT http://example.com HTTP/1.1", malformed(/authority-form/)],
    ["userinfo in an authority-form", "CONNECT user@example.com:443 HTTP/1.1", malformed(/authority-form/)],
    ["an authority-form without a port", "CONNECT example.com HTTP/1.1", malformed(/authority-form/)],
    ["an authority-form with an empty port", "CONNECT example.com: HTTP/1.1", malformed(/authority-form/)],
    ["an authority-form without a host", "CONNECT :443 HTTP/1.1", malformed(/authority-form/)],
    ["an IPv6 authority-form without a port", "CONNECT [::1] HTTP/1.1", malformed(/authority-form/)],
    ["an authority-form with a non-numeric port", "CONNECT example.com:https HTTP/1.1", malformed(/authority-form/)],
    ["HTTP/2.0", "GET / HTTP/2.0", { _tag: "VersionNotSupported" }],
    ["HTTP/0.9", "GET / HTTP/0.9", { _tag: "VersionNotSupported" }],
    ["HTTP/1.2", "GET / HTTP/1.2", { _tag: "VersionNotSupported" }],
    ["HTTP/3.0", "GET / HTTP/3.0", { _tag: "VersionNotSupported" }],
    ["the HTTP/2 connection preface", "PRI * HTTP/2.0", { _tag: "VersionNotSupported" }]
  ]
  for (const [name, line, expected] of bad) {
    it(`refuses ${name}: ${show(line)}`, () => {
      expectError(head(line, "Host: example.com"), expected)
    })
  }

  it("reports the unsupported version", () => {
    const error = expectError(head("GET / HTTP/2.0", "Host: a"), { _tag: "VersionNotSupported" })
    expect(error._tag === "VersionNotSupported" && error.version).toBe("HTTP/2.0")
  })
})

// ---------------------------------------------------------------------------
// Header fields (RFC 9112 section 5, RFC 9110 section 5)

describe("parseHead: header fields", () => {
  it("parses a whole head", () => {
    const parsed = parseHead(
      head("POST /upload?x=1 HTTP/1.1", "Host: example.com:8080", "Content-Type: text/plain", "Content-Length: 11")
    )
    expect(parsed).toEqual({
      method: "POST",
      target: "/upload?x=1",
      version: "HTTP/1.1",
      rawHeaders: ["Host", "example.com:8080", "Content-Type", "text/plain", "Content-Length", "11"],
      framing: { _tag: "ContentLength", length: 11 },
      keepAlive: true,
      expectContinue: false,
      host: "example.com:8080",
      upgrade: undefined
    } satisfies RequestHead)
  })

  const values: ReadonlyArray<readonly [string, string, readonly [string, string]]> = [
    ["names as sent", "x-FOO: 1", ["x-FOO", "1"]],
    ["leading and trailing spaces trimmed", "X:   a b  ", ["X", "a b"]],
    ["tabs trimmed", "X:\ta\tb\t", ["X", "a\tb"]],
    ["no space after the colon", "X:a", ["X", "a"]],
    ["an empty value", "X:", ["X", ""]],
    ["a value of only spaces", "X:    ", ["X", ""]],
    ["a colon in the value", "X: a:b: c", ["X", "a:b: c"]],
    ["obs-text kept as Latin-1", "X: caf\xe9 \xff\x80", ["X", "caf\xe9 \xff\x80"]],
    ["a no-break space (obs-text) is not trimmed", "X: \xa0a\xa0", ["X", "\xa0a\xa0"]],
    ["every tchar in a name", "!#$%&'*+-.^_`|~09AZaz: v", ["!#$%&'*+-.^_`|~09AZaz", "v"]],
    ["visible ASCII in a value", "X: \"(),/:;<=>?@[\\]{}~", ["X", "\"(),/:;<=>?@[\\]{}~"]]
  ]
  for (const [name, line, [n, v]] of values) {
    it(`${name}: ${show(line)}`, () => {
      const parsed = parseHead(get11(line))
      expect(parsed.rawHeaders).toEqual(["Host", "example.com", n, v])
    })
  }

  it("keeps every field, in order, duplicates included", () => {
    const parsed = parseHead(get11("A: 1", "B: 2", "a: 3", "Set-Cookie: x", "Set-Cookie: y"))
    expect(parsed.rawHeaders).toEqual(["Host", "example.com", "A", "1", "B", "2", "a", "3", "Set-Cookie", "x", "Set-Cookie", "y"])
  })

  it("keeps obs-text values byte for byte", () => {
    const parsed = parseHead(get11("X: \x80\xc3\xa9\xff"))
    expect([...parsed.rawHeaders[3]!].map((c) => c.charCodeAt(0))).toEqual([0x80, 0xc3, 0xa9, 0xff])
  })

  const bad: ReadonlyArray<readonly [string, string, RegExp]> = [
    ["a space before the colon", "X : a", /whitespace before colon/],
    ["a tab before the colon", "X\t: a", /whitespace before colon/],
    ["a space before the colon of Content-Length", "Content-Length : 5", /whitespace before colon/],
    ["a space before the colon of Transfer-Encoding", "Transfer-Encoding : chunked", /whitespace before colon/],
    ["an empty name", ": a", /empty header name/],
    ["no colon", "X a", /without a colon/],
    ["a name only", "Content-Length", /without a colon/],
    ["a name with @", "Fo@: a", /invalid header name/],
    ["a name with a slash", "A/B: a", /invalid header name/],
    ["a name with a quote", "\"A\": a", /invalid header name/],
    ["a name with obs-text", "X\xe9: a", /invalid header name/],
    ["a name with NUL", "X\0Y: a", /invalid header name/],
    ["a name with DEL", "X\x7f: a", /invalid header name/],
    ["a name with a bare CR", "X\rY: a", /invalid header name/],
    ["a name with a control byte", "X\x1bY: a", /invalid header name/],
    ["NUL in a value", "X: a\0b", /invalid byte in header value/],
    ["a control byte in a value", "X: a\x01b", /invalid byte in header value/],
    ["ESC in a value", "X: a\x1bb", /invalid byte in header value/],
    ["DEL in a value", "X: a\x7fb", /invalid byte in header value/],
    ["a vertical tab in a value", "X: a\x0bb", /invalid byte in header value/],
    ["a form feed in a value", "X: \x0ca", /invalid byte in header value/],
    ["a bare CR inside a value", "X: a\rb", /invalid byte in header value/],
    ["a bare CR at the end of a value", "X: a\r", /invalid byte in header value/],
    ["a bare CR as a value", "X: \r", /invalid byte in header value/],
    ["a bare CR between two fields", "X: 1\rY: 2", /invalid byte in header value/]
  ]
  for (const [name, line, reason] of bad) {
    it(`refuses ${name}: ${show(line)}`, () => {
      expectError(get11(line), malformed(reason))
    })
  }

  it("refuses a control byte or DEL in a Host value as a bad value byte, other bytes outside RFC 3986's as an invalid Host", () => {
    expectError(head("GET / HTTP/1.1", "Host: a\0b"), malformed(/invalid byte in header value/))
    expectError(head("GET / HTTP/1.1", "host: a\x7fb"), malformed(/invalid byte in header value/))
    expectError(head("GET / HTTP/1.1", "Host: a b"), malformed(/invalid Host/))
    expectError(head("GET / HTTP/1.1", "Host: a\xe9"), malformed(/invalid Host/))
  })

  it("holds every Host byte to be a field-value byte (the parser checks a Host's bytes once)", () => {
    for (let b = 0; b < 256; b++) if (HOST[b] === 1) expect([b, FIELD_VALUE[b]]).toEqual([b, 1])
  })

  it("refuses obs-fold (RFC 9112 section 5.2)", () => {
    expectError(get11("X: a", " b"), malformed(/obsolete line folding/))
    expectError(get11("X: a", "\tb"), malformed(/obsolete line folding/))
    expectError(get11("Transfer-Encoding: chunked", " , gzip"), malformed(/obsolete line folding/))
  })

  it("refuses whitespace between the request line and the first field (RFC 9112 section 2.2)", () => {
    expectError(head("GET / HTTP/1.1", " Host: example.com"), malformed(/obsolete line folding/))
  })

  it("refuses a line of a bare CR and junk after the fields", () => {
    expectError("GET / HTTP/1.1\r\nHost: a\r\n\rZGET /evil: HTTP/1.1\r\nHost: a\r\n\r\n", malformed(/invalid header name/))
  })
})

// ---------------------------------------------------------------------------
// Line endings (RFC 9112 section 2.2)

describe("parseHead: line endings", () => {
  const strict: ParserLeniency = { bareLfInHead: false }
  const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
    ["bare LF everywhere", "GET / HTTP/1.1\nHost: a\nX: b\n\n", /request line not ended by CRLF/],
    ["bare LF after a field", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", /header line not ended by CRLF/],
    ["bare LF ending the last field", "GET / HTTP/1.1\r\nHost: a\r\nX: b\n\r\n", /header line not ended by CRLF/],
    ["a bare LF empty line", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\n", /not ended by CRLF/],
    ["bare LF after the request line only", "GET / HTTP/1.1\nHost: a\r\nX: b\r\n\r\n", /request line not ended by CRLF/]
  ]
  for (const [name, text, reason] of cases) {
    it(`${name}: accepted by default, refused with bareLfInHead: false`, () => {
      const parsed = parseHead(text)
      expect(parsed).toMatchObject({ method: "GET", target: "/", version: "HTTP/1.1", host: "a" })
      expect(parsed.rawHeaders).toEqual(["Host", "a", "X", "b"])
      expectError(text, malformed(reason), strict)
    })
  }

  it("accepts CRLF everywhere in strict mode", () => {
    expect(parseHead(get11("X: b"), strict).rawHeaders).toEqual(["Host", "example.com", "X", "b"])
  })

  it("refuses a text that is not a whole head (no LF, or no empty line)", () => {
    expectError("GET / HTTP/1.1", malformed(/not terminated/))
    expectError("GET / HTTP/1.0x", malformed(/not terminated/))
    expectError("GET / HTTP/1.1\r\nHost: a\r\n", malformed(/not terminated/))
    expectError("GET / HTTP/1.1\r\nHost: a", malformed(/not terminated/))
    expectError("", malformed(/not terminated/))
  })

  it("strips exactly one CR before each LF", () => {
    expectError("GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", malformed(/invalid byte in header value/))
  })
})

// ---------------------------------------------------------------------------
// Host (RFC 9112 section 3.2, RFC 9110 section 7.2)

describe("parseHead: Host", () => {
  const ok: ReadonlyArray<readonly [string, string, string | undefined]> = [
    ["a name", head("GET / HTTP/1.1", "Host: example.com"), "example.com"],
    ["a name and port", head("GET / HTTP/1.1", "Host: example.com:8080"), "example.com:8080"],
    ["an IPv4 address", head("GET / HTTP/1.1", "Host: 127.0.0.1:80"), "127.0.0.1:80"],
    ["an IPv6 literal", head("GET / HTTP/1.1", "Host: [::1]:8080"), "[::1]:8080"],
    ["pct-encoded and sub-delims", head("GET / HTTP/1.1", "Host: a%2Db!$&'()*+,;=~_.-"), "a%2Db!$&'()*+,;=~_.-"],
    ["an empty value", head("GET / HTTP/1.1", "Host:"), ""],
    ["any case of the name", head("GET / HTTP/1.1", "hOsT: example.com"), "example.com"],
    ["absolute-form with a Host", head("GET http://other/ HTTP/1.1", "Host: example.com"), "example.com"],
    ["HTTP/1.0 without a Host", head("GET / HTTP/1.0"), undefined],
    ["HTTP/1.0 with a Host", head("GET / HTTP/1.0", "Host: example.com"), "example.com"]
  ]
  for (const [name, text, host] of ok) {
    it(`accepts ${name}`, () => {
      expect(parseHead(text).host).toBe(host)
    })
  }

  const bad: ReadonlyArray<readonly [string, string, RegExp]> = [
    ["HTTP/1.1 without a Host", head("GET / HTTP/1.1"), /missing Host/],
    ["HTTP/1.1 with two Hosts", head("GET / HTTP/1.1", "Host: a", "Host: b"), /more than one Host/],
    ["HTTP/1.1 with two identical Hosts", head("GET / HTTP/1.1", "Host: a", "host: a"), /more than one Host/],
    ["HTTP/1.0 with two Hosts", head("GET / HTTP/1.0", "Host: a", "Host: b"), /more than one Host/],
    ["a space in the Host", head("GET / HTTP/1.1", "Host: a b"), /invalid Host/],
    ["a slash in the Host", head("GET / HTTP/1.1", "Host: a/b"), /invalid Host/],
    ["userinfo in the Host", head("GET / HTTP/1.1", "Host: user@a"), /invalid Host/],
    ["a quote in the Host", head("GET / HTTP/1.1", "Host: \"a\""), /invalid Host/],
    ["a question mark in the Host", head("GET / HTTP/1.1", "Host: a?b"), /invalid Host/],
    ["a hash in the Host", head("GET / HTTP/1.1", "Host: a#b"), /invalid Host/],
    ["angle brackets in the Host", head("GET / HTTP/1.1", "Host: <a>"), /invalid Host/],
    ["obs-text in the Host", head("GET / HTTP/1.1", "Host: caf\xe9"), /invalid Host/],
    ["a tab in the Host", head("GET / HTTP/1.1", "Host: a\tb"), /invalid Host/],
    ["an invalid Host on HTTP/1.0", head("GET / HTTP/1.0", "Host: a b"), /invalid Host/]
  ]
  for (const [name, text, reason] of bad) {
    it(`refuses ${name}`, () => {
      expectError(text, malformed(reason))
    })
  }
})

// ---------------------------------------------------------------------------
// Content-Length (RFC 9110 section 8.6, RFC 9112 section 6.3)

describe("parseHead: Content-Length", () => {
  const ok: ReadonlyArray<readonly [string, ReadonlyArray<string>, BodyFraming]> = [
    ["0 is no body", ["Content-Length: 0"], { _tag: "NoBody" }],
    ["a length", ["Content-Length: 5"], { _tag: "ContentLength", length: 5 }],
    ["leading zeros", ["Content-Length: 005"], { _tag: "ContentLength", length: 5 }],
    ["00 is no body", ["Content-Length: 00"], { _tag: "NoBody" }],
    ["surrounding whitespace", ["Content-Length: \t 5 \t"], { _tag: "ContentLength", length: 5 }],
    ["any case of the name", ["content-LENGTH: 7"], { _tag: "ContentLength", length: 7 }],
    ["a list of equal values", ["Content-Length: 5, 5"], { _tag: "ContentLength", length: 5 }],
    ["a list of equal values, no space", ["Content-Length: 5,5,5"], { _tag: "ContentLength", length: 5 }],
    ["equal values with leading zeros", ["Content-Length: 5, 05"], { _tag: "ContentLength", length: 5 }],
    ["two equal fields", ["Content-Length: 5", "Content-Length: 5"], { _tag: "ContentLength", length: 5 }],
    ["15 digits", ["Content-Length: 999999999999999"], { _tag: "ContentLength", length: 999999999999999 }],
    ["no Content-Length is no body", [], { _tag: "NoBody" }]
  ]
  for (const [name, fields, framing] of ok) {
    it(`accepts ${name}`, () => {
      expect(parseHead(head("POST / HTTP/1.1", "Host: a", ...fields)).framing).toEqual(framing)
    })
  }

  it("frames HTTP/1.0 bodies by Content-Length", () => {
    expect(parseHead(head("POST / HTTP/1.0", "Content-Length: 3")).framing).toEqual({ _tag: "ContentLength", length: 3 })
  })

  const bad: ReadonlyArray<readonly [string, ReadonlyArray<string>, RegExp]> = [
    ["a plus sign", ["Content-Length: +5"], /not a number/],
    ["a minus sign", ["Content-Length: -5"], /not a number/],
    ["a space inside", ["Content-Length: 1 2"], /not a number/],
    ["a tab inside", ["Content-Length: 1\t2"], /not a number/],
    ["hex", ["Content-Length: 0x5"], /not a number/],
    ["a trailing letter", ["Content-Length: 5a"], /not a number/],
    ["a decimal point", ["Content-Length: 5.0"], /not a number/],
    ["an exponent", ["Content-Length: 1e3"], /not a number/],
    ["obs-text digits", ["Content-Length: 5\xb2"], /not a number/],
    ["an empty value", ["Content-Length:"], /empty Content-Length/],
    ["a trailing comma", ["Content-Length: 5,"], /empty Content-Length/],
    ["a leading comma", ["Content-Length: ,5"], /empty Content-Length/],
    ["an empty list element", ["Content-Length: 5,,5"], /empty Content-Length/],
    ["a list of different values", ["Content-Length: 5, 6"], /conflicting Content-Length/],
    ["two conflicting fields", ["Content-Length: 5", "Content-Length: 6"], /conflicting Content-Length/],
    ["a zero and a length", ["Content-Length: 0", "Content-Length: 5"], /conflicting Content-Length/],
    ["16 digits", ["Content-Length: 1000000000000000"], /too large/],
    ["2^53 + 1", ["Content-Length: 9007199254740993"], /too large/],
    ["20 digits", ["Content-Length: 18446744073709551616"], /too large/],
    ["16 digits with leading zeros", ["Content-Length: 0000000000000005"], /too large/]
  ]
  for (const [name, fields, reason] of bad) {
    it(`refuses ${name}: ${show(fields.join(" | "))}`, () => {
      expectError(head("POST / HTTP/1.1", "Host: a", ...fields), malformed(reason))
    })
  }
})

// ---------------------------------------------------------------------------
// Transfer-Encoding (RFC 9112 sections 6.1, 6.3, 7)

describe("parseHead: Transfer-Encoding", () => {
  const chunked: ReadonlyArray<string> = ["chunked", "Chunked", "CHUNKED", "cHuNkEd", "  chunked\t"]
  for (const value of chunked) {
    it(`${show(value)} is chunked`, () => {
      expect(parseHead(head("POST / HTTP/1.1", "Host: a", `Transfer-Encoding: ${value}`)).framing).toEqual({
        _tag: "Chunked"
      })
    })
  }

  it("any case of the name", () => {
    expect(parseHead(head("POST / HTTP/1.1", "Host: a", "transfer-ENCODING: chunked")).framing._tag).toBe("Chunked")
  })

  const unsupported: ReadonlyArray<readonly [string, ReadonlyArray<string>, string]> = [
    ["gzip", ["Transfer-Encoding: gzip"], "gzip"],
    ["identity", ["Transfer-Encoding: identity"], "identity"],
    ["an unknown coding", ["Transfer-Encoding: pigeons"], "pigeons"],
    ["chunkedchunked", ["Transfer-Encoding: chunkedchunked"], "chunkedchunked"],
    ["gzip, chunked", ["Transfer-Encoding: gzip, chunked"], "gzip, chunked"],
    ["deflate then chunked in two fields", ["Transfer-Encoding: deflate", "Transfer-Encoding: chunked"], "deflate,chunked"]
  ]
  for (const [name, fields, value] of unsupported) {
    it(`${name} is not implemented (501)`, () => {
      const error = expectError(head("POST / HTTP/1.1", "Host: a", ...fields), { _tag: "UnsupportedTransferEncoding" })
      expect(error._tag === "UnsupportedTransferEncoding" && error.transferEncoding).toBe(value)
    })
  }

  const bad: ReadonlyArray<readonly [string, ReadonlyArray<string>, RegExp]> = [
    ["chunked, gzip", ["Transfer-Encoding: chunked, gzip"], /not the final/],
    ["chunked then gzip in two fields", ["Transfer-Encoding: chunked", "Transfer-Encoding: gzip"], /not the final/],
    ["chunked, chunked", ["Transfer-Encoding: chunked, chunked"], /chunked applied twice/],
    ["chunked in two fields", ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"], /chunked applied twice/],
    ["an empty value", ["Transfer-Encoding:"], /invalid Transfer-Encoding/],
    ["a trailing comma", ["Transfer-Encoding: chunked,"], /invalid Transfer-Encoding/],
    ["a leading comma", ["Transfer-Encoding: , chunked"], /invalid Transfer-Encoding/],
    ["a quoted coding", ["Transfer-Encoding: \"chunked\""], /invalid Transfer-Encoding/],
    ["a parameter on chunked", ["Transfer-Encoding: chunked;q=1"], /invalid Transfer-Encoding/],
    ["a space inside the coding", ["Transfer-Encoding: chun ked"], /invalid Transfer-Encoding/],
    // 0xA0 and 0x85 are obs-text, not whitespace: "chunked\xa0" is not "chunked".
    ["a no-break space after chunked", ["Transfer-Encoding: chunked\xa0"], /invalid Transfer-Encoding/],
    ["a no-break space before chunked", ["Transfer-Encoding: \xa0chunked"], /invalid Transfer-Encoding/],
    ["a NEL after chunked", ["Transfer-Encoding: chunked\x85"], /invalid Transfer-Encoding/],
    ["TE and CL", ["Transfer-Encoding: chunked", "Content-Length: 5"], /both Content-Length and Transfer-Encoding/],
    ["CL and TE", ["Content-Length: 5", "Transfer-Encoding: chunked"], /both Content-Length and Transfer-Encoding/],
    ["CL 0 and TE", ["Content-Length: 0", "Transfer-Encoding: chunked"], /both Content-Length and Transfer-Encoding/],
    ["TE gzip and CL", ["Transfer-Encoding: gzip", "Content-Length: 5"], /both Content-Length and Transfer-Encoding/],
    ["an empty TE and CL", ["Transfer-Encoding:", "Content-Length: 5"], /both Content-Length and Transfer-Encoding/]
  ]
  for (const [name, fields, reason] of bad) {
    it(`refuses ${name}: ${show(fields.join(" | "))}`, () => {
      expectError(head("POST / HTTP/1.1", "Host: a", ...fields), malformed(reason))
    })
  }

  it("refuses Transfer-Encoding on HTTP/1.0 (RFC 9112 section 6.1)", () => {
    expectError(head("POST / HTTP/1.0", "Transfer-Encoding: chunked"), malformed(/HTTP\/1\.0/))
    expectError(head("POST / HTTP/1.0", "Transfer-Encoding: gzip"), malformed(/HTTP\/1\.0/))
  })
})

// ---------------------------------------------------------------------------
// Connection and Expect (RFC 9112 section 9.3, RFC 9110 section 10.1.1)

describe("parseHead: keep-alive", () => {
  const cases: ReadonlyArray<readonly [string, "HTTP/1.0" | "HTTP/1.1", ReadonlyArray<string>, boolean]> = [
    ["HTTP/1.1 persists by default", "HTTP/1.1", [], true],
    ["HTTP/1.1 close", "HTTP/1.1", ["Connection: close"], false],
    ["HTTP/1.1 Close", "HTTP/1.1", ["Connection: Close"], false],
    ["HTTP/1.1 CLOSE with spaces", "HTTP/1.1", ["Connection:   CLOSE  "], false],
    ["HTTP/1.1 keep-alive", "HTTP/1.1", ["Connection: keep-alive"], true],
    ["HTTP/1.1 Upgrade, close", "HTTP/1.1", ["Connection: Upgrade, close"], false],
    ["HTTP/1.1 close,Upgrade", "HTTP/1.1", ["Connection: close,Upgrade"], false],
    ["HTTP/1.1 close in a second field", "HTTP/1.1", ["Connection: Upgrade", "Connection: close"], false],
    ["HTTP/1.1 keep-alive, close", "HTTP/1.1", ["Connection: keep-alive, close"], false],
    ["HTTP/1.1 closed is not close", "HTTP/1.1", ["Connection: closed"], true],
    ["HTTP/1.1 close-ish tokens", "HTTP/1.1", ["Connection: x-close, close-x"], true],
    ["HTTP/1.1 close followed by a no-break space is not close", "HTTP/1.1", ["Connection: close\xa0"], true],
    ["HTTP/1.0 closes by default", "HTTP/1.0", [], false],
    ["HTTP/1.0 keep-alive", "HTTP/1.0", ["Connection: keep-alive"], true],
    ["HTTP/1.0 Keep-Alive", "HTTP/1.0", ["Connection: Keep-Alive"], true],
    ["HTTP/1.0 keep-alive in a list", "HTTP/1.0", ["Connection: Upgrade, keep-alive"], true],
    ["HTTP/1.0 keep-alive, close", "HTTP/1.0", ["Connection: keep-alive, close"], false],
    ["HTTP/1.0 keep-alive and close in two fields", "HTTP/1.0", ["Connection: keep-alive", "Connection: close"], false],
    ["HTTP/1.0 Upgrade only", "HTTP/1.0", ["Connection: Upgrade"], false],
    ["HTTP/1.0 a Keep-Alive field alone", "HTTP/1.0", ["Keep-Alive: timeout=5"], false]
  ]
  for (const [name, version, fields, keepAlive] of cases) {
    it(name, () => {
      expect(parseHead(head(`GET / ${version}`, "Host: a", ...fields)).keepAlive).toBe(keepAlive)
    })
  }
})

describe("parseHead: Expect", () => {
  const cases: ReadonlyArray<readonly [string, "HTTP/1.0" | "HTTP/1.1", ReadonlyArray<string>, boolean]> = [
    ["absent", "HTTP/1.1", [], false],
    ["100-continue", "HTTP/1.1", ["Expect: 100-continue"], true],
    ["100-Continue", "HTTP/1.1", ["Expect: 100-Continue"], true],
    ["any case of the name", "HTTP/1.1", ["EXPECT: 100-CONTINUE"], true],
    ["padded", "HTTP/1.1", ["Expect:  100-continue \t"], true],
    ["another expectation", "HTTP/1.1", ["Expect: 200-ok"], false],
    ["100-continues", "HTTP/1.1", ["Expect: 100-continues"], false],
    ["empty", "HTTP/1.1", ["Expect:"], false],
    ["on HTTP/1.0", "HTTP/1.0", ["Expect: 100-continue"], false]
  ]
  for (const [name, version, fields, expectContinue] of cases) {
    it(name, () => {
      expect(parseHead(head(`POST / ${version}`, "Host: a", "Content-Length: 1", ...fields)).expectContinue).toBe(
        expectContinue
      )
    })
  }
})

describe("parseHead: Upgrade (RFC 9110 section 7.8)", () => {
  const cases: ReadonlyArray<readonly [string, "HTTP/1.0" | "HTTP/1.1", ReadonlyArray<string>, string | undefined]> = [
    ["absent", "HTTP/1.1", [], undefined],
    ["websocket", "HTTP/1.1", ["Upgrade: websocket", "Connection: Upgrade"], "websocket"],
    ["upgrade among other options", "HTTP/1.1", ["Connection: keep-alive, upgrade", "Upgrade: h2c"], "h2c"],
    ["Connection on two lines", "HTTP/1.1", ["Connection: keep-alive", "Connection: Upgrade", "Upgrade: x"], "x"],
    ["several Upgrade lines joined", "HTTP/1.1", ["Upgrade: a", "Upgrade: b", "Connection: upgrade"], "a, b"],
    ["Upgrade without the connection option", "HTTP/1.1", ["Upgrade: websocket"], undefined],
    ["the connection option without Upgrade", "HTTP/1.1", ["Connection: upgrade"], undefined],
    ["on HTTP/1.0", "HTTP/1.0", ["Upgrade: websocket", "Connection: upgrade"], undefined]
  ]
  for (const [name, version, fields, upgrade] of cases) {
    it(name, () => {
      expect(parseHead(head(`GET / ${version}`, "Host: a", ...fields)).upgrade).toBe(upgrade)
    })
  }
})

// ---------------------------------------------------------------------------
// findHeadEnd, resumeScanAt, skipLeadingEmptyLines

describe("findHeadEnd", () => {
  const whole: ReadonlyArray<readonly [string, string, number]> = [
    ["CRLF CRLF", "GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY", 27],
    ["LF LF", "GET / HTTP/1.1\nHost: a\n\nBODY", 24],
    ["LF CRLF", "GET / HTTP/1.1\nHost: a\n\r\nBODY", 25],
    ["CRLF LF", "GET / HTTP/1.1\r\nHost: a\r\n\nBODY", 26],
    ["a request line alone", "GET / HTTP/1.0\r\n\r\n", 18],
    ["the first empty line only", "A\r\n\r\nB\r\n\r\n", 5],
    ["an empty line at the very start", "\r\n\r\nX", 4],
    ["incomplete: no empty line", "GET / HTTP/1.1\r\nHost: a\r\n", -1],
    ["incomplete: CRLF CR", "GET / HTTP/1.1\r\nHost: a\r\n\r", -1],
    ["incomplete: no LF at all", "GET / HTTP/1.1", -1],
    ["CR CR is not an empty line", "A\r\r\n\r\r\nB", -1],
    ["CR LF CR CR LF is not an empty line", "A\r\n\r\r\nB", -1],
    ["empty", "", -1]
  ]
  for (const [name, input, expected] of whole) {
    it(`${name}: ${show(input)}`, () => {
      const b = bytes(input)
      expect(findHeadEnd(b, 0, b.length)).toBe(expected)
    })
  }

  it("looks only at [from, end)", () => {
    const b = bytes("A\r\n\r\nB\n\nC")
    expect(findHeadEnd(b, 0, 4)).toBe(-1)
    expect(findHeadEnd(b, 0, 5)).toBe(5)
    expect(findHeadEnd(b, 3, b.length)).toBe(8)
    expect(findHeadEnd(b, 5, 7)).toBe(-1)
    expect(findHeadEnd(b, 5, 8)).toBe(8)
  })

  it("ignores bytes past end, even in a larger buffer", () => {
    const b = bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    for (let end = 0; end < b.length; end++) expect(findHeadEnd(b, 0, end)).toBe(-1)
    expect(findHeadEnd(b, 0, b.length)).toBe(b.length)
  })

  /** Scans `b` as if it arrived cut at `cuts`, resuming like `HttpConnection.nextRequest`. */
  const incremental = (b: Uint8Array, cuts: ReadonlyArray<number>): number => {
    let scanFrom = 0
    for (const end of [...cuts.filter((c) => c > 0 && c < b.length), b.length]) {
      const found = findHeadEnd(b, scanFrom, end)
      if (found !== -1) return found
      scanFrom = resumeScanAt(0, end)
    }
    return -1
  }

  const terminators = ["\r\n\r\n", "\n\n", "\n\r\n", "\r\n\n"]
  for (const t of terminators) {
    it(`finds ${show(t)} split at every point, and read a byte at a time`, () => {
      const b = bytes(`GET / HTTP/1.1\r\nHost: a\r\nX: y${t}rest`)
      const expected = findHeadEnd(b, 0, b.length)
      expect(expected).toBe(b.length - 4)
      for (let cut = 1; cut < b.length; cut++) expect(incremental(b, [cut])).toBe(expected)
      for (let a = 20; a < b.length; a++) {
        for (let c = a + 1; c < b.length; c++) expect(incremental(b, [a, c])).toBe(expected)
      }
      expect(incremental(b, Array.from({ length: b.length }, (_, i) => i))).toBe(expected)
    })
  }

  it("resumeScanAt never goes back before the head start, nor more than 3 bytes", () => {
    expect(resumeScanAt(0, 10)).toBe(7)
    expect(resumeScanAt(8, 10)).toBe(8)
    expect(resumeScanAt(5, 5)).toBe(5)
  })
})

describe("skipLeadingEmptyLines", () => {
  const cases: ReadonlyArray<readonly [string, string, number]> = [
    ["nothing to skip", "GET / HTTP/1.1", 0],
    ["one CRLF", "\r\nGET", 2],
    ["several CRLFs", "\r\n\r\n\r\nGET", 6],
    ["bare LFs", "\n\nGET", 2],
    ["mixed", "\r\n\n\r\nGET", 5],
    ["only empty lines", "\r\n\r\n", 4],
    ["empty", "", 0]
  ]
  for (const [name, input, expected] of cases) {
    it(`${name}: ${show(input)}`, () => {
      const b = bytes(input)
      expect(skipLeadingEmptyLines(b, 0, b.length)).toBe(expected)
    })
  }

  it("stays within [start, end)", () => {
    const b = bytes("GET\r\n\r\nPOST")
    expect(skipLeadingEmptyLines(b, 3, 5)).toBe(5)
    expect(skipLeadingEmptyLines(b, 3, b.length)).toBe(7)
    expect(skipLeadingEmptyLines(b, 0, 0)).toBe(0)
  })
})

// ---------------------------------------------------------------------------
// Properties

const int = (minimum: number, maximum: number) =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

const oneOf = <A>(items: ReadonlyArray<A>): Arbitrary.Arbitrary<A> =>
  int(0, items.length - 1).pipe(Arbitrary.map((i) => items[i]!))

const range = (from: number, to: number): string => {
  let s = ""
  for (let b = from; b <= to; b++) s += String.fromCharCode(b)
  return s
}

const stringOf = (alphabet: string, minLength: number, maxLength: number) =>
  Arbitrary.array(oneOf([...alphabet]), { minLength, maxLength }).pipe(Arbitrary.map((cs) => cs.join("")))

const TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
/** Visible ASCII and obs-text but `#`: what a request-target may hold after its first byte. */
const TARGET_CHARS = [...range(0x21, 0x7e) + range(0x80, 0xff)].filter((c) => c !== "#").join("")
/** field-vchar (RFC 9110 section 5.5). */
const VCHAR = range(0x21, 0x7e) + range(0x80, 0xff)
const HOST_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-._~%!$&'()*+,;=:[]"
const SPECIAL = new Set(["host", "content-length", "transfer-encoding", "connection", "expect"])

/** A field value: field-vchar at both ends, spaces and tabs allowed inside. */
const fieldValue = stringOf(VCHAR + "  \t", 0, 12).pipe(Arbitrary.map((s) => s.replace(/^[ \t]+|[ \t]+$/g, "")))
const ows = stringOf(" \t", 0, 2)

const fieldArb = Arbitrary.all({
  name: stringOf(TCHAR, 1, 10).pipe(Arbitrary.filter((n) => !SPECIAL.has(n.toLowerCase()))),
  value: fieldValue,
  before: ows,
  after: ows
})

const requestArb = Arbitrary.all({
  method: stringOf(TCHAR, 1, 8).pipe(Arbitrary.filter((m) => m !== "CONNECT")),
  targetPrefix: oneOf(["/", "/", "/", "http://example.com/", "https://a.b:8443/"]),
  path: stringOf(TARGET_CHARS, 0, 16),
  http11: oneOf([true, true, false]),
  host: stringOf(HOST_CHARS, 0, 12),
  hostOn10: oneOf([false, true]),
  fields: Arbitrary.array(fieldArb, { maxLength: 5 }),
  framing: oneOf(["none", "length", "chunked", "length0"] as const),
  body: Arbitrary.array(int(0, 255), { maxLength: 40 }),
  chunkSizes: Arbitrary.array(int(1, 12), { maxLength: 4 }),
  connection: oneOf([undefined, undefined, "close", "keep-alive", "Upgrade, close"] as const),
  /** Where the special fields go among the others, and which lines end in a bare LF. */
  positions: Arbitrary.array(int(0, 8), { minLength: 4, maxLength: 4 }),
  bareLf: Arbitrary.array(oneOf([false, false, false, true]), { minLength: 12, maxLength: 12 })
})

type RequestModel = typeof requestArb extends Arbitrary.Arbitrary<infer A> ? A : never

interface Serialized {
  readonly wire: string
  /** Some line of the head ends in a bare LF. */
  readonly bareLf: boolean
  readonly expected: RequestHead & { readonly body: string }
}

const serialize = (m: RequestModel): Serialized => {
  const version = m.http11 ? "HTTP/1.1" : "HTTP/1.0"
  const framing = !m.http11 && m.framing === "chunked" ? "length" : m.framing
  const body = new Uint8Array(m.body)
  const lines: Array<[string, string, string]> = m.fields.map((f) => [f.name, f.value, `${f.name}:${f.before}${f.value}${f.after}`])
  const insert = (k: number, name: string, value: string) => {
    const at = Math.min(m.positions[k] ?? 0, lines.length)
    lines.splice(at, 0, [name, value, `${name}: ${value}`])
  }
  let host: string | undefined
  if (m.http11 || m.hostOn10) {
    host = m.host
    insert(0, "Host", m.host)
  }
  if (framing === "length") insert(1, "Content-Length", String(body.length))
  if (framing === "length0") insert(1, "content-length", "0")
  if (framing === "chunked") insert(1, "Transfer-Encoding", "chunked")
  if (m.connection !== undefined) insert(2, "Connection", m.connection)
  const target = m.targetPrefix + m.path
  const all = [`${m.method} ${target} ${version}`, ...lines.map((l) => l[2]), ""]
  const bareLf = all.map((_, i) => m.bareLf[i % m.bareLf.length] === true)
  const wire = all.map((l, i) => l + (bareLf[i] ? "\n" : "\r\n")).join("")
  const bodyText = framing === "length" ? text(body) : framing === "chunked" ? encodeChunked(body, { sizes: m.chunkSizes }) : ""
  const lower = (m.connection ?? "").toLowerCase()
  const keepAlive = m.http11 ? !lower.split(",").some((t) => t.trim() === "close") : lower === "keep-alive"
  return {
    wire: wire + bodyText,
    bareLf: bareLf.includes(true),
    expected: {
      method: m.method,
      target,
      version,
      rawHeaders: lines.flatMap((l) => [l[0], l[1]]),
      framing: framing === "length" && body.length > 0
        ? { _tag: "ContentLength", length: body.length }
        : framing === "chunked"
        ? { _tag: "Chunked" }
        : { _tag: "NoBody" },
      keepAlive,
      expectContinue: false,
      host,
      upgrade: undefined,
      body: framing === "none" || framing === "length0" ? "" : text(body)
    }
  }
}

/** Cut points given as fractions of the length, so that they fit any input. */
const cutsArb = Arbitrary.array(int(0, 10_000), { maxLength: 8 })
const toCuts = (fractions: ReadonlyArray<number>, length: number) => fractions.map((f) => Math.floor((f * length) / 10_001))

describe("properties", () => {
  it.prop(
    "valid requests, pipelined and cut anywhere, parse to what was sent",
    { requests: Arbitrary.array(requestArb, { minLength: 1, maxLength: 3 }), cuts: cutsArb },
    ({ requests, cuts }) => {
      const serialized = requests.map(serialize)
      const wire = bytes(serialized.map((s) => s.wire).join(""))
      const expected = { requests: serialized.map((s) => s.expected), error: undefined, pending: false }
      expect(summarize(drive([wire]))).toEqual(expected)
      expect(summarize(drive(splitAt(wire, toCuts(cuts, wire.length))))).toEqual(expected)
      // Without bare LFs, strict parsing reads the same.
      if (!serialized.some((s) => s.bareLf)) {
        expect(summarize(drive([wire], { leniency: { bareLfInHead: false } })), "strict").toEqual(expected)
      }
    },
    { arbitrary: { runs: 300, size: 20 } }
  )

  it.prop(
    "valid requests read a byte at a time parse to what was sent",
    { request: requestArb },
    ({ request }) => {
      const s = serialize(request)
      expect(summarize(drive(byteByByte(bytes(s.wire))))).toEqual({ requests: [s.expected], error: undefined, pending: false })
    },
    { arbitrary: { runs: 100, size: 20 } }
  )

  /** Bytes biased toward the ones the grammar turns on. */
  const interesting = oneOf([0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x2c, 0x3b, 0x00, 0x7f, 0xa0, 0x85, 0x30, 0x61])
  const anyByte = Arbitrary.schema(Schema.Union([
    Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 255 })),
    Schema.Literals([0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x2c, 0x3b, 0x00, 0x7f, 0xa0])
  ]))

  it.prop(
    "random bytes: findHeadEnd stays in range; parseHead throws only our tagged errors",
    {
      data: Arbitrary.array(anyByte, { maxLength: 64 }),
      prefix: oneOf(["", "GET / HTTP/1.1\r\n", "POST / HTTP/1.1\r\nHost: a\r\n"])
    },
    ({ data, prefix }) => {
      const b = new Uint8Array([...bytes(prefix), ...data])
      const endAt = findHeadEnd(b, 0, b.length)
      expect(endAt === -1 || (endAt > 0 && endAt <= b.length)).toBe(true)
      for (const leniency of [{ bareLfInHead: true }, { bareLfInHead: false }]) {
        try {
          parseHead(text(b), leniency)
        } catch (error) {
          if (!isHttpError(error)) throw error
        }
      }
    },
    { arbitrary: { runs: 500, size: 40 } }
  )

  /** Replace, insert or delete one byte: an interesting one or any. */
  const mutationArb = Arbitrary.all({
    at: int(0, 10_000),
    op: oneOf(["replace", "insert", "delete"] as const),
    byte: oneOf([0, 1]),
    b1: interesting,
    b2: int(0, 255)
  })

  it.prop(
    "mutated requests: only tagged errors, and the same outcome however the bytes are cut",
    {
      requests: Arbitrary.array(requestArb, { minLength: 1, maxLength: 2 }),
      mutations: Arbitrary.array(mutationArb, { minLength: 1, maxLength: 3 }),
      cuts: cutsArb
    },
    ({ requests, mutations, cuts }) => {
      const wire = [...bytes(requests.map((r) => serialize(r).wire).join(""))]
      for (const m of mutations) {
        const at = Math.floor((m.at * wire.length) / 10_001)
        const b = m.byte === 0 ? m.b1 : m.b2
        if (m.op === "replace") wire[at] = b
        else if (m.op === "insert") wire.splice(at, 0, b)
        else wire.splice(at, 1)
      }
      const data = new Uint8Array(wire)
      const whole = summarize(drive([data]))
      expect(summarize(drive(splitAt(data, toCuts(cuts, data.length))))).toEqual(whole)
      expect(summarize(drive(byteByByte(data)))).toEqual(whole)
    },
    { arbitrary: { runs: 500, size: 20 } }
  )
})
