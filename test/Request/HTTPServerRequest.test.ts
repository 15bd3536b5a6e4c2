/**
 * What a handler reads off the request beyond the head's fields:
 * `fullUrl()`, `hostName`, `requestTime()`, over real sockets.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Response from "../../src/Response/Response.ts"
import type { HTTPServerRequest } from "../../src/Request/HTTPServerRequest.ts"
import * as RawClient from "../support/RawClient.ts"
import { serve } from "../support/TestServer.ts"

/** Answers with what the request says about itself. */
const describeRequest = (request: HTTPServerRequest) =>
  Effect.succeed(Response.json({ fullUrl: request.fullUrl(), host: request.host, hostName: request.hostName }))

/** Sends one raw request head and returns the JSON answer. */
const ask = (client: RawClient.RawConnection, requestLine: string, ...headerLines: Array<string>) =>
  Effect.gen(function*() {
    yield* client.write([requestLine, ...headerLines, "", ""].join("\r\n"))
    const response = yield* client.readResponse()
    expect(response.status).toBe(200)
    return response.json() as { fullUrl: string; host: string; hostName: string }
  })

describe("fullUrl", () => {
  it.live("is protocol, host and target for origin-form and absolute-form targets", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(describeRequest)
      const client = yield* RawClient.connect(port)
      const cases: ReadonlyArray<readonly [string, Array<string>, string]> = [
        ["GET /p?q=2 HTTP/1.1", ["Host: example.com"], "http://example.com/p?q=2"],
        ["GET /p? HTTP/1.1", ["Host: example.com:8080"], "http://example.com:8080/p?"],
        // RFC 9112 section 3.2.2: the target's authority is the host, not repeated.
        ["GET http://proxy.example/p?q=2 HTTP/1.1", ["Host: proxy.example"], "http://proxy.example/p?q=2"],
        ["GET http://proxy.example:81?q=2 HTTP/1.1", ["Host: other"], "http://proxy.example:81/?q=2"],
        ["GET http://proxy.example HTTP/1.1", ["Host: proxy.example"], "http://proxy.example/"],
        ["GET / HTTP/1.0", [], "http://127.0.0.1/"]
      ]
      for (const [line, headers, expected] of cases) {
        expect([line, (yield* ask(client, line, ...headers)).fullUrl]).toEqual([line, expected])
      }
    }))

  it.live("follows the protocol override", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(describeRequest, { protocol: "https" })
      const client = yield* RawClient.connect(port)
      expect((yield* ask(client, "GET http://a.example/x HTTP/1.1", "Host: a.example")).fullUrl).toBe(
        "https://a.example/x"
      )
    }))
})

describe("hostName", () => {
  it.live("is the host lower-cased without its port; IPv6 literals keep their brackets", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(describeRequest)
      const client = yield* RawClient.connect(port)
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["Example.COM:8080", "example.com"],
        ["example.com", "example.com"],
        ["[::1]:8888", "[::1]"],
        ["[2001:DB8::1]", "[2001:db8::1]"],
        ["127.0.0.1:80", "127.0.0.1"]
      ]
      for (const [host, expected] of cases) {
        const data = yield* ask(client, "GET / HTTP/1.1", `Host: ${host}`)
        expect([host, data.host, data.hostName]).toEqual([host, host, expected])
      }
    }))
})

describe("requestTime", () => {
  it.live("grows while the handler runs and stops once the response is made", () =>
    Effect.gen(function*() {
      let seen: HTTPServerRequest | undefined
      let during = 0
      const { port } = yield* serve((request) =>
        Effect.gen(function*() {
          seen = request
          yield* RawClient.sleepReal(150)
          during = request.requestTime()
          return Response.text("done")
        })
      )
      const client = yield* RawClient.connect(port)
      const started = performance.now()
      yield* client.write(RawClient.get("/"))
      expect((yield* client.readResponse()).text).toBe("done")
      const elapsed = (performance.now() - started) / 1000
      expect(during).toBeGreaterThanOrEqual(0.14)
      const final = seen?.requestTime() ?? Number.NaN
      expect(final).toBeGreaterThanOrEqual(during)
      expect(final).toBeLessThanOrEqual(elapsed)
      yield* RawClient.sleepReal(50)
      // Once answered, the time no longer moves.
      expect(seen?.requestTime()).toBe(final)
      expect(Math.abs((seen?.startTime.getTime() ?? 0) - Date.now())).toBeLessThan(5000)
    }))
})

describe("limits of a request without a body", () => {
  it.live("setMaxBodySize and setBodyTimeout on a bodiless request change that request's limits only", () =>
    Effect.gen(function*() {
      const { port } = yield* serve((request) =>
        Effect.gen(function*() {
          const before = request.maxBodySize
          if (request.path === "/change") {
            yield* request.setMaxBodySize(7)
            yield* request.setBodyTimeout("1 second")
          }
          const body = yield* request.body
          return Response.json({ before, after: request.maxBodySize, bodyBytes: body.byteLength })
        }), { maxBodySize: 1000 })
      const first = yield* RawClient.connect(port)
      const second = yield* RawClient.connect(port)
      yield* first.write("GET /change HTTP/1.1\r\nHost: x\r\n\r\n")
      expect((yield* first.readResponse()).json()).toEqual({ before: 1000, after: 7, bodyBytes: 0 })
      // Another connection, and the next request on the same one, have the server's limit.
      yield* second.write("GET /same HTTP/1.1\r\nHost: x\r\n\r\n")
      expect((yield* second.readResponse()).json()).toEqual({ before: 1000, after: 1000, bodyBytes: 0 })
      yield* first.write("GET /same HTTP/1.1\r\nHost: x\r\n\r\n")
      expect((yield* first.readResponse()).json()).toEqual({ before: 1000, after: 1000, bodyBytes: 0 })
    }))
})
