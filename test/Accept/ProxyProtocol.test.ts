/**
 * `proxyProtocol` over real sockets: the PROXY header (v1 or v2) is read
 * before anything else, TLS included; its source is the request's
 * `remoteIp`, the socket's own addresses stay in `request.connection`; a
 * connection without a valid header, or from a peer outside
 * `proxyProtocolFrom`, is closed without an answer, and counted.
 */
import * as Net from "node:net"
import { Duplex } from "node:stream"
import * as Tls from "node:tls"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Metric, References } from "effect"
import type { ServerConfigInput } from "../../src/Config/ServerConfig.ts"
import * as HTTPServer from "../../src/Server/HTTPServer.ts"
import * as ServerMetrics from "../../src/Observation/ServerMetrics.ts"
import * as Response from "../../src/Response/Response.ts"
import { TLV_TYPES, tlvValue } from "../../src/Wire/ProxyHeader.ts"
import { v1, v2 } from "../support/ProxyHeaders.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeLogCapture, portOf, serve } from "../support/TestServer.ts"
import { makeTlsMaterial } from "../support/TlsMaterial.ts"

const tls = makeTlsMaterial()
afterAll(() => tls.cleanup())

/** The request's view of its connection, as JSON. */
const describeConnection: HTTPServer.Handler = (request) =>
  Effect.succeed(Response.json({
    remoteIp: request.remoteIp,
    protocol: request.protocol,
    connection: {
      ...request.connection,
      proxyHeader: request.connection.proxyHeader === undefined ? undefined : {
        version: request.connection.proxyHeader.version,
        command: request.connection.proxyHeader.command,
        authority: Buffer.from(tlvValue(request.connection.proxyHeader, TLV_TYPES.AUTHORITY) ?? []).toString(),
        uniqueId: Buffer.from(tlvValue(request.connection.proxyHeader, TLV_TYPES.UNIQUE_ID) ?? []).toString()
      }
    }
  }))

interface Described {
  readonly remoteIp: string
  readonly protocol: string
  readonly connection: {
    readonly peer: { readonly address: string; readonly port: number }
    readonly local: { readonly address: string; readonly port: number }
    readonly socketPeer: { readonly address: string; readonly port: number }
    readonly socketLocal: { readonly address: string; readonly port: number }
    readonly proxyHeader?: { version: number; command: string; authority: string; uniqueId: string }
  }
}

const serveProxied = (config: ServerConfigInput = {}) => serve(describeConnection, { proxyProtocol: true, ...config })

/** Sends `bytes` (a header and a request) and reads the response. */
const ask = (client: RawClient.RawConnection, ...bytes: ReadonlyArray<string | Uint8Array>) =>
  Effect.gen(function*() {
    for (const piece of bytes) yield* client.write(piece)
    return (yield* client.readResponse()).json<Described>()
  })

/** Closed by the server with nothing written. */
const closedSilently = (client: RawClient.RawConnection, millis = 2000) =>
  Effect.map(client.closesWithin(millis), (closed) => ({ closed, answered: client.pending.length }))

const GET = RawClient.get("/")

