import { describe, expect, it } from "@effect/vitest"
import { Stream } from "effect"
import { InvalidResponseHeader } from "../../src/Wire/HttpErrors.ts"
import { framingOf, type ResponseFraming } from "../../src/Wire/ResponseFraming.ts"
import {
  type ConnectionField,
  serializeResponse,
  serializeStreamHead,
  serializeSwitchHead,
  ZERO_COPY_MIN_BYTES
} from "../../src/Wire/ResponseSerializer.ts"
import * as Response from "../../src/Response/Response.ts"

/** Serializes and joins the pieces written, as the socket would see them. */
const bytesOf = (response: Response.Response, isHead = false, connection: ConnectionField = "none") => {
  const pieces: Array<Uint8Array> = []
  serializeResponse(response, framingOf(response.status, true, isHead, true), connection, (data) => pieces.push(data))
  return { text: Buffer.concat(pieces).toString("latin1"), pieces: pieces.length }
}

/** The bytes with the Date line blanked out (it changes every second). */
const withoutDate = (text: string) => text.replace(/\r\nDate: [^\r]*\r\n/, "\r\nDate: -\r\n")

describe("serializeResponse", () => {
  it("status line, handler headers, Date, Content-Length, then the body", () => {
    const { text } = bytesOf(Response.text("Hello world", { headers: { "X-A": "1" } }))
    expect(withoutDate(text)).toBe(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nX-A: 1\r\nDate: -\r\nContent-Length: 11\r\n\r\nHello world"
    )
    expect(text).toMatch(/\r\nDate: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n/)
  })

  it("the framing fields a handler sets are ignored; its Date is kept", () => {
    const response = Response.text("abc", {
      headers: { "Content-Length": "99", "Transfer-Encoding": "chunked", Connection: "upgrade", Date: "yesterday" }
    })
    const { text } = bytesOf(response, false, "close")
    expect(text).toBe(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: yesterday\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
    )
  })

  it("a response object served again and again gives the same bytes each time (the prepared path)", () => {
    const constant = Response.text("é and more", { headers: { "Set-Cookie": ["a=1", "b=2"] } })
    const first = withoutDate(bytesOf(constant).text)
    for (const connection of ["none", "close", "keep-alive", "none"] as const) {
      const again = withoutDate(bytesOf(constant, false, connection).text)
      const expected = connection === "none"
        ? first
        : first.replace("\r\n\r\n", connection === "close" ? "\r\nConnection: close\r\n\r\n" : "\r\nConnection: Keep-Alive\r\n\r\n")
      expect(again).toBe(expected)
    }
    expect(first).toContain("Content-Length: 11\r\n") // é is two bytes in UTF-8
    expect(first).toContain("Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n")
  })

  it("a headers object reused across fresh responses gives the same bytes as a fresh one (the cached-head path)", () => {
    const headers = { "Content-Type": "text/plain" }
    const expected = (body: string) => withoutDate(bytesOf(Response.text(body, { headers: { ...headers } })).text)
    for (const body of ["one", "two", "three", "", "four"]) {
      expect(withoutDate(bytesOf(Response.text(body, { headers })).text)).toBe(expected(body))
    }
  })

  it("the cached-head path frames every body right: digit boundaries, UTF-8, long text, bytes", () => {
    const headers = { "Content-Type": "text/plain" }
    const texts = ["", "a", "x".repeat(9), "x".repeat(10), "x".repeat(99), "x".repeat(100), "é", "naïve café", "€".repeat(50)]
    texts.push("y".repeat(128), "y".repeat(129), "z".repeat(12_345), `${"a".repeat(127)}é`)
    for (const body of texts) {
      const { text } = bytesOf(Response.text(body, { headers }))
      const encoded = Buffer.from(body, "utf8")
      expect(text).toContain(`\r\nContent-Length: ${encoded.length}\r\n`)
      expect(Buffer.from(text, "latin1").subarray(-encoded.length || Infinity).equals(encoded)).toBe(true)
      expect(withoutDate(text)).toBe(withoutDate(bytesOf(Response.text(body, { headers: { ...headers } })).text))
    }
    for (const size of [0, 1, 10, 1000, ZERO_COPY_MIN_BYTES - 1, ZERO_COPY_MIN_BYTES + 1]) {
      const bytes = new Uint8Array(size).fill(0x62)
      const { text } = bytesOf(Response.bytes(bytes, { headers }))
      expect(text).toContain(`\r\nContent-Length: ${size}\r\n`)
      expect(text.endsWith(`\r\n\r\n${"b".repeat(size)}`)).toBe(true)
    }
  })

  it("fresh responses with the same text again and again: the right bytes each time, whatever changes between them", () => {
    const headers = { "Content-Type": "text/plain" }
    const fresh = (connection: ConnectionField, isHead: boolean, body = "same text", status = 200) => ({
      got: withoutDate(bytesOf(Response.text(body, { headers, status }), isHead, connection).text),
      expected: withoutDate(bytesOf(Response.text(body, { headers: { ...headers }, status }), isHead, connection).text)
    })
    const steps: Array<[ConnectionField, boolean, string?, number?]> = [
      ["none", false], ["none", false], ["close", false], ["close", false], ["none", true], ["none", true],
      ["keep-alive", false], ["none", false, "other"], ["none", false, "other"], ["none", false, "other", 201],
      ["none", false, "other", 201], ["none", false]
    ]
    for (const [connection, isHead, body, status] of steps) {
      const { got, expected } = fresh(connection, isHead, body, status)
      expect(got).toBe(expected)
    }
  })

  it("constant responses answered in turns give their own bytes; a constant byte body changed in place is sent as it is now", () => {
    const a = Response.text("answer a")
    const b = Response.text("answer b", { status: 201 })
    const reference = (body: string, status: number, connection: ConnectionField, isHead: boolean) =>
      withoutDate(bytesOf(Response.text(body, { status, headers: { "Content-Type": "text/plain; charset=utf-8" } }), isHead, connection).text)
    const steps: Array<[Response.Response, string, number, ConnectionField, boolean]> = [
      [a, "answer a", 200, "none", false], [a, "answer a", 200, "none", false], [a, "answer a", 200, "none", false],
      [b, "answer b", 201, "none", false], [b, "answer b", 201, "none", false], [a, "answer a", 200, "close", false],
      [a, "answer a", 200, "none", true], [b, "answer b", 201, "keep-alive", false], [a, "answer a", 200, "none", false]
    ]
    for (const [response, body, status, connection, isHead] of steps) {
      expect(withoutDate(bytesOf(response, isHead, connection).text)).toBe(reference(body, status, connection, isHead))
    }
    const bytes = Buffer.from("xxxx")
    const constant = Response.bytes(bytes)
    for (const fill of ["a", "b", "c", "d"]) {
      bytes.fill(fill)
      expect(bytesOf(constant).text.endsWith(`\r\n\r\n${fill.repeat(4)}`)).toBe(true)
    }
  })

  it("the constructors' default headers are shared, so their bytes are kept (and cannot be changed by accident)", () => {
    expect(Response.text("a").headers).toBe(Response.text("b").headers)
    expect(Response.json(1).headers).toBe(Response.json(2).headers)
    expect(Response.bytes(new Uint8Array(1)).headers).toBe(Response.bytes(new Uint8Array(2)).headers)
    expect(Object.isFrozen(Response.text("a").headers)).toBe(true)
    expect(withoutDate(bytesOf(Response.text("a")).text)).toBe(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: -\r\nContent-Length: 1\r\n\r\na"
    )
  })

  it("HEAD: the Content-Length of the body, not the body, on every path", () => {
    const constant = Response.text("Hello world")
    for (let i = 0; i < 3; i++) {
      const { text } = bytesOf(constant, true)
      expect(text).toContain("Content-Length: 11\r\n")
      expect(text.endsWith("\r\n\r\n")).toBe(true)
    }
  })

  it("204 and 304 have neither body nor Content-Length, on every path", () => {
    for (const status of [204, 304]) {
      const constant = Response.text("ignored", { status })
      for (let i = 0; i < 3; i++) {
        const { text } = bytesOf(constant)
        expect(text).not.toContain("Content-Length")
        expect(text.endsWith("\r\n\r\n")).toBe(true)
      }
    }
  })

  it("a handler may reuse and change its own objects: what is kept is checked against their content", () => {
    // One headers object, a value set per request (the defect: the second
    // answer onwards carried the first value).
    const headers: Record<string, string | Array<string>> = { "X-Request": "0" }
    const seen: Array<string | undefined> = []
    for (let i = 0; i < 5; i++) {
      headers["X-Request"] = String(i)
      seen.push(/X-Request: (\d+)/.exec(bytesOf(Response.text("same", { headers })).text)?.[1])
    }
    expect(seen).toEqual(["0", "1", "2", "3", "4"])
    // A header added to, or removed from, the kept object; an array value changed in place.
    headers["Set-Cookie"] = ["a=1"]
    for (let i = 0; i < 2; i++) expect(bytesOf(Response.text("same", { headers })).text).toContain("Set-Cookie: a=1\r\n")
    ;(headers["Set-Cookie"] as Array<string>)[0] = "a=2"
    expect(bytesOf(Response.text("same", { headers })).text).toContain("Set-Cookie: a=2\r\n")
    delete headers["Set-Cookie"]
    expect(bytesOf(Response.text("same", { headers })).text).not.toContain("Set-Cookie")
    // One response object answered again and again, changed in between.
    const response = { status: 200, headers: { "X-V": "1" }, body: { _tag: "Text", text: "one" } } as {
      status: number
      headers: Record<string, string>
      body: { _tag: "Text"; text: string }
    }
    const texts: Array<string> = []
    for (const [status, value, text] of [[200, "1", "one"], [200, "1", "one"], [201, "1", "one"], [201, "2", "one"], [201, "2", "two"]] as const) {
      response.status = status
      response.headers["X-V"] = value
      response.body.text = text
      texts.push(withoutDate(bytesOf(response).text))
    }
    expect(texts.map((t) => [t.split("\r\n")[0], /X-V: (\d)/.exec(t)?.[1], t.split("\r\n\r\n")[1]])).toEqual([
      ["HTTP/1.1 200 OK", "1", "one"],
      ["HTTP/1.1 200 OK", "1", "one"],
      ["HTTP/1.1 201 Created", "1", "one"],
      ["HTTP/1.1 201 Created", "2", "one"],
      ["HTTP/1.1 201 Created", "2", "two"]
    ])
  })

  it("a large byte body is written as a second piece, not copied", () => {
    const big = new Uint8Array(ZERO_COPY_MIN_BYTES).fill(0x61)
    const constant = Response.bytes(big)
    for (let i = 0; i < 3; i++) {
      const pieces: Array<Uint8Array> = []
      serializeResponse(constant, framingOf(200, true, false, true), "none", (data) => pieces.push(data))
      expect(pieces).toHaveLength(2)
      expect(pieces[1]).toBe(big)
    }
  })

  it("a header that could split the response is refused, on every path", () => {
    const bad = Response.text("x", { headers: { "X-Bad": "a\r\nInjected: yes" } })
    for (let i = 0; i < 3; i++) expect(() => bytesOf(bad)).toThrow(InvalidResponseHeader)
    const badName = Response.text("x", { headers: { "Bad Name": "v" } })
    expect(() => bytesOf(badName)).toThrow(InvalidResponseHeader)
    expect(() => bytesOf(Response.text("x", { headers: { "X-Wide": "\u0100" } }))).toThrow(InvalidResponseHeader)
  })

  it("a reason phrase of the handler's own, empty too, on every path; streams too", () => {
    const uploaded = Response.empty({ status: 201, reason: "Uploaded" })
    const blank = Response.text("x", { status: 200, reason: "" })
    for (let i = 0; i < 3; i++) {
      expect(bytesOf(uploaded).text.startsWith("HTTP/1.1 201 Uploaded\r\n")).toBe(true)
      expect(bytesOf(blank).text.startsWith("HTTP/1.1 200 \r\n")).toBe(true)
    }
    // A headers object reused with another reason does not get the cached one.
    const headers = { "X-A": "1" }
    const lines = ["One", "One", "Two", undefined, "Two"].map((reason) =>
      bytesOf(Response.text("x", { headers, status: 200, reason })).text.split("\r\n")[0]
    )
    expect(lines).toEqual(["HTTP/1.1 200 One", "HTTP/1.1 200 One", "HTTP/1.1 200 Two", "HTTP/1.1 200 OK", "HTTP/1.1 200 Two"])
    const streamed = Response.stream(Stream.empty, { status: 202, reason: "Later" })
    expect(serializeStreamHead(streamed, framingOf(202, false, false, true), 0, "none").toString("latin1")).toMatch(/^HTTP\/1\.1 202 Later\r\n/)
  })

  it("streamed heads from one headers object the handler changes between responses: each head as it is now, framing and Connection line included", () => {
    // A literal response: the handler's own headers object reaches the serializer as it is.
    const headers: Record<string, string> = { "X-Count": "0" }
    const streamed = (): Response.Response => ({ status: 200, headers, body: { _tag: "Stream", stream: Stream.empty, contentLength: undefined } })
    const chunked = framingOf(200, false, false, true)
    const length = framingOf(200, true, false, true)
    const steps: Array<[string, ResponseFraming, ConnectionField, string]> = [
      ["1", chunked, "none", "Transfer-Encoding: chunked\r\n"],
      ["1", chunked, "none", "Transfer-Encoding: chunked\r\n"],
      ["2", chunked, "close", "Transfer-Encoding: chunked\r\nConnection: close\r\n"],
      ["2", length, "none", "Content-Length: 7\r\n"],
      ["3", length, "keep-alive", "Content-Length: 7\r\nConnection: Keep-Alive\r\n"],
      ["3", chunked, "none", "Transfer-Encoding: chunked\r\n"]
    ]
    for (const [count, framing, connection, tail] of steps) {
      headers["X-Count"] = count
      const head = serializeStreamHead(streamed(), framing, 7, connection).toString("latin1")
      expect(withoutDate(head)).toBe(`HTTP/1.1 200 OK\r\nX-Count: ${count}\r\nDate: -\r\n${tail}\r\n`)
    }
    // A value the kept head was not made of is validated again.
    headers["X-Count"] = "4\r\nX-Injected: yes"
    expect(() => serializeStreamHead(streamed(), chunked, 0, "none")).toThrow(InvalidResponseHeader)
  })

  it("a reason phrase with CR, LF or a control character is refused: by the constructors and on the wire", () => {
    for (const reason of ["Bad\r\nX-Injected: yes", "Bad\n", "Nul\u0000", "Del\u007f", "Wide\u0100"]) {
      expect(Response.isValidReasonPhrase(reason)).toBe(false)
      expect(() => Response.empty({ status: 200, reason })).toThrow(Response.InvalidReasonPhrase)
      const literal: Response.Response = { status: 200, reason, headers: {}, body: { _tag: "Empty" } }
      for (let i = 0; i < 3; i++) expect(() => bytesOf(literal)).toThrow(Response.InvalidReasonPhrase)
    }
    expect(Response.isValidReasonPhrase("Tab\tand obs-text \u00e9")).toBe(true)
  })

  it("a head that switches protocols: 101 with Connection: Upgrade, a CONNECT's 2xx without framing; nothing else", () => {
    const upgrade = withoutDate(
      serializeSwitchHead(Response.empty({ status: 101, headers: { Upgrade: "websocket", "Content-Length": "9" } }))
        .toString("latin1")
    )
    expect(upgrade).toBe("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nDate: -\r\nConnection: Upgrade\r\n\r\n")
    const tunnel = withoutDate(serializeSwitchHead(Response.empty({ status: 200, reason: "Tunnel" })).toString("latin1"))
    expect(tunnel).toBe("HTTP/1.1 200 Tunnel\r\nDate: -\r\n\r\n")
    for (const status of [100, 102, 304, 404]) {
      expect(() => serializeSwitchHead(Response.empty({ status }))).toThrow()
    }
  })

  it("413 is called Content Too Large (RFC 9110 section 15.5.14)", () => {
    expect(bytesOf(Response.empty({ status: 413 })).text.startsWith("HTTP/1.1 413 Content Too Large\r\n")).toBe(true)
  })
})
