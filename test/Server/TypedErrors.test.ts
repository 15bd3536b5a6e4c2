/**
 * Reading a body fails with the engine's typed errors: a handler can
 * `Effect.catchTag` each and answer its own way; where the error broke the
 * framing, the connection still closes after that answer. Left uncaught,
 * each maps to the status `statusOf` gives.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Option } from "effect"
import {
  answerOf,
  BodyTimeout,
  BodyTooLarge,
  ConnectionClosed,
  HeaderTimeout,
  HeaderTooLarge,
  InvalidBody,
  InvalidResponseHeader,
  InvalidResponseStatus,
  isHttpError,
  keepsConnection,
  MalformedRequest,
  NotAResponse,
  statusOf,
  UnsupportedContentEncoding,
  UnsupportedTransferEncoding,
  VersionNotSupported
} from "../../src/Wire/HttpErrors.ts"
import type { HTTPServerRequest } from "../../src/Request/HTTPServerRequest.ts"
import * as Response from "../../src/Response/Response.ts"
import * as L from "../support/LimitsClient.ts"
import * as RawClient from "../support/RawClient.ts"
import { serve } from "../support/TestServer.ts"

const FORM = "Content-Type: application/x-www-form-urlencoded"

const FIELDS = ["limit", "limitName", "contentLength", "timeoutMillis", "reason", "contentEncoding"] as const

/** The error's tag and fields as JSON (a field that is absent or undefined stays absent). */
const describeError = (error: { readonly _tag: string }) => {
  const json: Record<string, unknown> = { tag: error._tag }
  for (const field of FIELDS) {
    const value = (error as unknown as Record<string, unknown>)[field]
    if (value !== undefined) json[field] = value
  }
  return json
}

/**
 * A handler that reads `request.body` and catches every typed body error,
 * answering with `status` and the error's fields.
 */
const catchingBody = (status: number) => (request: HTTPServerRequest) =>
  request.body.pipe(
    Effect.map((body) => Response.text(`read ${body.byteLength}`)),
    Effect.catchTag("BodyTooLarge", (e) => Effect.succeed(Response.json(describeError(e), { status }))),
    Effect.catchTag("BodyTimeout", (e) => Effect.succeed(Response.json(describeError(e), { status }))),
    Effect.catchTag("MalformedRequest", (e) => Effect.succeed(Response.json(describeError(e), { status }))),
    Effect.catchTag("ConnectionClosed", (e) => Effect.succeed(Response.json(describeError(e), { status })))
  )

/** A handler that reads `request.body` and lets every error through. */
const uncaughtBody = (request: HTTPServerRequest) =>
  Effect.map(request.body, (body) => Response.text(`read ${body.byteLength}`))

/** Reads one response, then asserts the connection closes with nothing more. */
const readThenClose = (client: RawClient.RawConnection) =>
  Effect.gen(function*() {
    const response = yield* client.readResponse()
    expect((yield* client.readUntilClose()).toString("latin1")).toBe("")
    return response
  })

