/**
 * The protocol machine through its own events, with no socket: every move
 * of its transition tables (and the diagram of them in docs/ARCHITECTURE.md),
 * the pairs of events that bit (a body deadline during a backpressured
 * write, shutdown during a stream with the body unread, detach with bytes
 * behind it, 100-continue answered before reading), the deadlines kind by
 * kind, and a stream's declared length held both ways.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as Fs from "node:fs"
import { type OpenedExchange, ProtocolHarness } from "../../fuzz/ProtocolHarness.ts"
import { PHASE_MOVES, WRITING_MOVES } from "../../src/Connection/ProtocolModel.ts"
import type { BodyHost } from "../../src/Request/RequestBody.ts"
import { RequestBody } from "../../src/Request/RequestBody.ts"
import * as Response from "../../src/Response/Response.ts"

const GET = (target = "/", extra = "") => `GET ${target} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`
const POST = (body: string, extra = "") => `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`

/** A harness whose bodies are the server's `RequestBody`, reporting to the machine as the socket driver does. */
const withRequestBodies = (
  options: ConstructorParameters<typeof ProtocolHarness>[0] = {},
  onHandler?: (h: ProtocolHarness, exchange: OpenedExchange) => void,
  bodyTimeoutMillis?: number
) =>
  new ProtocolHarness(options, {
    makeBody: (head, h) => {
      const host: BodyHost = {
        onReadStart: (body) => h.core.bodyReadStarted(body, h.now),
        onDemand: (body) => h.core.bodyDemand(body, h.now),
        onBodyComplete: (body) => h.core.bodyFramingComplete(body)
      }
      const limits = { maxBodySize: 1 << 20, maxBufferSize: 1 << 20, chunkSize: 65536, bodyTimeoutMillis }
      return new RequestBody(head.framing, limits, host)
    },
    ...(onHandler === undefined ? {} : { onHandler })
  })

const respondText = (h: ProtocolHarness, text: string) => h.core.respond(Response.text(text), h.now)

/** Answers with a stream whose pieces the test then sends through `sendPiece`. */
const respondStream = (h: ProtocolHarness, contentLength?: number) =>
  h.core.respond(Response.stream(Stream.empty, { contentLength }), h.now)

/** The moves each case shows, checked against the tables at the end. */
const shown = new Set<string>()
const shows = (table: "phase" | "writing", from: string, event: string) => shown.add(`${table} ${from} ${event}`)

