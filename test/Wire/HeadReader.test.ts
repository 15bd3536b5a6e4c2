/**
 * The two pure components the connection reads requests with: `HeadReader`
 * (the next head off the input) and `BodyFramer` (where a body ends). Their
 * results across many ways of cutting the bytes are the corpus's and the
 * fuzzer's business (`corpus/driver.ts`, `fuzz/driver.ts`); here, the
 * contract each gives its caller.
 */
import { describe, expect, it } from "@effect/vitest"
import { BodyFramer } from "../../src/Wire/BodyFramer.ts"
import { defaultLeniency, resumeScanAt } from "../../src/Wire/HeadParser.ts"
import { HeadReader } from "../../src/Wire/HeadReader.ts"
import { type HttpError, isHttpError } from "../../src/Wire/HttpErrors.ts"

const GET = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
const latin1 = (s: string) => Buffer.from(s, "latin1")

/** What `read` threw, when it is one of ours. */
const thrownBy = (f: () => unknown): HttpError | undefined => {
  try {
    f()
  } catch (error) {
    if (isHttpError(error)) return error
    throw error
  }
  return undefined
}

describe("HeadReader", () => {
  it("reads a whole head and says where it ends", () => {
    const input = latin1(GET + "rest")
    const reader = new HeadReader(65536, defaultLeniency)
    const head = reader.read(input, 0, input.length, 0)
    expect(head?.method).toBe("GET")
    expect([reader.start, reader.headEnd, reader.scanFrom, reader.started]).toEqual([0, GET.length, GET.length, false])
  })

  it("reads pipelined heads one after the other, each its own, whatever their lengths and methods", () => {
    const heads = [
      "GET /a HTTP/1.1\r\nHost: one.example\r\n\r\n",
      "POST /upload?x=1 HTTP/1.1\r\nHost: two.example\r\nContent-Length: 0\r\nX-Long: " + "v".repeat(300) + "\r\n\r\n",
      "\r\nHEAD / HTTP/1.0\r\n\r\n",
      "DELETE /d HTTP/1.1\r\nhost: three\r\n\r\n"
    ]
    const input = latin1(heads.join(""))
    const reader = new HeadReader(65536, defaultLeniency)
    const read: Array<unknown> = []
    let start = 0
    for (let i = 0; i < heads.length; i++) {
      const head = reader.read(input, start, input.length, start)
      read.push([head?.method, head?.target, head?.version, head?.host, head?.rawHeaders.length])
      start = reader.headEnd
    }
    expect(read).toEqual([
      ["GET", "/a", "HTTP/1.1", "one.example", 2],
      ["POST", "/upload?x=1", "HTTP/1.1", "two.example", 6],
      ["HEAD", "/", "HTTP/1.0", undefined, 0],
      ["DELETE", "/d", "HTTP/1.1", "three", 2]
    ])
    expect(start).toBe(input.length)
  })

  it("a pipelined head that is malformed fails on its own, after the heads before it were read", () => {
    const input = latin1(GET + "GET /x HTTP/1.1\r\nBad Name: 1\r\n\r\n" + GET)
    const reader = new HeadReader(65536, defaultLeniency)
    expect(reader.read(input, 0, input.length, 0)?.target).toBe("/")
    const error = thrownBy(() => reader.read(input, reader.headEnd, input.length, reader.headEnd))
    expect(error?._tag).toBe("MalformedRequest")
  })

  it("new input at the same offsets is read anew (another buffer, other bytes)", () => {
    const reader = new HeadReader(65536, defaultLeniency)
    const first = latin1("GET /first HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n")
    const second = latin1("GET /other HTTP/1.1\r\nHost: b\r\n\r\nGET /again HTTP/1.1\r\nHost: b\r\n\r\n")
    expect(reader.read(first, 0, first.length, 0)?.target).toBe("/first")
    expect(reader.read(second, 0, second.length, 0)?.target).toBe("/other")
    expect(reader.read(second, reader.headEnd, second.length, reader.headEnd)?.target).toBe("/again")
    // And the same buffer's bytes beyond what was read before (a head and a large body after it).
    const large = latin1("POST /big HTTP/1.1\r\nHost: c\r\nContent-Length: 5000\r\n\r\n" + "z".repeat(5000) + GET)
    const post = reader.read(large, 0, large.length, 0)
    expect([post?.method, post?.target]).toEqual(["POST", "/big"])
    const after = reader.headEnd + 5000
    expect(reader.read(large, after, large.length, after)?.host).toBe("a")
  })

  it("consumes empty lines before a head (RFC 9112 section 2.2) without starting one", () => {
    const input = latin1("\r\n\n\r\n")
    const reader = new HeadReader(65536, defaultLeniency)
    expect(reader.read(input, 0, input.length, 0)).toBeUndefined()
    expect([reader.start, reader.scanFrom, reader.started]).toEqual([input.length, input.length, false])
  })

  it("resumes the scan where it left off, also for an empty line cut in two", () => {
    const input = latin1("\r\n" + GET)
    const cut = input.length - 1
    const reader = new HeadReader(65536, defaultLeniency)
    expect(reader.read(input, 0, cut, 0)).toBeUndefined()
    expect([reader.start, reader.scanFrom, reader.started]).toEqual([2, resumeScanAt(2, cut), true])
    const head = reader.read(input, reader.start, input.length, reader.scanFrom)
    expect([head?.target, reader.headEnd]).toEqual(["/", input.length])
  })

  it("refuses a head over maxHeaderSize, whole or not yet, and takes one of exactly that size", () => {
    const input = latin1(GET)
    const exact = new HeadReader(GET.length, defaultLeniency)
    expect(exact.read(input, 0, input.length, 0)?.method).toBe("GET")
    const small = new HeadReader(GET.length - 1, defaultLeniency)
    expect(thrownBy(() => small.read(input, 0, input.length, 0))?._tag).toBe("HeaderTooLarge")
    expect(thrownBy(() => small.read(input, 0, input.length - 2, 0))).toBeUndefined()
    expect(thrownBy(() => new HeadReader(8, defaultLeniency).read(input, 0, 9, 0))?._tag).toBe("HeaderTooLarge")
  })

  it("does not count the empty lines before a head against the limit", () => {
    const input = latin1("\r\n".repeat(50) + GET)
    const reader = new HeadReader(GET.length, defaultLeniency)
    expect(reader.read(input, 0, input.length, 0)?.method).toBe("GET")
  })

  it("skips only empty lines before a head: a bare CR there is a stray byte, refused at once (RFC 9112 section 2.2)", () => {
    for (const stray of ["\r\r\n", "\rGET", " GET", "\0", "\r\n\r "]) {
      const input = latin1(stray + GET)
      expect(thrownBy(() => new HeadReader(65536, defaultLeniency).read(input, 0, stray.length, 0))?._tag, stray).toBe(
        "MalformedRequest"
      )
    }
  })

  it("waits on a CR that ends the input: it may be half of an empty line", () => {
    const input = latin1("\r\n\r" + "\n" + GET)
    const reader = new HeadReader(65536, defaultLeniency)
    expect(reader.read(input, 0, 3, 0)).toBeUndefined()
    expect(reader.start).toBe(2)
    expect(reader.read(input, reader.start, input.length, reader.scanFrom)?.method).toBe("GET")
  })

  it("skips a bare LF before a head with or without the bare-LF leniency (it belongs to no message)", () => {
    const input = latin1("\n\r\n\n" + GET)
    expect(new HeadReader(65536, defaultLeniency).read(input, 0, input.length, 0)?.method).toBe("GET")
    expect(new HeadReader(65536, { bareLfInHead: false }).read(input, 0, input.length, 0)?.method).toBe("GET")
  })

  it("refuses with the limit the bytes passed first, however they were cut", () => {
    // a 50-byte request line in a 100-byte head: the line limit (40) is passed before the head limit (96)
    const text = `GET /${"a".repeat(37)} HTTP/1.1\r\nHost: a\r\nX: ${"b".repeat(35)}\r\n\r\n`
    const input = latin1(text)
    for (const end of [45, 60, 97, input.length]) {
      const reader = new HeadReader(96, defaultLeniency, 40)
      expect(thrownBy(() => reader.read(input, 0, end, 0))?._tag, `cut at ${end}`).toBe("TargetTooLong")
    }
    // a short line in a head over the limit: 431, whole or not
    const long = latin1(`${GET.slice(0, -2)}X: ${"b".repeat(100)}\r\n\r\n`)
    for (const end of [97, long.length]) {
      expect(thrownBy(() => new HeadReader(96, defaultLeniency, 40).read(long, 0, end, 0))?._tag).toBe("HeaderTooLarge")
    }
  })

  describe("maxRequestLineSize (RFC 9112 section 3)", () => {
    const line = (method: string, target: string) => `${method} ${target} HTTP/1.1`
    const LIMIT = 32
    const reader = () => new HeadReader(65536, defaultLeniency, LIMIT)
    const read = (text: string, end = text.length) => {
      const input = latin1(text)
      return thrownBy(() => reader().read(input, 0, end, 0))
    }

    it("takes a request line of exactly the limit, CRLF not counted, and a long header after it", () => {
      const exact = line("GET", "/" + "a".repeat(LIMIT - 14))
      expect(exact.length).toBe(LIMIT)
      const input = latin1(`${exact}\r\nHost: a\r\nX: ${"b".repeat(200)}\r\n\r\n`)
      expect(reader().read(input, 0, input.length, 0)?.target.length).toBe(LIMIT - 13)
      // unfinished: the line ended within the limit, so the header may go on
      expect(read(`${exact}\r\nX: ${"b".repeat(200)}`)).toBeUndefined()
    })

    it("answers a target past it with TargetTooLong (414), a method past it with MethodTooLong (501)", () => {
      const target = line("GET", "/" + "a".repeat(LIMIT - 13))
      expect(read(`${target}\r\nHost: a\r\n\r\n`)?._tag).toBe("TargetTooLong")
      expect(read(`${"G".repeat(LIMIT + 1)} / HTTP/1.1\r\nHost: a\r\n\r\n`)?._tag).toBe("MethodTooLong")
    })

    it("decides as soon as the line passes the limit, before it ends", () => {
      expect(read("G".repeat(LIMIT))).toBeUndefined()
      expect(read("G".repeat(LIMIT + 1))?._tag).toBe("MethodTooLong")
      expect(read("GET /" + "a".repeat(LIMIT))?._tag).toBe("TargetTooLong")
      expect(read("GET /" + "a".repeat(LIMIT - 5))).toBeUndefined()
    })

    it("defaults to 8 KiB", () => {
      expect(new HeadReader(65536, defaultLeniency).maxRequestLineSize).toBe(8192)
      const input = latin1(`${"G".repeat(9000)} / HTTP/1.1\r\nHost: a\r\n\r\n`)
      expect(thrownBy(() => new HeadReader(65536, defaultLeniency).read(input, 0, input.length, 0))?._tag).toBe(
        "MethodTooLong"
      )
    })
  })

  it("throws what parseHead throws, with the leniency it was given", () => {
    const bareLf = latin1("GET / HTTP/1.1\nHost: a\n\n")
    expect(new HeadReader(65536, defaultLeniency).read(bareLf, 0, bareLf.length, 0)?.host).toBe("a")
    const strict = new HeadReader(65536, { bareLfInHead: false })
    expect(thrownBy(() => strict.read(bareLf, 0, bareLf.length, 0))?._tag).toBe("MalformedRequest")
  })
})