describe("statusOf and keepsConnection", () => {
  it("map every error as the error table says", () => {
    expect(statusOf(new HeaderTooLarge({ limit: 1 }))).toBe(431)
    expect(statusOf(new BodyTooLarge({ limit: 1, limitName: "maxBodySize" }))).toBe(413)
    expect(statusOf(new HeaderTimeout({ timeoutMillis: 1 }))).toBe(408)
    expect(statusOf(new BodyTimeout({ timeoutMillis: 1 }))).toBe(408)
    expect(statusOf(new MalformedRequest({ reason: "x" }))).toBe(400)
    expect(statusOf(new VersionNotSupported({ version: "HTTP/2.0" }))).toBe(505)
    expect(statusOf(new UnsupportedTransferEncoding({ transferEncoding: "gzip" }))).toBe(501)
    expect(statusOf(new UnsupportedContentEncoding({ contentEncoding: "gzip" }))).toBe(400)
    expect(statusOf(new InvalidBody({ reason: "x" }))).toBe(400)
    expect(statusOf(new ConnectionClosed({ reason: "x" }))).toBeUndefined()
    expect(keepsConnection(new UnsupportedContentEncoding({ contentEncoding: "gzip" }))).toBe(true)
    expect(keepsConnection(new InvalidBody({ reason: "x" }))).toBe(true)
    expect(keepsConnection(new BodyTooLarge({ limit: 1, limitName: "maxBodySize" }))).toBe(false)
    expect(keepsConnection(new MalformedRequest({ reason: "x" }))).toBe(false)
    expect(keepsConnection(new BodyTimeout({ timeoutMillis: 1 }))).toBe(false)
  })

  it("the response errors are tagged engine errors answered 500; anything else is 500 keeping the connection", () => {
    const header = new InvalidResponseHeader({ headerName: "X\r\n" })
    const status = new InvalidResponseStatus({ status: 99 })
    const value = new NotAResponse({ value: "undefined" })
    for (const error of [header, status, value]) {
      expect(isHttpError(error)).toBe(true)
      expect(statusOf(error)).toBe(500)
      expect(error).toBeInstanceOf(Error)
    }
    expect(header._tag).toBe("InvalidResponseHeader")
    expect(header.message).toBe('invalid response header: "X\\r\\n"')
    expect(status.message).toBe("invalid final response status: 99")
    // Thrown while serializing: the connection closes after the 500.
    expect(keepsConnection(header)).toBe(false)
    expect(keepsConnection(status)).toBe(false)
    // Found before anything was written: the connection goes on.
    expect(keepsConnection(value)).toBe(true)
    expect(answerOf(new Error("boom"))).toEqual({ status: 500, keepsConnection: true })
    expect(answerOf(undefined)).toEqual({ status: 500, keepsConnection: true })
    expect(answerOf(new MalformedRequest({ reason: "x" }))).toEqual({ status: 400, keepsConnection: false })
    // A tag the table does not hold is not an engine error, whatever it looks like.
    expect(isHttpError({ _tag: "SomethingElse" })).toBe(false)
    expect(isHttpError({ _tag: "MalformedRequest" })).toBe(true)
  })
})

describe("BodyTooLarge", () => {
  it.live("from Content-Length: caught, the handler answers its own way; fields limit, limitName, contentLength; then close", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(catchingBody(422), { maxBodySize: 100 })
      const client = yield* RawClient.connect(port)
      yield* client.write(L.head("PUT", "/", "Content-Length: 200"))
      const response = yield* readThenClose(client)
      expect(response.status).toBe(422)
      expect(response.header("Connection")).toBe("close")
      expect(response.json()).toEqual({ tag: "BodyTooLarge", limit: 100, limitName: "maxBodySize", contentLength: 200 })
    }))

  it.live("met while reading a chunked body: caught, no contentLength; then close", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(catchingBody(422), { maxBodySize: 100 })
      const client = yield* RawClient.connect(port)
      yield* client.write(L.chunkedRequest("PUT", "/", ["a".repeat(60), "a".repeat(60)]))
      const response = yield* readThenClose(client)
      expect(response.status).toBe(422)
      const error = response.json()
      expect(error.tag).toBe("BodyTooLarge")
      expect(error.limit).toBe(100)
      expect(error.limitName).toBe("maxBodySize")
      expect(error.contentLength).toBeUndefined()
    }))

  it.live("over maxBufferSize for a buffered read: limitName maxBufferSize; then close", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(catchingBody(507), { maxBodySize: 10_000, maxBufferSize: 100 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("PUT", "/", "a".repeat(500)))
      const response = yield* readThenClose(client)
      expect(response.status).toBe(507)
      expect(response.json()).toEqual({ tag: "BodyTooLarge", limit: 100, limitName: "maxBufferSize", contentLength: 500 })
    }))

  it.live("after setMaxBodySize, the error carries the limit in force for the request", () => {
    const handler = (request: HTTPServerRequest) =>
      Effect.flatMap(request.setMaxBodySize(50), () => catchingBody(422)(request))
    return Effect.gen(function*() {
      const { port } = yield* serve(handler, { maxBodySize: 1000 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("PUT", "/", "a".repeat(80)))
      const response = yield* readThenClose(client)
      expect(response.json()).toEqual({ tag: "BodyTooLarge", limit: 50, limitName: "maxBodySize", contentLength: 80 })
    })
  })

  it.live("uncaught: 413, then close", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(uncaughtBody, { maxBodySize: 100 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("PUT", "/", "a".repeat(200)))
      expect((yield* readThenClose(client)).status).toBe(413)
    }))
})