describe("Http1Protocol: every move of the tables", () => {
  it("AwaitingHead ─headRead─▶ InFlight ─exchangeDone─▶ AwaitingHead; Awaiting ─whole─▶ Written", () => {
    const h = new ProtocolHarness()
    expect(h.core.state._tag).toBe("AwaitingHead")
    h.receive(GET("/a"))
    shows("phase", "AwaitingHead", "headRead")
    expect(h.core.state._tag).toBe("InFlight")
    expect(h.last?.head.target).toBe("/a")
    h.now = 5
    respondText(h, "hi")
    shows("writing", "Awaiting", "whole")
    shows("phase", "InFlight", "exchangeDone")
    expect(h.core.state._tag).toBe("AwaitingHead")
    expect(h.output).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*Content-Length: 2\r\n\r\nhi$/)
    expect(h.last?.ended?.bodyBytes).toBe(2)
    // Between requests the idle deadline runs, from the end of the response.
    expect(h.core.deadlines.get("idle")).toBe(5 + 3_600_000)
    expect(h.core.deadlines.get("header")).toBeUndefined()
  })

  it("AwaitingHead ─close─▶ Closed: a malformed head is answered 400 and the connection closes after it", () => {
    const h = new ProtocolHarness()
    h.receive("GET / HTTP/1.1\r\nBad Header\r\n\r\n")
    shows("phase", "AwaitingHead", "close")
    expect(h.core.state._tag).toBe("Closed")
    expect(h.output).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[^]*Connection: close\r\n/)
    expect(h.closed).toBe("AfterOutput")
    expect(h.engineErrors.map((e) => e._tag)).toEqual(["MalformedRequest"])
    expect(h.endedBy).toEqual({ clientGone: false })
  })

  it("InFlight ─close─▶ Closed: the client leaves mid-request; the body read fails, observers hear no response", () => {
    const h = withRequestBodies()
    h.receive(POST("0123456789").slice(0, -5))
    const body = h.last?.body as RequestBody
    h.core.socketClosed(true)
    shows("phase", "InFlight", "close")
    expect(h.core.state._tag).toBe("Closed")
    expect(body.state._tag).toBe("Failed")
    expect(h.last?.ended).toEqual({ response: undefined, bodyBytes: 0 })
    expect(h.endedBy).toEqual({ clientGone: true })
  })

  it("InFlight ─detach─▶ Detached ─close─▶ Closed: the switching head goes out, the bytes behind the request are handed over", () => {
    const h = new ProtocolHarness()
    h.receive(GET("/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\n") + "EARLY BYTES")
    const early = h.core.detach(Response.empty({ status: 101, headers: { Upgrade: "websocket" } }))
    shows("phase", "InFlight", "detach")
    expect(Buffer.from(early as Uint8Array).toString("latin1")).toBe("EARLY BYTES")
    expect(h.core.state._tag).toBe("Detached")
    expect(h.output).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\nUpgrade: websocket\r\n[^]*Connection: Upgrade\r\n\r\n$/)
    expect(h.detachedCount).toBe(1)
    expect(h.core.deadlines.earliest).toBeUndefined()
    // Bytes now are the handler's; a response is not written any more.
    respondText(h, "late")
    expect(h.output).not.toContain("late")
    h.core.socketClosed(true)
    shows("phase", "Detached", "close")
    expect(h.core.state._tag).toBe("Closed")
  })

  it.effect("Awaiting ─continue─▶ ContinueSent ─whole─▶ Written: 100 Continue when the handler reads, then its answer", () =>
    Effect.gen(function*() {
      const h = withRequestBodies()
      h.receive(POST("", "Expect: 100-continue\r\n").replace("Content-Length: 0", "Content-Length: 3"))
      const body = h.last?.body as RequestBody
      expect(h.output).toBe("")
      const read = Effect.runFork(body.all)
      shows("writing", "Awaiting", "continue")
      expect(h.output).toBe("HTTP/1.1 100 Continue\r\n\r\n")
      h.receive("abc")
      expect(Buffer.from(yield* Fiber.join(read)).toString()).toBe("abc")
      respondText(h, "ok")
      shows("writing", "ContinueSent", "whole")
      expect(h.output).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/)
      expect(h.core.state._tag).toBe("AwaitingHead")
    }))

  it("Awaiting ─streamHead─▶ Streaming ─streamEnd─▶ Written: chunked, counted, ended by the last chunk", () => {
    const h = new ProtocolHarness()
    h.receive(GET())
    respondStream(h)
    shows("writing", "Awaiting", "streamHead")
    expect(h.streams).toHaveLength(1)
    expect(h.core.sendPiece(Buffer.from("abc"), 0)).toBe(true)
    expect(h.core.sendPiece(Buffer.alloc(0), 0)).toBe(true)
    h.core.endStream(0)
    shows("writing", "Streaming", "streamEnd")
    expect(h.output).toMatch(/Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n$/)
    expect(h.last?.ended?.bodyBytes).toBe(3)
    expect(h.core.state._tag).toBe("AwaitingHead")
  })

  it.effect("ContinueSent ─streamHead─▶ Streaming: a stream after 100 Continue", () =>
    Effect.gen(function*() {
      const h = withRequestBodies()
      h.receive(POST("", "Expect: 100-continue\r\n").replace("Content-Length: 0", "Content-Length: 2"))
      const read = Effect.runFork((h.last?.body as RequestBody).all)
      h.receive("xy")
      yield* Fiber.join(read)
      respondStream(h, 2)
      shows("writing", "ContinueSent", "streamHead")
      h.core.sendPiece(Buffer.from("ok"), 0)
      h.core.endStream(0)
      expect(h.output).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n[^]*Content-Length: 2\r\n\r\nok$/)
    }))

  it("every move of the tables is shown above, and the diagram in docs/ARCHITECTURE.md is the tables'", () => {
    const rows = (name: string, table: Readonly<Record<string, Readonly<Record<string, string>>>>) =>
      Object.entries(table).flatMap(([from, moves]) => Object.entries(moves).map(([event, to]) => ({ name, from, event, to })))
    const all = [...rows("phase", PHASE_MOVES), ...rows("writing", WRITING_MOVES)]
    expect(new Set(all.map((r) => `${r.name} ${r.from} ${r.event}`))).toEqual(shown)
    const diagram = all.map((r, i) => {
      const label = i === 0 || all[i - 1]?.name !== r.name ? `${r.name}:`.padEnd(10) : " ".repeat(10)
      return `${label}${r.from} ─${r.event}─▶ ${r.to}`
    }).join("\n")
    const doc = Fs.readFileSync(new URL("../../docs/ARCHITECTURE.md", import.meta.url), "utf8")
    const block = /<!-- moves:begin -->\n```text\n([^]*?)\n```\n<!-- moves:end -->/.exec(doc)?.[1]
    expect(block).toBe(diagram)
  })
})

