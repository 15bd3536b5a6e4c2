/**
 * A handler's mistakes (a success that is no Response, a status that cannot
 * be final, a body where none may follow) never crash the process and never
 * put bytes on the wire that a client would read as another response.
 */
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Effect, Schema, Stream } from "effect"
import type { HTTPServerRequest } from "../../src/Request/HTTPServerRequest.ts"
import * as Response from "../../src/Response/Response.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeLogCapture, serve } from "../support/TestServer.ts"

const encoder = new TextEncoder()

/** The probe answered after each case on the same connection: the wire is still in step. */
const PROBE = RawClient.get("/probe", "Connection: close")
const answerProbe = (request: HTTPServerRequest) =>
  request.path === "/probe" ? Effect.succeed(Response.text("probe")) : undefined

/**
 * Sends `request` and the probe in one write, reads to the close, and parses
 * the answers: the first as the answer to `method`, the rest as GETs.
 * Throws (failing the test) on any byte that is not part of a response.
 */
const exchange = (port: number, request: string, method = "GET") =>
  Effect.gen(function*() {
    const client = yield* RawClient.connect(port)
    yield* client.write(request + PROBE)
    const bytes = yield* client.readUntilClose()
    const first = RawClient.parseResponse(bytes, true, { head: method === "HEAD" })
    if (typeof first === "symbol") throw new Error(`no whole response in ${JSON.stringify(bytes.toString("latin1"))}`)
    const rest = RawClient.parseAllResponses(bytes.subarray(first.consumed))
    return [first.response, ...rest]
  })

/** The server still serves a new connection. */
const expectAlive = (port: number) =>
  Effect.gen(function*() {
    const [probe] = yield* exchange(port, "")
    expect([probe?.status, probe?.text]).toEqual([200, "probe"])
  })

describe("a success that is not a Response", () => {
  const values: ReadonlyArray<readonly [string, unknown]> = [
    ["undefined", undefined],
    ["null", null],
    ["a plain object", { status: 200, body: "hi" }],
    ["a string", "Hello"],
    ["a number", 200],
    ["an array", [Response.text("x")]],
    ["an Error", new Error("not a response")]
  ]
  for (const [name, value] of values) {
    it.live(`${name}: 500, logged with the request, the connection serves the next request`, () =>
      Effect.gen(function*() {
        const capture = makeLogCapture()
        yield* Effect.gen(function*() {
          const { port } = yield* serve((request) =>
            answerProbe(request) ?? Effect.succeed(value as Response.Response)
          )
          const [answer, probe] = yield* exchange(port, RawClient.get("/case"))
          expect(answer?.status).toBe(500)
          expect(answer?.header("Connection")).toBeUndefined()
          expect([probe?.status, probe?.text]).toEqual([200, "probe"])
          yield* expectAlive(port)
        }).pipe(Effect.provide(capture.layer))
        const errors = capture.lines.filter((line) => line.level === "Error")
        expect(errors.length).toBe(1)
        expect(errors[0]?.cause).toContain("NotAResponse")
        expect(errors[0]?.annotations).toMatchObject({ method: "GET", uri: "/case" })
      }))
  }
})

describe("no body after a 204 or 304 head, nor in the answer to HEAD", () => {
  const streamed = (ran: { count: number }) =>
    Stream.fromEffect(Effect.sync(() => {
      ran.count++
      return encoder.encode("streamed")
    }))
  const cases: ReadonlyArray<readonly [string, number, "GET" | "HEAD", (ran: { count: number }) => Response.Response]> = [
    ["a stream with 204", 204, "GET", (ran) => Response.stream(streamed(ran), { status: 204 })],
    ["a stream with 304", 304, "GET", (ran) => Response.stream(streamed(ran), { status: 304 })],
    ["a stream of known length with 204", 204, "GET", (ran) =>
      Response.stream(streamed(ran), { status: 204, contentLength: 8 })],
    ["a stream answering HEAD", 200, "HEAD", (ran) => Response.stream(streamed(ran))],
    ["text with 204", 204, "GET", () => Response.text("text", { status: 204 })],
    ["bytes with 304", 304, "GET", () => Response.bytes(encoder.encode("bytes"), { status: 304 })],
    ["text answering HEAD", 200, "HEAD", () => Response.text("text")]
  ]
  for (const [name, status, method, make] of cases) {
    it.live(`${name}: the head alone, and the next response is read as it was sent`, () =>
      Effect.gen(function*() {
        const ran = { count: 0 }
        const { port } = yield* serve((request) => answerProbe(request) ?? Effect.succeed(make(ran)))
        const [answer, probe, ...more] = yield* exchange(port, `${method} /case HTTP/1.1\r\nHost: x\r\n\r\n`, method)
        expect(answer?.status).toBe(status)
        expect(answer?.body.length).toBe(0)
        if (status !== 200) {
          expect(answer?.header("Transfer-Encoding")).toBeUndefined()
          expect(answer?.header("Content-Length")).toBeUndefined()
        }
        expect([probe?.status, probe?.text]).toEqual([200, "probe"])
        expect(more).toEqual([])
        // The stream is not run: none of its bytes could be sent.
        expect(ran.count).toBe(0)
      }))
  }
})

