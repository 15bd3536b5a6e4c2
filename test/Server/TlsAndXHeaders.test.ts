/**
 * TLS, the `protocol` override and `xheaders` (Tornado's SSLTestMixin,
 * XHeaderTest, SSLXHeaderTest, ManualProtocolTest), through `/echo`.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { ServerConfigInput } from "../../src/Config/ServerConfig.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeTlsMaterial, type TlsMaterial } from "../support/TlsMaterial.ts"
import { makeLogCapture, serveDemo } from "../support/TestServer.ts"

let material: TlsMaterial | undefined
let ssl = { cert: "", key: "" }

beforeAll(() => {
  material = makeTlsMaterial()
  ssl = { cert: material.cert, key: material.key }
})

afterAll(() => material?.cleanup())

/** `/echo` with extra header lines, on an open connection; returns the JSON. */
const echoOn = (client: RawClient.RawConnection, ...headerLines: Array<string>) =>
  Effect.gen(function*() {
    yield* client.write(RawClient.get("/echo", ...headerLines))
    const response = yield* client.readResponse()
    expect(response.status).toBe(200)
    return response.json() as { remoteIp: string; protocol: string; host: string }
  })

const serveAndConnect = (config: ServerConfigInput, options: RawClient.ConnectOptions = {}) =>
  Effect.gen(function*() {
    const served = yield* serveDemo(config)
    const client = yield* RawClient.connect(served.port, options)
    return { ...served, client }
  })

describe("TLS", () => {
  it.live("serves HTTPS: protocol is https in /echo, scheme and url say so", () =>
    Effect.gen(function*() {
      const { client, port, server } = yield* serveAndConnect({ ssl }, { tls: true })
      expect(server.scheme).toBe("https")
      expect(server.url).toBe(`https://127.0.0.1:${port}`)
      const data = yield* echoOn(client)
      expect(data.protocol).toBe("https")
      expect(data.remoteIp).toBe("127.0.0.1")
      // Keep-alive works over TLS too.
      yield* client.write(RawClient.get("/"))
      expect((yield* client.readResponse()).text).toBe("Hello world")
    }))

  it.live("a large POST over TLS (Tornado's test_large_post)", () =>
    Effect.gen(function*() {
      const { client } = yield* serveAndConnect({ ssl }, { tls: true })
      const body = "a".repeat(5000)
      yield* client.write(RawClient.withBody("POST", "/echo", body))
      const response = yield* client.readResponse()
      expect(response.status).toBe(200)
      expect(response.json().bodyLength).toBe(5000)
    }))

  it.live("a plain-HTTP request to the TLS port gets no HTTP response; the server serves on", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ ssl })
      const plain = yield* RawClient.connect(port)
      yield* plain.write(RawClient.get("/"))
      const bytes = yield* plain.readUntilClose(2000)
      expect(bytes.toString("latin1")).not.toMatch(/^HTTP\//)
      const secure = yield* RawClient.connect(port, { tls: true })
      expect((yield* echoOn(secure)).protocol).toBe("https")
    }).pipe(Effect.provide(makeLogCapture().layer)))

  it.live("with xheaders, X-Scheme can say http on a TLS connection; junk is ignored", () =>
    Effect.gen(function*() {
      const { client } = yield* serveAndConnect({ ssl, xheaders: true }, { tls: true })
      expect((yield* echoOn(client)).protocol).toBe("https")
      expect((yield* echoOn(client, "X-Scheme: http")).protocol).toBe("http")
      expect((yield* echoOn(client, "X-Scheme: unknown")).protocol).toBe("https")
    }))
})

describe("protocol override", () => {
  it.live("protocol: https makes plain-socket requests https (Tornado's ManualProtocolTest)", () =>
    Effect.gen(function*() {
      const { client } = yield* serveAndConnect({ protocol: "https" })
      expect((yield* echoOn(client)).protocol).toBe("https")
    }))
})