describe("reading the header", () => {
  it.live("v1: the header's source is remoteIp and connection.peer; the socket's ends stay in view", () =>
    Effect.gen(function*() {
      const { port } = yield* serveProxied()
      const client = yield* RawClient.connect(port)
      const first = yield* ask(client, Buffer.concat([v1("203.0.113.7", "198.51.100.1", 41234, 443), Buffer.from(GET)]))
      expect(first.remoteIp).toBe("203.0.113.7")
      expect(first.connection).toMatchObject({
        peer: { address: "203.0.113.7", port: 41234 },
        local: { address: "198.51.100.1", port: 443 },
        socketPeer: { address: "127.0.0.1", port: client.socket.localPort },
        socketLocal: { address: "127.0.0.1", port },
        proxyHeader: { version: 1, command: "Proxy" }
      })
      // The next request on the connection: the same client, no second header.
      expect((yield* ask(client, GET)).remoteIp).toBe("203.0.113.7")
    }))

  it.live("v2 over IPv6, with TLVs readable as raw values", () =>
    Effect.gen(function*() {
      const { port } = yield* serveProxied()
      const client = yield* RawClient.connect(port)
      const header = v2({
        source: "2001:db8::7",
        destination: "2001:db8::1",
        sourcePort: 50000,
        destinationPort: 8443,
        tlvs: [{ type: TLV_TYPES.AUTHORITY, value: "example.com" }, { type: TLV_TYPES.UNIQUE_ID, value: "req-1" }]
      })
      const data = yield* ask(client, header, GET)
      expect(data.remoteIp).toBe("2001:db8::7")
      expect(data.connection).toMatchObject({
        peer: { address: "2001:db8::7", port: 50000 },
        local: { address: "2001:db8::1", port: 8443 },
        socketPeer: { address: "127.0.0.1" },
        proxyHeader: { version: 2, command: "Proxy", authority: "example.com", uniqueId: "req-1" }
      })
    }))

  it.live("a header that arrives a byte at a time, then the request in the same write as its last byte", () =>
    Effect.gen(function*() {
      const { port } = yield* serveProxied()
      const client = yield* RawClient.connect(port)
      const header = v2({ source: "192.0.2.9", destination: "192.0.2.1", sourcePort: 1, destinationPort: 80 })
      for (const byte of header.subarray(0, -1)) {
        yield* client.write(Uint8Array.of(byte))
        yield* RawClient.sleepReal(1)
      }
      const data = yield* ask(client, Buffer.concat([header.subarray(-1), Buffer.from(GET)]))
      expect(data.remoteIp).toBe("192.0.2.9")
    }))

  it.live("v2 LOCAL and v1 UNKNOWN (health checks) keep the socket's addresses", () =>
    Effect.gen(function*() {
      const { port } = yield* serveProxied()
      for (const header of [v2({ command: "LOCAL" }), Buffer.from("PROXY UNKNOWN\r\n")]) {
        const client = yield* RawClient.connect(port)
        const data = yield* ask(client, header, GET)
        expect(data.remoteIp).toBe("127.0.0.1")
        expect(data.connection.peer).toEqual(data.connection.socketPeer)
        expect(data.connection.local).toEqual(data.connection.socketLocal)
      }
    }))

  it.live("xheaders still apply on top (a layer-7 hop behind the layer-4 one)", () =>
    Effect.gen(function*() {
      const { port } = yield* serveProxied({ xheaders: true })
      const client = yield* RawClient.connect(port)
      const data = yield* ask(
        client,
        v1("203.0.113.7", "198.51.100.1", 1, 80),
        RawClient.get("/", "X-Forwarded-For: 192.0.2.44", "X-Forwarded-Proto: https")
      )
      expect(data).toMatchObject({ remoteIp: "192.0.2.44", protocol: "https" })
      expect(data.connection.peer.address).toBe("203.0.113.7")
    }))

  it.live("a second PROXY header, as the first request's bytes, is a plain 400, not a new address", () =>
    Effect.gen(function*() {
      const { port } = yield* serveProxied()
      const client = yield* RawClient.connect(port)
      yield* client.write(Buffer.concat([v1("203.0.113.7", "198.51.100.1", 1, 80), v1("6.6.6.6", "6.6.6.6", 1, 80), Buffer.from(GET)]))
      expect((yield* client.readResponse()).status).toBe(400)
    }))

  it.live("off (the default), a PROXY header is not read: it is a bad request", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(describeConnection)
      const client = yield* RawClient.connect(port)
      yield* client.write(Buffer.concat([v1("203.0.113.7", "198.51.100.1", 1, 80), Buffer.from(GET)]))
      expect((yield* client.readResponse()).status).toBe(400)
    }))
})