describe("Http1Protocol: deadlines, one slot per kind", () => {
  it("a connection that sends nothing is closed by the header deadline from the accept, without an answer", () => {
    const h = new ProtocolHarness({ headerTimeoutMillis: 1000 })
    expect(h.core.deadlines.get("header")).toBe(1000)
    h.advanceTo(999)
    expect(h.core.state._tag).toBe("AwaitingHead")
    h.advanceTo(1000)
    expect(h.core.state._tag).toBe("Closed")
    expect(h.output).toBe("")
  })

  it("the first head's deadline stays the accept's when its bytes trickle in; a whole head clears it", () => {
    const h = new ProtocolHarness({ headerTimeoutMillis: 1000 })
    h.now = 600
    h.receive("GET / HTTP/1.1\r\n")
    expect(h.core.deadlines.get("header")).toBe(1000)
    h.advanceTo(1000)
    expect(h.output).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[^]*Connection: close\r\n/)
    expect(h.engineErrors.map((e) => e._tag)).toEqual(["HeaderTimeout"])
  })

  it("a later head's deadline runs from its first byte; the idle wait before it does not count", () => {
    const h = new ProtocolHarness({ headerTimeoutMillis: 1000, idleTimeoutMillis: 10_000 })
    h.receive(GET())
    respondText(h, "a")
    h.now = 5000
    h.receive("GET / HT")
    expect(h.core.deadlines.get("idle")).toBeUndefined()
    expect(h.core.deadlines.get("header")).toBe(6000)
    h.receive("TP/1.1\r\nHost: x\r\n\r\n")
    expect(h.core.deadlines.get("header")).toBeUndefined()
  })

  it("a body deadline during a backpressured write: blocking and draining output never move it", () => {
    const h = withRequestBodies({ writeTimeoutMillis: 50_000 }, undefined, 300)
    h.receive(POST("0123456789").slice(0, -6)) // 4 of 10 bytes
    const body = h.last?.body as RequestBody
    const read = Effect.runFork(Stream.runDrain(body.stream))
    expect(h.core.deadlines.get("body")).toBe(300)
    respondStream(h)
    h.core.sendPiece(Buffer.alloc(1000), 10)
    h.core.outputBlocked(20)
    expect(h.core.deadlines.get("write")).toBe(50_020)
    h.core.outputDrained(30)
    expect(h.core.deadlines.get("write")).toBeUndefined()
    expect(h.core.deadlines.get("body")).toBe(300)
    h.advanceTo(300)
    expect(body.state).toMatchObject({ _tag: "Failed", error: { _tag: "BodyTimeout" } })
    read.interruptUnsafe()
  })

  it("the write deadline: a peer that reads nothing is cut at once; one that reads some moves it", () => {
    const h = new ProtocolHarness({ writeTimeoutMillis: 100 })
    h.receive(GET())
    respondStream(h)
    h.core.outputBlocked(0)
    h.core.outputProgressed(80)
    h.advanceTo(100)
    expect(h.core.state._tag).toBe("InFlight")
    h.advanceTo(180)
    expect(h.closed).toBe("AtOnce")
  })

  it("the idle deadline closes a kept-alive connection quietly", () => {
    const h = new ProtocolHarness({ idleTimeoutMillis: 100 })
    h.receive(GET())
    respondText(h, "a")
    h.advanceTo(100)
    expect(h.closed).toBe("AfterOutput")
    expect(h.engineErrors).toEqual([])
  })

  it("output waiting for the peer: no further pipelined request is taken until it drains", () => {
    const h = new ProtocolHarness({}, { onHandler: (x) => respondText(x, "r") })
    h.core.outputBlocked(0)
    h.receive(GET("/1") + GET("/2"))
    expect(h.exchanges).toHaveLength(0)
    expect(h.inputWanted).toBe(false)
    h.core.outputDrained(1)
    expect(h.exchanges.map((e) => e.head.target)).toEqual(["/1", "/2"])
    expect(h.inputWanted).toBe(true)
  })
})

