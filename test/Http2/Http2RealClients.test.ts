/**
 * Real HTTP/2 clients against the demo app: curl (`--http2` over TLS by
 * ALPN, `--http2-prior-knowledge` in clear, and HTTP/1.1 on the same port),
 * nghttp (the SETTINGS the server sends) and h2load (many streams on many
 * connections). Debian's `curl` and `nghttp2-client`.
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { serveDemo } from "../support/TestServer.ts"
import { suiteTlsMaterial } from "../support/TlsMaterial.ts"

const run = promisify(execFile)

/** Runs a client; its stdout. */
const client = (command: string, args: ReadonlyArray<string>) =>
  Effect.promise(() => run(command, [...args], { timeout: 20_000, maxBuffer: 16 * 1024 * 1024 })).pipe(
    Effect.map((result) => result.stdout)
  )

const tls = suiteTlsMaterial()

/** curl's body, then its HTTP version on the last line. */
const curl = (...args: Array<string>) =>
  Effect.map(client("curl", ["-sS", "-k", "-w", "\n%{http_version}", ...args]), (out) => {
    const cut = out.lastIndexOf("\n")
    return { body: out.slice(0, cut), httpVersion: out.slice(cut + 1) }
  })

describe("curl", () => {
  it.live("--http2 over TLS gets HTTP/2 by ALPN; --http1.1 on the same port gets HTTP/1.1", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true, ssl: tls.ssl() })
      const h2 = yield* curl("--http2", `https://127.0.0.1:${port}/echo?a=1`)
      expect(h2.httpVersion).toBe("2")
      expect(JSON.parse(h2.body)).toMatchObject({ version: "HTTP/2.0", protocol: "https", query: "a=1" })
      const h1 = yield* curl("--http1.1", `https://127.0.0.1:${port}/echo`)
      expect(h1.httpVersion).toBe("1.1")
      expect(JSON.parse(h1.body).version).toBe("HTTP/1.1")
    }))

  it.live("--http2-prior-knowledge in clear gets HTTP/2; plain curl on the same port gets HTTP/1.1", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true })
      const h2 = yield* curl("--http2-prior-knowledge", "-d", "x=1", `http://127.0.0.1:${port}/echo`)
      expect(h2.httpVersion).toBe("2")
      expect(JSON.parse(h2.body)).toMatchObject({ version: "HTTP/2.0", bodyArguments: { x: ["1"] } })
      const h1 = yield* curl(`http://127.0.0.1:${port}/echo`)
      expect(h1.httpVersion).toBe("1.1")
    }))

  it.live("without http2, --http2 over TLS falls back to HTTP/1.1 (ALPN offers only http/1.1)", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ ssl: tls.ssl() })
      const answer = yield* curl("--http2", `https://127.0.0.1:${port}/`)
      expect(answer.httpVersion).toBe("1.1")
      expect(answer.body).toBe("Hello world")
    }))
})

describe("nghttp", () => {
  it.live("the server's SETTINGS: maxConcurrentStreams, maxHeaderSize as MAX_HEADER_LIST_SIZE, no push", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true, maxConcurrentStreams: 7, maxHeaderSize: 20000 })
      const out = yield* client("nghttp", ["-nv", `http://127.0.0.1:${port}/`])
      const received = out.slice(out.indexOf("recv SETTINGS"))
      expect(received).toContain("SETTINGS_MAX_CONCURRENT_STREAMS(0x03):7")
      expect(received).toContain("SETTINGS_MAX_HEADER_LIST_SIZE(0x06):20000")
      expect(received).toContain("SETTINGS_ENABLE_PUSH(0x02):0")
      expect(out).toContain(":status: 200")
    }))
})

describe("h2load", () => {
  for (const secure of [false, true]) {
    it.live(`${secure ? "TLS" : "clear"}: 400 requests, 4 connections x 10 streams, all 200`, () =>
      Effect.gen(function*() {
        const { port } = yield* serveDemo(secure ? { http2: true, ssl: tls.ssl() } : { http2: true })
        const out = yield* client("h2load", ["-n", "400", "-c", "4", "-m", "10", `${secure ? "https" : "http"}://127.0.0.1:${port}/`])
        expect(out).toContain("400 succeeded, 0 failed, 0 errored")
        expect(out).toContain("status codes: 400 2xx")
        if (secure) expect(out).toContain("Application protocol: h2")
      }))
  }
})
