/**
 * HTTP/2 on the same port: Node's `http2` client, in clear (prior
 * knowledge) and over TLS (ALPN `h2`), against the demo app; HTTP/1.1 on
 * the same port goes on.
 */
import * as Http2 from "node:http2"
import * as Net from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Http2Client from "../support/Http2Client.ts"
import * as ProxyHeaders from "../support/ProxyHeaders.ts"
import * as RawClient from "../support/RawClient.ts"
import { serveDemo } from "../support/TestServer.ts"
import { suiteTlsMaterial } from "../support/TlsMaterial.ts"

const tls = suiteTlsMaterial()

describe("HTTP/2 in clear, prior knowledge", () => {
  it.live("serves the demo's routes, the request model says HTTP/2.0", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true })
      const session = yield* Http2Client.connect(port)
      const hello = yield* Http2Client.request(session)
      expect(hello.status).toBe(200)
      expect(hello.text).toBe("Hello world")
      const echo = yield* Http2Client.request(session, {
        method: "POST",
        path: "/echo?a=1&b=2",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: "k=v", "x-header": "x" },
        body: "c=3"
      })
      expect(echo.status).toBe(200)
      const data = echo.json()
      expect(data.version).toBe("HTTP/2.0")
      expect(data.host).toBe(`127.0.0.1:${port}`)
      expect(data.path).toBe("/echo")
      expect(data.query).toBe("a=1&b=2")
      expect(data.protocol).toBe("http")
      expect(data.remoteIp).toBe("127.0.0.1")
      expect(data.bodyLength).toBe(3)
      console.log(JSON.stringify(data))
    }))
})

describe("HTTP/2 over TLS", () => {
  it.live("ALPN h2 serves HTTP/2; protocol is https", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true, ssl: tls.ssl() })
      const session = yield* Http2Client.connect(port, { tls: true })
      expect(session.alpnProtocol).toBe("h2")
      const echo = yield* Http2Client.request(session, { path: "/echo" })
      expect(echo.json().version).toBe("HTTP/2.0")
      expect(echo.json().protocol).toBe("https")
    }))
})

describe("HTTP/1.1 on the same port", () => {
  it.live("a clear HTTP/1.1 request is served by the HTTP/1.1 engine", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true })
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/echo"))
      const response = yield* client.readResponse()
      expect(response.json().version).toBe("HTTP/1.1")
      yield* client.write(RawClient.get("/"))
      expect((yield* client.readResponse()).text).toBe("Hello world")
    }))
})

describe("HTTP/2 behind the PROXY protocol", () => {
  it.live("the PROXY header, then the preface: an HTTP/2 session whose remoteIp is the header's; HTTP/1.1 after a header too", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ http2: true, proxyProtocol: true })
      const header = ProxyHeaders.v1("203.0.113.7", "127.0.0.1", 5000, 80)
      const session = yield* Effect.acquireRelease(
        Effect.callback<Http2.ClientHttp2Session>((resume) => {
          const session = Http2.connect(`http://127.0.0.1:${port}`, {
            createConnection: () => {
              const socket = Net.connect(port, "127.0.0.1")
              socket.write(header) // before the client's preface
              return socket
            }
          })
          session.once("remoteSettings", () => resume(Effect.succeed(session)))
          session.once("error", (error) => resume(Effect.die(error)))
        }),
        (session) => Effect.sync(() => session.destroy())
      )
      const echo = (yield* Http2Client.request(session, { path: "/echo" })).json()
      expect([echo.version, echo.remoteIp]).toEqual(["HTTP/2.0", "203.0.113.7"])
      const client = yield* RawClient.connect(port)
      yield* client.write(Buffer.concat([header, Buffer.from(RawClient.get("/echo"))]))
      const h1 = (yield* client.readResponse()).json<{ version: string; remoteIp: string }>()
      expect([h1.version, h1.remoteIp]).toEqual(["HTTP/1.1", "203.0.113.7"])
    }))
})