describe("Http1Protocol: pairs of events that bit", () => {
  it("shutdown during a streamed response with the body unread: the stream ends, then the connection", () => {
    const h = new ProtocolHarness()
    h.receive(POST("0123456789").slice(0, -5))
    respondStream(h)
    h.core.beginShutdown(h.now)
    expect(h.core.state._tag).toBe("InFlight")
    h.core.sendPiece(Buffer.from("xyz"), 0)
    h.core.endStream(0)
    expect(h.output).toMatch(/3\r\nxyz\r\n0\r\n\r\n$/)
    expect(h.closed).toBe("AfterOutput")
  })

  it("shutdown: a connection that has received nothing yet gets its first request served (within a grace), then closes; a kept-alive idle one, or one holding part of a head, closes at once", () => {
    const fresh = new ProtocolHarness({}, { onHandler: (x) => respondText(x, "served") })
    fresh.now = 100
    fresh.core.beginShutdown(100)
    expect(fresh.closed).toBeUndefined()
    expect(fresh.core.deadlines.get("header")).toBe(100 + 1000)
    fresh.receive(GET("/1") + GET("/2"))
    expect(fresh.exchanges.map((e) => e.head.target)).toEqual(["/1"])
    expect(fresh.output).toMatch(/Connection: close\r\n\r\nserved$/)
    expect(fresh.closed).toBe("AfterOutput")
    // Nothing comes within the grace: closed without an answer.
    const silent = new ProtocolHarness()
    silent.core.beginShutdown(0)
    silent.advanceTo(1000)
    expect(silent.closed).toBe("AfterOutput")
    expect(silent.output).toBe("")
    const slow = new ProtocolHarness()
    slow.receive("GET / HT")
    slow.core.beginShutdown(0)
    expect(slow.closed).toBe("AfterOutput")
    // A connection that served a request and waits for the next closes at once.
    const kept = new ProtocolHarness({}, { onHandler: (x) => respondText(x, "a") })
    kept.receive(GET())
    kept.core.beginShutdown(0)
    expect(kept.closed).toBe("AfterOutput")
  })

  it("Expect: 100-continue answered before reading: no 100, and the connection ends after the answer", () => {
    const h = new ProtocolHarness()
    h.receive(POST("", "Expect: 100-continue\r\n").replace("Content-Length: 0", "Content-Length: 5"))
    respondText(h, "no thanks")
    expect(h.output).not.toContain("100 Continue")
    expect(h.output).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*Connection: close\r\n/)
    expect(h.closed).toBe("AfterOutput")
  })

  it("detach refuses while a response is under way, or the body is unread", () => {
    const h = new ProtocolHarness()
    h.receive(POST("0123456789").slice(0, -3))
    expect(h.core.detach(undefined)).toMatchObject({ _tag: "DetachError", reason: "BodyUnread" })
    h.receive("789" + GET())
    respondStream(h)
    expect(h.core.detach(undefined)).toMatchObject({ _tag: "DetachError", reason: "ResponseStarted" })
  })

  it("a disabled keep-alive (draining): the next response says Connection: close and ends the connection", () => {
    const h = new ProtocolHarness({}, { onHandler: (x) => respondText(x, "r") })
    h.receive(GET())
    h.core.disableKeepAlive()
    expect(h.core.state._tag).toBe("AwaitingHead")
    h.receive(GET())
    expect(h.output.split("HTTP/1.1 200").length).toBe(3)
    expect(h.output).toMatch(/Connection: close\r\n\r\nr$/)
    expect(h.closed).toBe("AfterOutput")
  })
})

