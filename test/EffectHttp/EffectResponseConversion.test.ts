/**
 * The adapter's response conversion, without a server: what an
 * `HttpServerResponse` becomes for the engine.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import type { ResponseBody, ResponseHeaders } from "../../src/Response/Response.ts"
import { toResponse } from "../../src/EffectHttp/EffectResponseConversion.ts"
import { InvalidResponseStatus } from "../../src/Wire/HttpErrors.ts"

interface Sent {
  readonly status: number
  readonly headers: ResponseHeaders
  readonly body: ResponseBody | { readonly stream: Stream.Stream<Uint8Array, unknown>; readonly contentLength: number | undefined }
}

const convert = (response: HttpServerResponse.HttpServerResponse, isHead = false): Sent => {
  let sent: Sent | undefined
  toResponse(response, isHead, (status, headers, body) => {
    sent = { status, headers, body }
  })
  if (sent === undefined) throw new Error("nothing sent")
  return sent
}

const collect = (stream: Stream.Stream<Uint8Array, unknown>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat(Array.from(chunks)).toString("latin1"))

describe("toResponse", () => {
  it("text: status, headers, body as text; cookies as Set-Cookie lines", () => {
    const response = HttpServerResponse.text("hi", { status: 201 }).pipe(
      HttpServerResponse.setCookieUnsafe("a", "1")
    )
    const sent = convert(response)
    expect(sent.status).toBe(201)
    expect(sent.body).toEqual({ _tag: "Text", text: "hi" })
    expect(sent.headers["content-type"]).toBe("text/plain")
    expect(sent.headers["set-cookie"]).toEqual(["a=1"])
  })

  it("a status that cannot be final is an InvalidResponseStatus", () => {
    for (const status of [100, 101, 199, 600, 0]) {
      expect(() => convert(HttpServerResponse.empty({ status }))).toThrow(InvalidResponseStatus)
    }
  })

  it("no body for 204 and 304, whatever the body", () => {
    for (const status of [204, 304]) {
      expect(convert(HttpServerResponse.text("x", { status })).body).toEqual({ _tag: "Empty" })
    }
  })

  it.effect("a streamed body keeps its declared length (the engine holds the body to it: the adapter suite's /wrong-length); for HEAD it is not run", () =>
    Effect.gen(function*() {
      const stream = Stream.make(new Uint8Array([0x61, 0x62]))
      const sent = convert(HttpServerResponse.stream(stream, { contentLength: 2 }))
      expect("stream" in sent.body && sent.body.contentLength).toBe(2)
      if (!("stream" in sent.body)) throw new Error("not a stream")
      expect(yield* collect(sent.body.stream)).toBe("ab")
      const short = convert(HttpServerResponse.stream(stream, { contentLength: 3 }))
      if (!("stream" in short.body)) throw new Error("not a stream")
      expect(short.body.contentLength).toBe(3)
      const head = convert(HttpServerResponse.stream(Stream.die("must not run"), { contentLength: 5 }), true)
      expect(head.body).toMatchObject({ _tag: "Stream", contentLength: 5 })
      if (!("_tag" in head.body) || head.body._tag !== "Stream") throw new Error("not a stream body")
      expect(yield* collect(head.body.stream)).toBe("")
    }))
})
