/**
 * The demo command's `--compress-response` (shared/spec/demo-server.md, "With
 * `--compress-response`"), through the command as a child process: every
 * route's body compressed as `Accept-Encoding` allows when it is at least
 * 1 KiB or streamed; `Content-Encoding` and `Vary: Accept-Encoding`; HEAD
 * without a body; nothing compressed without the option.
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import * as Zlib from "node:zlib"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { startDemo } from "../support/DemoProcess.ts"
import * as RawClient from "../support/RawClient.ts"

const run = promisify(execFile)

const get = (port: number, path: string, acceptEncoding: string) =>
  RawClient.requestOnce(port, RawClient.get(path, `Accept-Encoding: ${acceptEncoding}`))

describe("effect-httpserver --compress-response (child process)", () => {
  it.live("compresses whole and streamed bodies by Accept-Encoding; small ones and HEAD go as they are", () =>
    Effect.gen(function*() {
      const { port } = yield* startDemo(["--compress-response"])

      const large = yield* get(port, "/large?size=4096", "gzip")
      expect(large.header("Content-Encoding")).toBe("gzip")
      expect(large.header("Vary")).toBe("Accept-Encoding")
      expect(Number(large.header("Content-Length"))).toBe(large.body.length)
      expect(Zlib.gunzipSync(large.body).toString()).toBe("a".repeat(4096))

      const chosen = yield* get(port, "/large?size=4096", "br;q=0.5, zstd")
      expect(chosen.header("Content-Encoding")).toBe("zstd")
      expect(Zlib.zstdDecompressSync(chosen.body).toString()).toBe("a".repeat(4096))

      // Streamed: compressed though short, chunked.
      const streamed = yield* get(port, "/chunked", "br")
      expect(streamed.header("Content-Encoding")).toBe("br")
      expect(streamed.framing).toBe("chunked")
      expect(Zlib.brotliDecompressSync(streamed.body).toString()).toBe("Hello world")

      const small = yield* get(port, "/hello", "gzip")
      expect([small.header("Content-Encoding"), small.text]).toEqual([undefined, "Hello world"])

      // Nothing acceptable (identity refused too): the body as it is, not an error.
      const refused = yield* get(port, "/large?size=2048", "identity;q=0")
      expect(refused.status).toBe(200)
      expect(refused.header("Content-Encoding")).toBeUndefined()
      expect(refused.header("Vary")).toBe("Accept-Encoding")
      expect(refused.body.length).toBe(2048)

      const head = yield* RawClient.requestOnce(
        port,
        "HEAD /chunked HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n",
        { head: true }
      )
      expect(head.status).toBe(200)
      expect(head.body.length).toBe(0)

      const { stdout } = yield* Effect.promise(() =>
        run("curl", ["--silent", "--show-error", "--compressed", `http://127.0.0.1:${port}/large?size=100000`])
      )
      expect(stdout).toBe("a".repeat(100000))
    }), { timeout: 60_000 })

  it.live("without the option, nothing is compressed", () =>
    Effect.gen(function*() {
      const { port } = yield* startDemo()
      const large = yield* get(port, "/large?size=4096", "gzip, br, zstd")
      expect(large.header("Content-Encoding")).toBeUndefined()
      expect(large.header("Vary")).toBeUndefined()
      expect(large.text).toBe("a".repeat(4096))
    }), { timeout: 60_000 })
})