describe("a status that cannot be a final response", () => {
  for (const status of [100, 101, 103, 0, 99, 600, 999, -1, 200.5, Number.NaN]) {
    it.live(`${status}: 500 (InvalidResponseStatus), logged; the connection closes after it; the server goes on`, () =>
      Effect.gen(function*() {
        const capture = makeLogCapture()
        yield* Effect.gen(function*() {
          const { port } = yield* serve((request) => answerProbe(request) ?? Effect.succeed(Response.text("x", { status })))
          const responses = yield* exchange(port, RawClient.get("/case"))
          expect(responses.map((r) => r.status)).toEqual([500])
          expect(responses[0]?.header("Connection")).toBe("close")
          yield* expectAlive(port)
        }).pipe(Effect.provide(capture.layer))
        const errors = capture.lines.filter((line) => line.level === "Error")
        expect(errors.length).toBe(1)
        expect(errors[0]?.cause).toContain("InvalidResponseStatus")
      }))
  }
})

// ---------------------------------------------------------------------------
// Property: whatever a handler succeeds or fails with

const int = (minimum: number, maximum: number) =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))
const oneOf = <A>(items: ReadonlyArray<A>): Arbitrary.Arbitrary<A> =>
  int(0, items.length - 1).pipe(Arbitrary.map((i) => items[i]!))

/** A status a handler might give: valid ones, and every kind of invalid one. */
const statusArb = Arbitrary.schema(Schema.Union([
  Schema.Int.check(Schema.isBetween({ minimum: 200, maximum: 599 })),
  Schema.Int.check(Schema.isBetween({ minimum: -5, maximum: 1000 })),
  // The statuses a body must not follow (204, 304) often, and the invalid edges.
  Schema.Literals([204, 304, 204, 304, 100, 101, 0, 600, 1.5])
]))
const bodyArb = oneOf(["empty", "text", "bytes", "stream", "sized-stream"] as const)
const reasonArb = oneOf([undefined, "", "Fine", "Bad\r\nX-Evil: 1", "tab\tok", "nul\0"])
const anyValue = Arbitrary.schema(Schema.Unknown)

type Outcome =
  | { readonly _tag: "Respond"; readonly status: number; readonly body: string; readonly reason: string | undefined }
  | { readonly _tag: "Succeed" | "Fail" | "Die"; readonly value: unknown }

/** Half the runs give a Response (of any status, reason and body), the rest any value. */
const outcomeArb: Arbitrary.Arbitrary<Outcome> = int(0, 5).pipe(
  Arbitrary.flatMap((kind) =>
    kind < 3
      ? Arbitrary.all({ status: statusArb, body: bodyArb, reason: reasonArb }).pipe(
        Arbitrary.map((r): Outcome => ({ _tag: "Respond", ...r }))
      )
      : anyValue.pipe(Arbitrary.map((value): Outcome => ({ _tag: (["Succeed", "Fail", "Die"] as const)[kind - 3]!, value })))
  )
)

const makeResponse = (outcome: Extract<Outcome, { _tag: "Respond" }>): Response.Response => {
  const options = { status: outcome.status, reason: outcome.reason }
  switch (outcome.body) {
    case "empty":
      return Response.empty(options)
    case "text":
      return Response.text("text body", options)
    case "bytes":
      return Response.bytes(encoder.encode("bytes body"), options)
    case "sized-stream":
      return Response.stream(Stream.make(encoder.encode("abc")), { ...options, contentLength: 3 })
    default:
      return Response.stream(Stream.make(encoder.encode("a"), encoder.encode("bc")), options)
  }
}

const effectOf = (outcome: Outcome): Effect.Effect<Response.Response, unknown> => {
  switch (outcome._tag) {
    case "Respond":
      return Effect.sync(() => makeResponse(outcome))
    case "Succeed":
      return Effect.succeed(outcome.value as Response.Response)
    case "Fail":
      return Effect.fail(outcome.value)
    case "Die":
      return Effect.die(outcome.value)
  }
}

/** The status the client must see: the handler's when it is a valid response, else 500. */
const expectedStatus = (outcome: Outcome): number => {
  if (outcome._tag !== "Respond") return 500
  const validStatus = Number.isInteger(outcome.status) && outcome.status >= 200 && outcome.status <= 599
  const validReason = outcome.reason === undefined || Response.isValidReasonPhrase(outcome.reason)
  return validStatus && validReason ? outcome.status : 500
}

describe("property: any outcome of a handler", () => {
  it.live.prop(
    "gives one well-formed response (the handler's or a 500), the wire stays in step, the server goes on",
    { outcome: outcomeArb, method: oneOf(["GET", "HEAD"] as const), sync: oneOf([true, false]) },
    ({ outcome, method, sync }) =>
      Effect.scoped(Effect.gen(function*() {
        const capture = makeLogCapture()
        yield* Effect.gen(function*() {
          const handled = effectOf(outcome)
          const { port } = yield* serve((request) =>
            answerProbe(request) ?? (sync ? handled : Effect.flatMap(Effect.yieldNow, () => handled))
          )
          const responses = yield* exchange(port, `${method} /case HTTP/1.1\r\nHost: x\r\n\r\n`, method)
          const [answer, ...rest] = responses
          expect(answer?.status).toBe(expectedStatus(outcome))
          if (method === "HEAD" || answer?.status === 204 || answer?.status === 304) {
            expect(answer?.body.length).toBe(0)
          }
          // The probe follows unless the answer ended the connection.
          if (answer?.header("Connection") !== "close") {
            expect(rest.map((r) => [r.status, r.text])).toEqual([[200, "probe"]])
          } else {
            expect(rest).toEqual([])
          }
          yield* expectAlive(port)
        }).pipe(Effect.provide(capture.layer))
        return true
      })),
    { timeout: 60_000, arbitrary: { runs: 150 } }
  )
})
