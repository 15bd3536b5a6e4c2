/**
 * Requests the server refuses (Tornado's HTTPServerRawTest, MaxHeaderSizeTest,
 * UnixSocketTest.test_unix_socket_bad_request, and the error table of
 * shared/spec/demo-server.md): one error response, then the connection
 * closes, and nothing sent after the bad request is served.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { handler as demoHandler } from "../../src/cli/DemoApp.ts"
import type { ServerConfigInput } from "../../src/Config/ServerConfig.ts"
import * as HTTPServer from "../../src/Server/HTTPServer.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeLogCapture, serveDemo } from "../support/TestServer.ts"

/** Sends `request`, reads until the server closes, returns every response. */
const sendUntilClose = (request: string | Buffer, config: ServerConfigInput = {}) =>
  Effect.gen(function*() {
    const { port } = yield* serveDemo(config)
    const client = yield* RawClient.connect(port)
    yield* client.write(request)
    return RawClient.parseAllResponses(yield* client.readUntilClose())
  }).pipe(Effect.provide(makeLogCapture().layer))

const expectOnly = (responses: Array<RawClient.RawResponse>, status: number) => {
  expect(responses.map((r) => r.status)).toEqual([status])
  const response = responses[0] as RawClient.RawResponse
  expect(response.header("Connection")).toBe("close")
  expect(response.header("Date")).toBeDefined()
  expect(response.header("Content-Length")).toBe(String(response.body.length))
}

const GOOD = RawClient.get("/echo?served=yes")

describe("400 Bad Request, then close", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["a malformed request line", "asdf\r\n\r\n"],
    ["a request line with too many parts", "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n"],
    ["a header line without a colon", "GET / HTTP/1.0\r\nasdf\r\n\r\n"],
    ["whitespace between a header name and its colon", "GET / HTTP/1.1\r\nHost: x\r\nX-Bad : 1\r\n\r\n"],
    ["an obsolete folded header line", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n"],
    ["a non-numeric Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: foo\r\n\r\nbar\r\n\r\n"],
    ["a negative Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"],
    [
      "two different Content-Lengths",
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"
    ],
    [
      "both Content-Length and Transfer-Encoding",
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ],
    ["an HTTP/1.1 request without Host", "GET / HTTP/1.1\r\n\r\n"],
    ["an HTTP/1.1 request with two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"],
    ["an HTTP/1.0 request with two Hosts", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"],
    [
      "bad chunk framing",
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nfoo\r\n0\r\n\r\n"
    ],
    [
      "chunk data longer than its size",
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n"
    ]
  ]
  for (const [name, request] of cases) {
    it.live(name, () =>
      Effect.gen(function*() {
        expectOnly(yield* sendUntilClose(request), 400)
      }))
    it.live(`${name}: a good request in the same write is not served`, () =>
      Effect.gen(function*() {
        expectOnly(yield* sendUntilClose(request + GOOD), 400)
      }))
  }

  it.live("a smuggling attempt (CL + TE hiding a request) serves nothing but the 400", () =>
    Effect.gen(function*() {
      const responses = yield* sendUntilClose(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n" +
          "0\r\n\r\n" + RawClient.get("/echo?smuggled=1") + GOOD
      )
      expectOnly(responses, 400)
    }))

  it.live("the 400 is a complete HTTP/1.1 response (status line, reason)", () =>
    Effect.gen(function*() {
      const [response] = yield* sendUntilClose("asdf\r\n\r\n")
      expect(response?.version).toBe("HTTP/1.1")
      expect(response?.reason).toBe("Bad Request")
    }))

  it.live("a bad request after a good one on the same connection: the good one answered, then 400", () =>
    Effect.gen(function*() {
      const responses = yield* sendUntilClose(RawClient.get("/") + "asdf\r\n\r\n" + GOOD)
      expect(responses.map((r) => r.status)).toEqual([200, 400])
      expect(responses[1]?.header("Connection")).toBe("close")
    }))
})