describe("BodyTimeout", () => {
  it.live("caught: the handler answers its own way, timeoutMillis set; then close", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(catchingBody(503), { bodyTimeout: 100 })
      const client = yield* RawClient.connect(port)
      yield* client.write(L.head("PUT", "/", "Content-Length: 50") + "only part of it")
      const [millis, response] = yield* L.timed(readThenClose(client))
      expect(response.status).toBe(503)
      expect(response.header("Connection")).toBe("close")
      expect(response.json()).toEqual({ tag: "BodyTimeout", timeoutMillis: 100 })
      expect(millis).toBeLessThan(800)
    }))

  it.live("caught after setBodyTimeout: timeoutMillis is the request's", () => {
    const handler = (request: HTTPServerRequest) =>
      Effect.flatMap(request.setBodyTimeout(80), () => catchingBody(503)(request))
    return Effect.gen(function*() {
      const { port } = yield* serve(handler)
      const client = yield* RawClient.connect(port)
      yield* client.write(L.head("PUT", "/", "Transfer-Encoding: chunked") + "a\r\nabc")
      const response = yield* readThenClose(client)
      expect(response.status).toBe(503)
      expect(response.json()).toEqual({ tag: "BodyTimeout", timeoutMillis: 80 })
    })
  })

  it.live("uncaught: a 408, then the connection closes", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(uncaughtBody, { bodyTimeout: 100 })
      const client = yield* RawClient.connect(port)
      yield* client.write(L.head("PUT", "/", "Content-Length: 50") + "only part of it")
      const rest = yield* client.readUntilClose()
      expect(RawClient.parseAllResponses(rest).map((r) => r.status)).toEqual([408])
    }))
})

describe("MalformedRequest", () => {
  it.live("bad chunk framing met while the handler reads request.body: caught with a reason; then close", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(catchingBody(422))
      const client = yield* RawClient.connect(port)
      yield* client.write(L.head("PUT", "/", "Transfer-Encoding: chunked") + "5\r\nhello\r\nZZ\r\nmore\r\n0\r\n\r\n")
      const response = yield* readThenClose(client)
      expect(response.status).toBe(422)
      expect(response.header("Connection")).toBe("close")
      const error = response.json()
      expect(error.tag).toBe("MalformedRequest")
      expect(typeof error.reason).toBe("string")
      expect(error.reason.length).toBeGreaterThan(0)
    }))

  it.live("chunk data not followed by CRLF: caught too; then close", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(catchingBody(422))
      const client = yield* RawClient.connect(port)
      yield* client.write(L.head("PUT", "/", "Transfer-Encoding: chunked") + "3\r\nabcdef\r\n0\r\n\r\n")
      const response = yield* readThenClose(client)
      expect(response.status).toBe(422)
      expect(response.json().tag).toBe("MalformedRequest")
    }))

  it.live("uncaught: 400, then close", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(uncaughtBody)
      const client = yield* RawClient.connect(port)
      yield* client.write(L.head("PUT", "/", "Transfer-Encoding: chunked") + "5\r\nhello\r\nZZ\r\n")
      const response = yield* readThenClose(client)
      expect(response.status).toBe(400)
      expect(response.header("Connection")).toBe("close")
    }))
})

describe("UnsupportedContentEncoding", () => {
  const handler = (request: HTTPServerRequest) =>
    request.bodyArguments.pipe(
      Effect.map((args) => Response.json(args)),
      Effect.catchTag("UnsupportedContentEncoding", (e) => Effect.succeed(Response.json(describeError(e), { status: 415 })))
    )

  it.live("from request.bodyArguments: caught, contentEncoding set; the connection stays usable", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(handler)
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("POST", "/", L.gzip("foo=bar"), FORM, "Content-Encoding: gzip"))
      const response = yield* client.readResponse()
      expect(response.status).toBe(415)
      expect(response.header("Connection")).toBeUndefined()
      expect(response.json()).toEqual({ tag: "UnsupportedContentEncoding", contentEncoding: "gzip" })
      yield* client.write(RawClient.withBody("POST", "/", "foo=bar", FORM))
      const second = yield* client.readResponse()
      expect(second.status).toBe(200)
      expect(second.json()).toEqual({ foo: ["bar"] })
    }))

  it.live("uncaught: 400, and the connection stays usable", () =>
    Effect.gen(function*() {
      const { port } = yield* serve((request: HTTPServerRequest) =>
        Effect.map(request.bodyArguments, (args) => Response.json(args))
      )
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("POST", "/", L.gzip("foo=bar"), FORM, "Content-Encoding: gzip"))
      const response = yield* client.readResponse()
      expect(response.status).toBe(400)
      expect(response.header("Connection")).toBeUndefined()
      yield* client.write(RawClient.withBody("POST", "/", "a=b", FORM))
      expect((yield* client.readResponse()).json()).toEqual({ a: ["b"] })
    }))
})

