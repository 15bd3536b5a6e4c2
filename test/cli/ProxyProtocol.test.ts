/**
 * The demo command with `--proxy-protocol` (a child process): `/echo`
 * reports the PROXY header's source, as does the access log; a connection
 * without a header, or from outside `--proxy-protocol-from`, gets no answer.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { startDemo } from "../support/DemoProcess.ts"
import { v1, v2 } from "../support/ProxyHeaders.ts"
import * as RawClient from "../support/RawClient.ts"

describe("effect-httpserver --proxy-protocol", () => {
  it.live("/echo and the access log show the client the header names; no header, no answer", () =>
    Effect.gen(function*() {
      const demo = yield* startDemo(["--proxy-protocol", "--proxy-protocol-from", "127.0.0.0/8", "--access-log"])
      const client = yield* RawClient.connect(demo.port)
      yield* client.write(Buffer.concat([v1("203.0.113.7", "198.51.100.1", 40000, 80), Buffer.from(RawClient.get("/echo"))]))
      const response = yield* client.readResponse({ timeoutMillis: 5000 })
      expect(response.json<{ remoteIp: string }>().remoteIp).toBe("203.0.113.7")
      const v2Client = yield* RawClient.connect(demo.port)
      yield* v2Client.write(v2({ source: "2001:db8::9", destination: "2001:db8::1", sourcePort: 1, destinationPort: 2 }))
      yield* v2Client.write(RawClient.get("/echo"))
      expect((yield* v2Client.readResponse({ timeoutMillis: 5000 })).json<{ remoteIp: string }>().remoteIp).toBe("2001:db8::9")
      expect(yield* RawClient.eventually(() => /200 GET \/echo \(203\.0\.113\.7\)/.test(demo.stderr()), 5000)).toBe(true)

      const bare = yield* RawClient.connect(demo.port)
      yield* bare.write(RawClient.get("/echo"))
      expect(yield* bare.closesWithin(5000)).toBe(true)
      expect(bare.pending.length).toBe(0)
    }))

  it.live("a peer outside --proxy-protocol-from is closed before a byte is read", () =>
    Effect.gen(function*() {
      const demo = yield* startDemo(["--proxy-protocol", "--proxy-protocol-from", "10.0.0.0/8"])
      const outsider = yield* RawClient.connect(demo.port)
      expect(yield* outsider.closesWithin(5000)).toBe(true)
      expect(outsider.pending.length).toBe(0)
    }))
})