describe("other refusals", () => {
  it.live("an unsupported Transfer-Encoding: 501, then close", () =>
    Effect.gen(function*() {
      const request = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc"
      expectOnly(yield* sendUntilClose(request + GOOD), 501)
    }))

  it.live("HTTP/2.0 in the request line: 505, then close", () =>
    Effect.gen(function*() {
      expectOnly(yield* sendUntilClose("GET / HTTP/2.0\r\nHost: x\r\n\r\n" + GOOD), 505)
    }))

  it.live("HTTP/0.9-style version numbers other than 1.0 / 1.1: 505", () =>
    Effect.gen(function*() {
      expectOnly(yield* sendUntilClose("GET / HTTP/1.2\r\nHost: x\r\n\r\n"), 505)
    }))

  it.live("a head larger than maxHeaderSize: 431, then close", () =>
    Effect.gen(function*() {
      const request = RawClient.get("/", `X-Filler: ${"a".repeat(2000)}`)
      expectOnly(yield* sendUntilClose(request + GOOD, { maxHeaderSize: 1024 }), 431)
    }))

  it.live("a head larger than maxHeaderSize that never ends: 431, then close", () =>
    Effect.gen(function*() {
      const request = `GET / HTTP/1.1\r\nHost: x\r\nX-Filler: ${"a".repeat(4000)}`
      expectOnly(yield* sendUntilClose(request, { maxHeaderSize: 1024 }), 431)
    }))

  it.live("a head within maxHeaderSize is served", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ maxHeaderSize: 1024 })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/", `X-Filler: ${"a".repeat(100)}`))
      const response = yield* client.readResponse()
      expect([response.status, response.text]).toEqual([200, "Hello world"])
    }))

  it.live("a connection closed without a request leaves the server serving", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveDemo()
      const empty = yield* RawClient.connect(port)
      yield* empty.destroy()
      expect(yield* RawClient.eventually(() => server.connectionCount() === 0)).toBe(true)
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/"))
      expect((yield* client.readResponse()).text).toBe("Hello world")
      expect(server.connectionCount()).toBe(1)
    }))

  it.live("on a Unix socket: a good request is served, garbage gets 400 and close", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-httpserver-test-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const path = Path.join(dir, "test.sock")
      const server = yield* Effect.orDie(
        HTTPServer.listen(demoHandler, { unixSocket: path, shutdownTimeout: 2000 })
      )
      expect(server.address).toEqual({ _tag: "UnixAddress", path })
      expect(server.url).toBe(`unix:${path}`)
      const good = yield* RawClient.connect({ path })
      yield* good.write("GET /hello HTTP/1.0\r\n\r\n")
      const response = yield* good.readResponse()
      expect([response.status, response.text]).toEqual([200, "Hello world"])
      const bad = yield* RawClient.connect({ path })
      yield* bad.write("garbage\r\n\r\n")
      expectOnly(RawClient.parseAllResponses(yield* bad.readUntilClose()), 400)
    }))

  it.live("a socket file left behind by a server that died is replaced, a regular file is not", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-httpserver-test-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const path = Path.join(dir, "stale.sock")
      // A server that dies without closing leaves its socket file behind.
      const died = ChildProcess.spawnSync(process.execPath, [
        "-e",
        `require("node:net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`
      ])
      expect(died.signal).toBe("SIGKILL")
      expect(Fs.statSync(path).isSocket()).toBe(true)
      yield* Effect.orDie(HTTPServer.listen(demoHandler, { unixSocket: path, shutdownTimeout: 2000 }))
      const client = yield* RawClient.connect({ path })
      yield* client.write("GET /hello HTTP/1.0\r\n\r\n")
      expect((yield* client.readResponse()).text).toBe("Hello world")

      const regular = Path.join(dir, "regular-file")
      Fs.writeFileSync(regular, "keep me")
      const failed = yield* Effect.flip(HTTPServer.listen(demoHandler, { unixSocket: regular }))
      expect(failed._tag).toBe("ListenError")
      expect(Fs.readFileSync(regular, "utf8")).toBe("keep me")
    }))
})
