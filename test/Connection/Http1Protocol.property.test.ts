/**
 * A property over random runs of the protocol machine, with no socket: a few
 * pipelined requests (GET, HEAD, POST with a Content-Length or a chunked
 * body), their bytes cut anywhere; each answered at once, later, or streamed,
 * with an honest length, a longer one or a shorter one, or failed; output
 * blocked and drained, the clock moved and shutdown begun at random points.
 * Whatever happens, the output is a sequence of well-framed responses, one
 * per request, in request order, and no byte outside a framed message
 * (but a body cut short by a stream that gave less than it declared, after
 * which the connection closes).
 */
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Schema, Stream } from "effect"
import { type OpenedExchange, ProtocolHarness } from "../../fuzz/ProtocolHarness.ts"
import * as Response from "../../src/Response/Response.ts"

/** A small deterministic generator (xorshift32), seeded by the property. */
const generator = (seed: number) => {
  let state = seed | 1
  const next = () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 4294967296
  }
  return { below: (n: number) => Math.floor(next() * n), chance: (p: number) => next() < p }
}

type Answer = "now" | "later" | "stream" | "stream-sized" | "stream-long" | "stream-short" | "fail"
const ANSWERS: ReadonlyArray<Answer> = ["now", "later", "stream", "stream-sized", "stream-long", "stream-short", "fail"]

interface Planned {
  readonly id: number
  readonly method: "GET" | "HEAD" | "POST"
  readonly wire: string
  readonly answer: Answer
  /** The body pieces a streamed answer gives. */
  readonly pieces: ReadonlyArray<string>
}

const plan = (random: ReturnType<typeof generator>, id: number): Planned => {
  const method = (["GET", "HEAD", "POST"] as const)[random.below(3)]!
  let wire = `${method} /${id} HTTP/1.1\r\nHost: x\r\nX-Id: ${id}\r\n`
  if (method === "POST") {
    const body = "b".repeat(random.below(30))
    wire += random.chance(0.5)
      ? `Content-Length: ${body.length}\r\n\r\n${body}`
      : `Transfer-Encoding: chunked\r\n\r\n${body.length > 0 ? `${body.length.toString(16)}\r\n${body}\r\n` : ""}0\r\n\r\n`
  } else {
    wire += "\r\n"
  }
  const pieces = Array.from({ length: 1 + random.below(3) }, (_, i) => `r${id}.${i};`)
  return { id, method, wire, answer: ANSWERS[random.below(ANSWERS.length)]!, pieces }
}

interface Parsed {
  readonly status: number
  readonly body: string
  /** The body ended before its framing said (only a short stream does that). */
  readonly cut: boolean
}

/** Reads responses off `out` for `requests`, in order; what is left is returned as `rest`. */
const parseResponses = (out: string, requests: ReadonlyArray<Planned>): { parsed: Array<Parsed>; rest: string } => {
  const parsed: Array<Parsed> = []
  let at = 0
  for (const request of requests) {
    if (at >= out.length) break
    const headEnd = out.indexOf("\r\n\r\n", at)
    if (headEnd === -1) break
    const head = out.slice(at, headEnd)
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1])
    expect(status, `a status line at ${at}: ${JSON.stringify(head.slice(0, 40))}`).toBeGreaterThan(0)
    let p = headEnd + 4
    const length = /\r\nContent-Length: (\d+)/.exec(head)?.[1]
    const chunked = /\r\nTransfer-Encoding: chunked/.test(head)
    let body = ""
    let cut = false
    if (request.method === "HEAD" || status === 204 || status === 304) {
      // no body
    } else if (length !== undefined) {
      body = out.slice(p, p + Number(length))
      cut = body.length < Number(length)
      p += body.length
    } else if (chunked) {
      for (;;) {
        const lineEnd = out.indexOf("\r\n", p)
        expect(lineEnd).toBeGreaterThan(-1)
        const size = parseInt(out.slice(p, lineEnd), 16)
        p = lineEnd + 2
        if (size === 0) {
          expect(out.slice(p, p + 2)).toBe("\r\n")
          p += 2
          break
        }
        body += out.slice(p, p + size)
        expect(out.slice(p + size, p + size + 2)).toBe("\r\n")
        p += size + 2
      }
    } else {
      throw new Error(`a response to HTTP/1.1 without framing: ${head}`)
    }
    parsed.push({ status, body, cut })
    at = p
    if (cut) break
  }
  return { parsed, rest: out.slice(at) }
}

