/**
 * The input's position in the byte stream and its look ahead for a whole
 * head, which graceful shutdown uses to tell requests that came before it.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConnectionInput } from "../../src/Connection/ConnectionInput.ts"

const make = () => new ConnectionInput(64 * 1024, { bareLfInHead: true })
const bytes = (text: string) => Buffer.from(text, "latin1")

describe("ConnectionInput: stream position and look ahead", () => {
  it("received counts every byte, through consumed reads, joined partial heads and copied transient input", () => {
    const input = make()
    input.receive(bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), true)
    expect(input.readHead()?.target).toBe("/")
    input.endTurn()
    expect(input.received).toBe(27)
    input.receive(bytes("GET /a HTTP/1.1\r\n"), true)
    expect(input.readHead()).toBeUndefined()
    input.endTurn()
    input.receive(bytes("Host: x\r\n\r\nGET /b"), false)
    expect(input.received).toBe(27 + 17 + 17)
    expect(input.readHead()?.target).toBe("/a")
    expect(input.received).toBe(61)
    input.clear()
    input.receive(bytes("xy"), false)
    expect(input.received).toBe(63)
  })

  it("holdsHeadEndBy: a whole head (CRLF or bare LF) ending at or before the position", () => {
    const input = make()
    input.receive(bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false)
    input.readHead()
    expect(input.holdsHeadEndBy(Infinity)).toBe(false)
    input.receive(bytes("GET /b HTTP/1.1\r\nHost: x\r\n\r\n"), false)
    expect(input.holdsHeadEndBy(input.received)).toBe(true)
    expect(input.holdsHeadEndBy(input.received - 1)).toBe(false)
    const lf = make()
    lf.receive(bytes("GET / HTTP/1.1\nHost: x\n\n"), false)
    expect(lf.holdsHeadEndBy(lf.received)).toBe(true)
    const partial = make()
    partial.receive(bytes("GET / HTTP/1.1\r\nHost: x\r\n"), false)
    expect(partial.holdsHeadEndBy(Infinity)).toBe(false)
    // Empty lines before a request are not a head (RFC 9112 section 2.2).
    const blank = make()
    blank.receive(bytes("\r\n\r\n\nGET / HTTP/1.1\r\n"), false)
    expect(blank.holdsHeadEndBy(Infinity)).toBe(false)
    blank.receive(bytes("\r\n"), false)
    expect(blank.holdsHeadEndBy(Infinity)).toBe(true)
  })
})