describe("closed without an answer, and counted", () => {
  it.live("no header, a malformed one, one too long, one cut short, none in time; a peer outside proxyProtocolFrom", () =>
    Effect.gen(function*() {
      const registry = new Map()
      const logs = makeLogCapture()
      const context = yield* Layer.build(
        HTTPServer.layer(describeConnection, {
          host: "127.0.0.1",
          port: 0,
          proxyProtocol: true,
          headerTimeout: 300
        }).pipe(
          Layer.provide(ServerMetrics.layer),
          Layer.provide(Layer.succeed(Metric.MetricRegistry, registry)),
          Layer.provide(logs.layer)
        )
      )
      const port = portOf(Context.get(context, HTTPServer.HTTPServer))
      const cases: ReadonlyArray<readonly [string, Buffer | undefined]> = [
        ["NotProxyProtocol", Buffer.from(GET)],
        ["Malformed", Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n")],
        ["TooLong", v2({ command: "LOCAL", length: 65535 })],
        ["Malformed", v2({ source: "1.2.3.4", destination: "5.6.7.8", length: 12 + GET.length }).subarray(0, 28)],
        ["HeaderTimeout", Buffer.from("PROXY TCP4 1.2.3")]
      ]
      for (const [, bytes] of cases) {
        const client = yield* RawClient.connect(port)
        if (bytes !== undefined) yield* client.write(bytes)
        // The length that runs into the request: the request's bytes follow.
        if (bytes?.length === 28) yield* client.write(GET)
        expect(yield* closedSilently(client)).toEqual({ closed: true, answered: 0 })
      }
      // A peer that hangs up in the middle of its header.
      const truncated = yield* RawClient.connect(port)
      yield* truncated.write("PROXY TCP4")
      yield* RawClient.sleepReal(20)
      yield* truncated.end()
      const byType = (type: string) =>
        Effect.provideService(
          Metric.value(Metric.withAttributes(ServerMetrics.proxyRejectedConnections, { "error.type": type })),
          Metric.MetricRegistry,
          registry
        ).pipe(Effect.map((state) => state.count))
      // Each is logged at debug with its reason.
      const refused = () => logs.lines.filter((line) => line.message === "PROXY protocol header refused")
      expect(yield* RawClient.eventually(() => refused().length === 6)).toBe(true)
      expect(refused().map((line) => line.annotations["reason"]).sort()).toEqual(
        ["HeaderTimeout", "Malformed", "Malformed", "NotProxyProtocol", "TooLong", "Truncated"]
      )
      expect(yield* byType("NotProxyProtocol")).toBe(1)
      expect(yield* byType("Malformed")).toBe(2)
      expect(yield* byType("TooLong")).toBe(1)
      expect(yield* byType("HeaderTimeout")).toBe(1)
      expect(yield* byType("Truncated")).toBe(1)
      expect(Context.get(context, HTTPServer.HTTPServer).connectionCount()).toBe(0)
    }).pipe(Effect.provideService(References.MinimumLogLevel, "Debug")))

  it.live("proxyProtocolFrom: a peer outside it is closed before a byte is read; one inside is served", () =>
    Effect.gen(function*() {
      const { port } = yield* serveProxied({ proxyProtocolFrom: ["127.0.0.2/32", "10.0.0.0/8"] })
      const outsider = yield* RawClient.connect(port)
      expect(yield* closedSilently(outsider)).toEqual({ closed: true, answered: 0 })
      const balancer = yield* RawClient.connect(port, { localAddress: "127.0.0.2" })
      const data = yield* ask(balancer, v1("203.0.113.7", "198.51.100.1", 1, 80), GET)
      expect(data.remoteIp).toBe("203.0.113.7")
      expect(data.connection.socketPeer.address).toBe("127.0.0.2")
    }))

  it.live("a connection waiting for its header counts toward maxConnections and connectionCount; shutdown closes it", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveProxied({ maxConnections: 1 })
      const waiting = yield* RawClient.connect(port)
      yield* waiting.write("PROXY ")
      expect(yield* RawClient.eventually(() => server.connectionCount() === 1)).toBe(true)
      const second = yield* RawClient.connect(port)
      expect(yield* second.closesWithin(2000)).toBe(true)
      expect(waiting.isClosed).toBe(false)
      yield* server.closeAllConnections
      expect(yield* waiting.closesWithin(2000)).toBe(true)
      expect(server.connectionCount()).toBe(0)
    }))
})