describe("ConnectionClosed: the client goes away mid-body", () => {
  type Seen = ConnectionClosed | "interrupted" | "body read"

  /** A handler that reports what reading its body came to. */
  const reporting = (seen: Deferred.Deferred<Seen>) => (request: HTTPServerRequest) =>
    request.body.pipe(
      Effect.tap(() => Deferred.succeed(seen, "body read")),
      Effect.map(() => Response.text("whole")),
      Effect.catchTag("ConnectionClosed", (error) =>
        Effect.as(Deferred.succeed(seen, error), Response.text("nobody will read this", { status: 499 }))),
      Effect.onInterrupt(() => Deferred.succeed(seen, "interrupted"))
    )

  const awaitSeen = (seen: Deferred.Deferred<Seen>) =>
    Effect.map(Effect.timeoutOption(Deferred.await(seen), 1000), Option.getOrUndefined)

  const cases: ReadonlyArray<readonly [string, (client: RawClient.RawConnection) => Effect.Effect<void>]> = [
    ["half-closes (end)", (client) => client.end()],
    ["closes (destroy)", (client) => client.destroy()],
    ["resets (RST)", (client) => Effect.sync(() => void client.socket.resetAndDestroy())]
  ]

  for (const [how, goAway] of cases) {
    it.live(`the client ${how}: the handler sees ConnectionClosed with a reason`, () =>
      Effect.gen(function*() {
        const seen = yield* Deferred.make<Seen>()
        const { port } = yield* serve(reporting(seen), { shutdownTimeout: 100 })
        const client = yield* RawClient.connect(port)
        yield* client.write(L.head("PUT", "/", "Content-Length: 100") + "the first ten")
        yield* RawClient.sleepReal(50) // the handler is waiting for the rest
        yield* goAway(client)
        const result = yield* awaitSeen(seen)
        expect(result, "what the handler saw within 1 s").toBeInstanceOf(ConnectionClosed)
        if (result instanceof ConnectionClosed) {
          expect(result._tag).toBe("ConnectionClosed")
          expect(typeof result.reason).toBe("string")
          expect(result.reason.length).toBeGreaterThan(0)
        }
      }))
  }

  it.live("a chunked body cut short by a half-close: ConnectionClosed too", () =>
    Effect.gen(function*() {
      const seen = yield* Deferred.make<Seen>()
      const { port } = yield* serve(reporting(seen), { shutdownTimeout: 100 })
      const client = yield* RawClient.connect(port)
      yield* client.write(L.head("PUT", "/", "Transfer-Encoding: chunked") + "a\r\nabc")
      yield* RawClient.sleepReal(50)
      yield* client.end()
      expect(yield* awaitSeen(seen)).toBeInstanceOf(ConnectionClosed)
    }))

  // A FIN is all a client that went away leaves on a socket: like Tornado and
  // nginx, the server abandons the request and interrupts its handler.
  it.live("a half-close mid-body while the handler is not reading yet: the handler is interrupted", () => {
    const handler = (seen: Deferred.Deferred<Seen>) => (request: HTTPServerRequest) =>
      Effect.flatMap(Effect.sleep(150), () => reporting(seen)(request)).pipe(
        Effect.onInterrupt(() => Deferred.succeed(seen, "interrupted"))
      )
    return Effect.gen(function*() {
      const seen = yield* Deferred.make<Seen>()
      const { port } = yield* serve(handler(seen), { shutdownTimeout: 100 })
      const client = yield* RawClient.connect(port)
      yield* client.write(L.head("PUT", "/", "Content-Length: 100") + "the first ten")
      yield* client.end()
      expect(yield* awaitSeen(seen)).toBe("interrupted")
    })
  })

  it.live("uncaught: no response, the server closes the connection, and goes on serving others", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(uncaughtBody, { shutdownTimeout: 100 })
      const client = yield* RawClient.connect(port)
      yield* client.write(L.head("PUT", "/", "Content-Length: 100") + "the first ten")
      yield* RawClient.sleepReal(50)
      yield* client.end()
      expect((yield* client.readUntilClose(1000)).toString("latin1")).toBe("")
      const other = yield* RawClient.connect(port)
      yield* other.write(RawClient.withBody("PUT", "/", "all of it"))
      expect((yield* other.readResponse()).text).toBe("read 9")
    }))
})