/** Feeds `wire` to a framer in pieces of `step` bytes; the body, and where it ended (-1: not done). */
const frame = (framer: BodyFramer, wire: Buffer, step: number): { body: string; end: number } => {
  let body = ""
  for (let at = 0; at < wire.length;) {
    const stop = framer.feed(wire, at, Math.min(wire.length, at + step), (data) => {
      expect(data.byteLength).toBeGreaterThan(0)
      expect(data.buffer).toBe(wire.buffer)
      body += Buffer.from(data).toString("latin1")
    })
    if (framer.done) return { body, end: stop }
    at = stop
  }
  return { body, end: -1 }
}

describe("BodyFramer", () => {
  it("counts off a Content-Length body (RFC 9112 section 6.2) and stops at its end", () => {
    const wire = latin1("hello world" + GET)
    for (const step of [1, 4, wire.length]) {
      expect(frame(new BodyFramer({ _tag: "ContentLength", length: 11 }), wire, step)).toEqual({ body: "hello world", end: 11 })
    }
  })

  it("decodes a chunked body (RFC 9112 section 7.1) up to its final CRLF", () => {
    const wire = latin1("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n" + GET)
    for (const step of [1, 7, wire.length]) {
      expect(frame(new BodyFramer({ _tag: "Chunked" }), wire, step)).toEqual({ body: "hello world", end: wire.length - GET.length })
    }
  })

  it("is done at once without a body, and a done framer takes nothing", () => {
    const wire = latin1(GET)
    const none = new BodyFramer({ _tag: "NoBody" })
    expect(none.done).toBe(true)
    const length = new BodyFramer({ _tag: "ContentLength", length: 2 })
    frame(length, wire, wire.length)
    for (const framer of [none, length]) {
      expect(framer.feed(wire, 5, wire.length, () => expect.unreachable())).toBe(5)
    }
  })

  it("throws MalformedRequest on bad chunked framing", () => {
    const wire = latin1("5\r\nhello\n")
    expect(thrownBy(() => frame(new BodyFramer({ _tag: "Chunked" }), wire, wire.length))?._tag).toBe("MalformedRequest")
  })
})