describe("Http1Protocol: a stream's declared length is held", () => {
  it("a longer body is cut at the declared length, logged, and the connection closes after it", () => {
    const h = new ProtocolHarness()
    h.receive(GET("/1") + GET("/2"))
    respondStream(h, 5)
    expect(h.core.sendPiece(Buffer.from("abc"), 0)).toBe(true)
    expect(h.core.sendPiece(Buffer.from("defSURPLUS"), 0)).toBe(false)
    expect(h.output).toMatch(/Content-Length: 5\r\n\r\nabcde$/)
    expect(h.closed).toBe("AfterOutput")
    expect(h.exchanges).toHaveLength(1)
    expect(String(h.logged[0])).toContain("ResponseLengthMismatch")
    expect(h.last?.ended?.bodyBytes).toBe(5)
  })

  it("a shorter body closes the connection instead of reusing it", () => {
    const h = new ProtocolHarness()
    h.receive(GET("/1") + GET("/2"))
    respondStream(h, 5)
    h.core.sendPiece(Buffer.from("abc"), 0)
    h.core.endStream(0)
    expect(h.output).toMatch(/Content-Length: 5\r\n\r\nabc$/)
    expect(h.closed).toBe("AfterOutput")
    expect(h.exchanges).toHaveLength(1)
    expect(String(h.logged[0])).toContain("ResponseLengthMismatch")
  })

  it("an honest one keeps the connection", () => {
    const h = new ProtocolHarness()
    h.receive(GET("/1") + GET("/2"))
    respondStream(h, 5)
    h.core.sendPiece(Buffer.from("abcde"), 0)
    h.core.endStream(0)
    expect(h.closed).toBeUndefined()
    expect(h.exchanges.map((e) => e.head.target)).toEqual(["/1", "/2"])
    expect(h.logged).toEqual([])
  })

  it("HEAD, 204 and 304: a stream is not run, its head has the field a GET would have", () => {
    const h = new ProtocolHarness()
    h.receive("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    respondStream(h, 7)
    expect(h.streams).toHaveLength(0)
    expect(h.output).toMatch(/Content-Length: 7\r\n\r\n$/)
    h.receive(GET())
    h.core.respond(Response.stream(Stream.empty, { status: 204 }), 0)
    expect(h.streams).toHaveLength(0)
    expect(h.output).not.toMatch(/HTTP\/1\.1 204 No Content\r\n[^]*(Content-Length|Transfer-Encoding)/)
  })
})