describe("Http1Protocol: any run", () => {
  it.prop(
    "the output is well-framed responses, one per request, in order, and no byte outside them",
    { seed: Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 2 ** 31 - 1 }))) },
    ({ seed }) => {
      const random = generator(seed)
      const requests = Array.from({ length: 1 + random.below(5) }, (_, i) => plan(random, i))
      const wire = Buffer.from(requests.map((r) => r.wire).join(""), "latin1")
      /** Exchanges whose answer is still to come, and streams still giving pieces. */
      const later: Array<OpenedExchange> = []
      const streaming: Array<{ readonly planned: Planned; sent: number }> = []
      const plannedOf = (exchange: OpenedExchange) => requests[Number(exchange.head.target.slice(1))]!
      const answer = (h: ProtocolHarness, exchange: OpenedExchange) => {
        const planned = plannedOf(exchange)
        const total = planned.pieces.join("").length
        switch (planned.answer) {
          case "fail":
            return h.core.respondWithFailure(new Error("boom"), { _tag: "Die" } as never, h.now)
          case "now":
          case "later":
            return h.core.respond(Response.text(`r${planned.id};`), h.now)
          default: {
            const declared = planned.answer === "stream-sized"
              ? total
              : planned.answer === "stream-long"
              ? total - 2
              : planned.answer === "stream-short"
              ? total + 5
              : undefined
            const runs = h.streams.length
            h.core.respond(Response.stream(Stream.empty, { contentLength: declared }), h.now)
            // The machine runs the stream unless no body follows (HEAD).
            if (h.streams.length > runs) streaming.push({ planned, sent: 0 })
          }
        }
      }
      const h = new ProtocolHarness({}, {
        onHandler: (harness, exchange) => {
          if (plannedOf(exchange).answer === "later") later.push(exchange)
          else answer(harness, exchange)
        }
      })
      /** One random step of what else may happen between reads. */
      const step = () => {
        switch (random.below(6)) {
          case 0: {
            const exchange = later.shift()
            if (exchange !== undefined) answer(h, exchange)
            return
          }
          case 1: {
            const stream = streaming[0]
            if (stream === undefined) return
            if (stream.sent < stream.planned.pieces.length) {
              if (!h.core.sendPiece(Buffer.from(stream.planned.pieces[stream.sent++]!, "latin1"), h.now)) streaming.shift()
            } else {
              streaming.shift()
              h.core.endStream(h.now)
            }
            return
          }
          case 2:
            return h.core.outputBlocked(h.now)
          case 3:
            return h.core.outputDrained(h.now)
          case 4:
            return h.advanceTo(h.now + random.below(1000))
          case 5:
            if (random.chance(0.2)) h.core.beginShutdown()
        }
      }
      let from = 0
      while (from < wire.length && h.core.state._tag !== "Closed") {
        const to = Math.min(wire.length, from + 1 + random.below(wire.length))
        h.receive(wire.subarray(from, to))
        from = to
        for (let i = random.below(4); i > 0; i--) step()
      }
      // Then everything pending is let through.
      const pending = () => later.length > 0 || streaming.length > 0 || h.core.exchange !== undefined || !h.core.input.isEmpty
      h.core.outputDrained(h.now)
      for (let i = 0; i < 200 && h.core.state._tag !== "Closed" && pending(); i++) {
        h.core.outputDrained(h.now)
        if (later.length > 0) answer(h, later.shift()!)
        const stream = streaming[0]
        if (stream !== undefined) {
          if (stream.sent < stream.planned.pieces.length) {
            if (!h.core.sendPiece(Buffer.from(stream.planned.pieces[stream.sent++]!, "latin1"), h.now)) streaming.shift()
          } else {
            streaming.shift()
            h.core.endStream(h.now)
          }
        }
      }

      const { parsed, rest } = parseResponses(h.output, requests)
      const closed = h.core.state._tag === "Closed"
      parsed.forEach((response, k) => {
        const request = requests[k]!
        if (request.method === "HEAD") return expect(response.body).toBe("")
        if (request.answer === "fail") return expect(response.status).toBe(500)
        const whole = request.pieces.join("")
        const expected = request.answer === "now" || request.answer === "later"
          ? `r${request.id};`
          : request.answer === "stream-long"
          ? whole.slice(0, whole.length - 2)
          : whole
        expect(response.body, `response ${k} answers request ${k}`).toBe(expected)
        if (response.cut) {
          expect(request.answer).toBe("stream-short")
          expect(closed).toBe(true)
        }
      })
      // No byte outside a framed message.
      expect(rest).toBe("")
      // Unless the connection closed, every request was answered.
      if (!closed) expect(parsed.length).toBe(requests.length)
      // A response that broke its declared length ends the connection.
      const broke = parsed.findIndex((r, k) => requests[k]!.method !== "HEAD" && (requests[k]!.answer === "stream-long" || requests[k]!.answer === "stream-short"))
      if (broke !== -1) {
        expect(parsed.length).toBe(broke + 1)
        expect(closed).toBe(true)
      }
    },
    { arbitrary: { runs: 400 } }
  )
})