describe("xheaders", () => {
  it.live("without xheaders, proxy headers change nothing", () =>
    Effect.gen(function*() {
      const { client } = yield* serveAndConnect({})
      const data = yield* echoOn(client, "X-Real-Ip: 4.4.4.4", "X-Forwarded-For: 5.5.5.5", "X-Forwarded-Proto: https")
      expect(data).toMatchObject({ remoteIp: "127.0.0.1", protocol: "http" })
    }))

  const ipCases: ReadonlyArray<readonly [string, Array<string>, string]> = [
    ["no header", [], "127.0.0.1"],
    ["X-Real-Ip IPv4", ["X-Real-IP: 4.4.4.4"], "4.4.4.4"],
    ["X-Forwarded-For list: the last entry", ["X-Forwarded-For: 127.0.0.1, 4.4.4.4"], "4.4.4.4"],
    ["X-Real-Ip IPv6", ["X-Real-IP: 2620:0:1cfe:face:b00c::3"], "2620:0:1cfe:face:b00c::3"],
    ["X-Forwarded-For IPv6 list", ["X-Forwarded-For: ::1, 2620:0:1cfe:face:b00c::3"], "2620:0:1cfe:face:b00c::3"],
    ["X-Real-Ip with junk", ["X-Real-IP: 4.4.4.4<script>"], "127.0.0.1"],
    ["X-Forwarded-For with junk", ["X-Forwarded-For: 4.4.4.4, 5.5.5.5<script>"], "127.0.0.1"],
    ["X-Real-Ip a host name", ["X-Real-IP: www.google.com"], "127.0.0.1"],
    ["X-Real-Ip wins over X-Forwarded-For", ["X-Forwarded-For: 1.2.3.4", "X-Real-Ip: 4.4.4.4"], "4.4.4.4"]
  ]
  it.live("remoteIp from X-Real-Ip / X-Forwarded-For (Tornado's test_ip_headers)", () =>
    Effect.gen(function*() {
      const { client } = yield* serveAndConnect({ xheaders: true })
      for (const [name, headers, expected] of ipCases) {
        const data = yield* echoOn(client, ...headers)
        expect([name, data.remoteIp]).toEqual([name, expected])
      }
    }))

  const schemeCases: ReadonlyArray<readonly [Array<string>, string]> = [
    [[], "http"],
    [["X-Scheme: https"], "https"],
    [["X-Forwarded-Proto: https"], "https"],
    [["X-Forwarded-Proto: https , http"], "http"],
    [["X-Forwarded-Proto: http,https"], "https"],
    [["X-Forwarded-Proto: unknown"], "http"]
  ]
  it.live("protocol from X-Scheme / X-Forwarded-Proto (Tornado's test_scheme_headers)", () =>
    Effect.gen(function*() {
      const { client } = yield* serveAndConnect({ xheaders: true })
      for (const [headers, expected] of schemeCases) {
        const data = yield* echoOn(client, ...headers)
        expect([headers, data.protocol]).toEqual([headers, expected])
      }
    }))

  it.live("trustedDownstream IPs and CIDR ranges are skipped in X-Forwarded-For", () =>
    Effect.gen(function*() {
      const { client } = yield* serveAndConnect({ xheaders: true, trustedDownstream: ["5.5.5.5", "10.0.0.0/8"] })
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["127.0.0.1, 4.4.4.4, 5.5.5.5", "4.4.4.4"],
        ["1.2.3.4, 10.1.2.3", "1.2.3.4"],
        ["1.2.3.4, 10.200.0.1, 5.5.5.5, 10.0.0.7", "1.2.3.4"],
        ["1.2.3.4, 11.0.0.1", "11.0.0.1"]
      ]
      for (const [forwarded, expected] of cases) {
        const data = yield* echoOn(client, `X-Forwarded-For: ${forwarded}`)
        expect([forwarded, data.remoteIp]).toEqual([forwarded, expected])
      }
    }))

  it.live("without trustedDownstream, the last entry is taken even if it is a proxy", () =>
    Effect.gen(function*() {
      const { client } = yield* serveAndConnect({ xheaders: true })
      const data = yield* echoOn(client, "X-Forwarded-For: 127.0.0.1, 4.4.4.4, 5.5.5.5")
      expect(data.remoteIp).toBe("5.5.5.5")
    }))
})

describe("Forwarded (RFC 7239)", () => {
  const header = "Forwarded: for=\"[2001:db8:cafe::17]:4711\";proto=https;host=shop.example"

  it.live("is ignored unless turned on (also with xheaders)", () =>
    Effect.gen(function*() {
      const { client } = yield* serveAndConnect({ xheaders: true })
      expect(yield* echoOn(client, header)).toMatchObject({ remoteIp: "127.0.0.1", protocol: "http", host: "127.0.0.1" })
    }))

  it.live("forwarded: true takes for=, proto= and host= from it", () =>
    Effect.gen(function*() {
      const { client } = yield* serveAndConnect({ forwarded: true })
      expect(yield* echoOn(client, header)).toMatchObject({
        remoteIp: "2001:db8:cafe::17",
        protocol: "https",
        host: "shop.example"
      })
      // Without the header, the socket's values.
      expect(yield* echoOn(client)).toMatchObject({ remoteIp: "127.0.0.1", protocol: "http", host: "127.0.0.1" })
      // An obfuscated identifier is ignored.
      expect((yield* echoOn(client, "Forwarded: for=_hidden;proto=https")).remoteIp).toBe("127.0.0.1")
    }))

  it.live("skips trustedDownstream proxies, as X-Forwarded-For does", () =>
    Effect.gen(function*() {
      const { client } = yield* serveAndConnect({ forwarded: true, trustedDownstream: ["10.0.0.0/8"] })
      const data = yield* echoOn(client, "Forwarded: for=4.4.4.4;proto=https, for=10.1.2.3;proto=http")
      expect(data).toMatchObject({ remoteIp: "4.4.4.4", protocol: "https" })
    }))

  it.live("wins over the X- headers when both are on; they still count when it is absent", () =>
    Effect.gen(function*() {
      const { client } = yield* serveAndConnect({ forwarded: true, xheaders: true })
      const both = yield* echoOn(client, "Forwarded: for=4.4.4.4", "X-Forwarded-For: 5.5.5.5", "X-Forwarded-Proto: https")
      expect(both).toMatchObject({ remoteIp: "4.4.4.4", protocol: "http" })
      expect((yield* echoOn(client, "X-Forwarded-For: 5.5.5.5")).remoteIp).toBe("5.5.5.5")
    }))
})
