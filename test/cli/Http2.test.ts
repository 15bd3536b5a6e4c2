/**
 * The demo command's `--http2` and `--max-concurrent-streams`
 * (shared/spec/demo-server.md), through the command as a child process:
 * HTTP/2 with prior knowledge and HTTP/1.1 on the same port, `/echo`'s
 * `version`, the SETTINGS sent; a bad value refused.
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { parseOptions } from "../../src/cli/Options.ts"
import { startDemo } from "../support/DemoProcess.ts"
import * as RawClient from "../support/RawClient.ts"

const run = promisify(execFile)

describe("effect-httpserver --http2 (child process)", () => {
  it.live("HTTP/2 by the preface and HTTP/1.1 on one port; /echo says HTTP/2.0; SETTINGS_MAX_CONCURRENT_STREAMS as given", () =>
    Effect.gen(function*() {
      const { port } = yield* startDemo(["--http2", "--max-concurrent-streams", "7"])
      const h2 = yield* Effect.promise(() => run("curl", ["-sS", "--http2-prior-knowledge", `http://127.0.0.1:${port}/echo`]))
      expect(JSON.parse(h2.stdout).version).toBe("HTTP/2.0")
      const h1 = yield* Effect.scoped(RawClient.requestOnce(port, RawClient.get("/echo")))
      expect(h1.json<{ version: string }>().version).toBe("HTTP/1.1")
      const nghttp = yield* Effect.promise(() => run("nghttp", ["-nv", `http://127.0.0.1:${port}/`]))
      expect(nghttp.stdout).toContain("SETTINGS_MAX_CONCURRENT_STREAMS(0x03):7")
    }))

  it.live("without --http2 a client with prior knowledge is not served HTTP/2", () =>
    Effect.gen(function*() {
      const { port } = yield* startDemo([])
      const failed = yield* Effect.promise(() =>
        run("curl", ["-sS", "--http2-prior-knowledge", `http://127.0.0.1:${port}/`]).then(() => false, () => true)
      )
      expect(failed).toBe(true)
    }))

  it.effect("--max-concurrent-streams takes an integer from 1", () =>
    Effect.gen(function*() {
      expect((yield* parseOptions(["--max-concurrent-streams", "250"])).maxConcurrentStreams).toBe(250)
      expect((yield* parseOptions([])).maxConcurrentStreams).toBe(100)
      expect((yield* parseOptions(["--http2"])).http2).toBe(true)
      const refused = yield* Effect.flip(parseOptions(["--max-concurrent-streams", "0"]))
      expect(refused._tag).toBe("InvalidOptions")
    }))
})