/**
 * A TLS client whose first write (the ClientHello) goes out in one write
 * with `header` before it, as a balancer that sends them together does.
 */
const tlsAfterHeader = (port: number, header: Buffer) =>
  Effect.acquireRelease(
    Effect.callback<Tls.TLSSocket>((resume) => {
      const raw = Net.connect({ host: "127.0.0.1", port })
      let first = true
      const carrier = new Duplex({
        write(chunk: Buffer, _encoding, callback) {
          raw.write(first ? Buffer.concat([header, chunk]) : chunk, callback)
          first = false
        },
        read() {},
        final(callback) {
          raw.end(callback)
        }
      })
      raw.on("data", (chunk) => carrier.push(chunk))
      raw.on("end", () => carrier.push(null))
      raw.on("error", (error) => carrier.destroy(error))
      const socket = Tls.connect({ socket: carrier, rejectUnauthorized: false, servername: "localhost" }, () =>
        resume(Effect.succeed(socket)))
      socket.on("error", (error) => resume(Effect.die(error)))
    }),
    (socket) => Effect.sync(() => socket.destroy())
  )

describe("with TLS (passthrough: the header precedes the handshake)", () => {
  const ssl = { cert: tls.certFile, key: tls.keyFile }

  it.live("a header, then the handshake on the following writes", () =>
    Effect.gen(function*() {
      const { port } = yield* serveProxied({ ssl })
      const raw = yield* Effect.acquireRelease(
        Effect.callback<Net.Socket>((resume) => {
          const socket = Net.connect({ host: "127.0.0.1", port }, () => resume(Effect.succeed(socket)))
        }),
        (socket) => Effect.sync(() => socket.destroy())
      )
      yield* Effect.callback<void>((resume) => {
        raw.write(v2({ source: "203.0.113.8", destination: "198.51.100.1", sourcePort: 7, destinationPort: 443 }), () =>
          resume(Effect.void))
      })
      yield* RawClient.sleepReal(20)
      const secure = yield* Effect.callback<Tls.TLSSocket>((resume) => {
        const socket = Tls.connect({ socket: raw, rejectUnauthorized: false, servername: "localhost" }, () =>
          resume(Effect.succeed(socket)))
      })
      const data = yield* ask(new RawClient.RawConnection(secure), GET)
      expect(data).toMatchObject({ remoteIp: "203.0.113.8", protocol: "https" })
      expect(data.connection.proxyHeader).toMatchObject({ version: 2 })
    }))

  it.live("a header and the ClientHello in one write: the handshake starts over the bytes past the header", () =>
    Effect.gen(function*() {
      const { port } = yield* serveProxied({ ssl })
      const secure = yield* tlsAfterHeader(port, v1("203.0.113.9", "198.51.100.1", 5555, 443))
      const data = yield* ask(new RawClient.RawConnection(secure), GET)
      expect(data).toMatchObject({ remoteIp: "203.0.113.9", protocol: "https" })
      expect(data.connection.peer.port).toBe(5555)
    }))

  it.live("a TLS client without a header is closed before any handshake", () =>
    Effect.gen(function*() {
      const { port } = yield* serveProxied({ ssl })
      const outcome = yield* RawClient.tryConnect(port, { tls: true })
      expect(outcome).toBeInstanceOf(Error)
    }))
})
