/**
 * TLS handshakes are connections: they count toward `maxConnections` and
 * `connectionCount()`, have a deadline (`handshakeTimeout`, never past
 * `headerTimeout`), are closed by shutdown; clients that fail the handshake
 * are logged at debug and cost nothing else. Also ALPN, SNI, TLS versions,
 * bad material at `listen`, and `reloadTls`.
 */
import * as Tls from "node:tls"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, References, Scope } from "effect"
import type { ServerConfigInput } from "../../src/Config/ServerConfig.ts"
import * as HTTPServer from "../../src/Server/HTTPServer.ts"
import { handler as demoHandler } from "../../src/cli/DemoApp.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeLogCapture, serveDemo } from "../support/TestServer.ts"
import { makeTlsMaterial } from "../support/TlsMaterial.ts"

const tls = makeTlsMaterial()
afterAll(() => tls.cleanup())
const ssl = { cert: tls.certFile, key: tls.keyFile }

/** A GET over an open connection; the response's text. */
const hello = (client: RawClient.RawConnection) =>
  Effect.gen(function*() {
    yield* client.write(RawClient.get("/hello"))
    return (yield* client.readResponse()).text
  })

/** The subject CN of the certificate the server presented on a connection. */
const peerName = (client: RawClient.RawConnection) => (client.socket as Tls.TLSSocket).getPeerCertificate().subject?.CN

describe("handshaking connections", () => {
  it.live("count toward maxConnections and connectionCount; past the limit a connection is closed at once", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveDemo({ ssl, maxConnections: 2 })
      // Raw TCP connections that never send a ClientHello.
      const silent = [yield* RawClient.connect(port), yield* RawClient.connect(port)]
      expect(yield* RawClient.eventually(() => server.connectionCount() === 2, 1000)).toBe(true)
      const third = yield* RawClient.connect(port)
      expect(yield* third.closesWithin(1000)).toBe(true)
      expect(silent.some((client) => client.isClosed)).toBe(false)
      expect(server.connectionCount()).toBe(2)
      // Once they go, the slots are free again.
      for (const client of silent) yield* client.destroy()
      expect(yield* RawClient.eventually(() => server.connectionCount() === 0, 1000)).toBe(true)
      const secure = yield* RawClient.connect(port, { tls: true })
      expect(yield* hello(secure)).toBe("Hello world")
      expect(server.connectionCount()).toBe(1)
    }))

  it.live("a client that never sends a ClientHello is closed at handshakeTimeout, and logged at debug", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const { port, server } = yield* serveDemo({ ssl, handshakeTimeout: 300 }).pipe(Effect.provide(logs.layer))
      const started = performance.now()
      const silent = yield* RawClient.connect(port)
      expect(yield* silent.closesWithin(2000)).toBe(true)
      const took = performance.now() - started
      expect(took).toBeGreaterThanOrEqual(250)
      expect(took).toBeLessThan(1500)
      expect(yield* RawClient.eventually(() => server.connectionCount() === 0, 500)).toBe(true)
      const line = logs.lines.find((l) => l.message.includes("TLS handshake failed"))
      expect(line?.level).toBe("Debug")
      expect(line?.annotations).toMatchObject({ remoteIp: "127.0.0.1", reason: "ERR_TLS_HANDSHAKE_TIMEOUT" })
    }).pipe(Effect.provideService(References.MinimumLogLevel, "Debug")))

  it.live("the handshake is under the header timeout too, and under the idle timeout", () =>
    Effect.gen(function*() {
      for (const config of [{ headerTimeout: 200 }, { idleConnectionTimeout: 200 }]) {
        const { port } = yield* serveDemo({ ssl, ...config })
        const started = performance.now()
        const silent = yield* RawClient.connect(port)
        expect(yield* silent.closesWithin(2000)).toBe(true)
        expect(performance.now() - started).toBeLessThan(1500)
      }
    }))

  it.live("a client that stalls mid-handshake is cut off at the deadline", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveDemo({ ssl, handshakeTimeout: 300 })
      const client = yield* RawClient.connect(port)
      // The first bytes of a TLS record header (a ClientHello), then nothing.
      yield* client.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]))
      expect(yield* client.closesWithin(2000)).toBe(true)
      expect(yield* RawClient.eventually(() => server.connectionCount() === 0, 500)).toBe(true)
    }))

  it.live("garbage bytes and plain HTTP fail the handshake: closed, counted out, logged at debug, server unharmed", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const { port, server } = yield* serveDemo({ ssl, maxConnections: 3 }).pipe(Effect.provide(logs.layer))
      for (const bytes of [Buffer.from("\x00\xff\x13garbage\r\n\r\n", "latin1"), Buffer.from(RawClient.get("/"))]) {
        for (let i = 0; i < 5; i++) {
          const client = yield* RawClient.connect(port)
          yield* client.write(bytes)
          const answer = yield* client.readUntilClose(2000)
          expect(answer.toString("latin1")).not.toMatch(/^HTTP\//)
        }
      }
      expect(yield* RawClient.eventually(() => server.connectionCount() === 0, 1000)).toBe(true)
      expect(logs.lines.filter((l) => l.message.includes("TLS handshake failed")).length).toBe(10)
      expect(logs.lines.every((l) => l.level === "Debug")).toBe(true)
      const secure = yield* RawClient.connect(port, { tls: true })
      expect(yield* hello(secure)).toBe("Hello world")
    }).pipe(Effect.provideService(References.MinimumLogLevel, "Debug")))

  it.live("a client that hangs up mid-handshake is counted out", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveDemo({ ssl })
      const client = yield* RawClient.connect(port)
      expect(yield* RawClient.eventually(() => server.connectionCount() === 1, 1000)).toBe(true)
      yield* client.end()
      expect(yield* RawClient.eventually(() => server.connectionCount() === 0, 1000)).toBe(true)
    }))

  it.live("shutdown closes handshaking connections at once: the scope closes promptly", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { port, server } = yield* serveDemo({ ssl, shutdownTimeout: 5000 }).pipe(Scope.provide(scope))
      const silent = [yield* RawClient.connect(port), yield* RawClient.connect(port), yield* RawClient.connect(port)]
      expect(yield* RawClient.eventually(() => server.connectionCount() === 3, 1000)).toBe(true)
      const started = performance.now()
      yield* Scope.close(scope, Exit.void)
      expect(performance.now() - started).toBeLessThan(500)
      for (const client of silent) expect(yield* client.closesWithin(1000)).toBe(true)
      expect(server.connectionCount()).toBe(0)
    }))

  it.live("closeAllConnections closes handshakes too", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveDemo({ ssl })
      const silent = yield* RawClient.connect(port)
      expect(yield* RawClient.eventually(() => server.connectionCount() === 1, 1000)).toBe(true)
      yield* server.closeAllConnections
      expect(yield* silent.closesWithin(1000)).toBe(true)
      expect(server.connectionCount()).toBe(0)
    }))
})

describe("TLS options", () => {
  it.live("ALPN: a client offering h2 and http/1.1 gets http/1.1 and is served", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({ ssl })
      const client = yield* RawClient.connect(port, { tls: true, tlsOptions: { ALPNProtocols: ["h2", "http/1.1"] } })
      expect((client.socket as Tls.TLSSocket).alpnProtocol).toBe("http/1.1")
      expect(yield* hello(client)).toBe("Hello world")
    }))

  it.live("SNI: the certificate of the name the client asks for, else the default", () =>
    Effect.gen(function*() {
      const { port } = yield* serveDemo({
        ssl: { ...ssl, sni: { "renewed.test": { cert: tls.renewed.certFile, key: tls.renewed.keyFile } } }
      })
      const named = yield* RawClient.connect(port, { tls: true, tlsOptions: { servername: "renewed.test" } })
      expect(peerName(named)).toBe("renewed.test")
      expect(yield* hello(named)).toBe("Hello world")
      const other = yield* RawClient.connect(port, { tls: true, tlsOptions: { servername: "localhost" } })
      expect(peerName(other)).toBe("first.test")
    }))

  it.live("minVersion: a client that cannot speak it fails the handshake; the server goes on", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveDemo({ ssl: { ...ssl, minVersion: "TLSv1.3" } })
      const old = yield* RawClient.tryConnect(port, { tls: true, tlsOptions: { maxVersion: "TLSv1.2" } })
      expect(old).toBeInstanceOf(Error)
      const modern = yield* RawClient.connect(port, { tls: true })
      expect((modern.socket as Tls.TLSSocket).getProtocol()).toBe("TLSv1.3")
      expect(yield* hello(modern)).toBe("Hello world")
      expect(yield* RawClient.eventually(() => server.connectionCount() === 1, 1000)).toBe(true)
    }))

  it.effect("bad material is a ConfigError from listen, naming the field, not a crash", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [ServerConfigInput["ssl"], string]> = [
        [{ cert: tls.cert, key: tls.renewed.key }, "ssl.key"],
        [{ cert: tls.garbageCert, key: tls.key }, "ssl.cert"],
        [{ cert: tls.certFile, key: tls.encryptedKeyFile, passphrase: "wrong" }, "ssl.passphrase"]
      ]
      for (const [input, option] of cases) {
        const error = yield* Effect.flip(Effect.scoped(HTTPServer.listen(demoHandler, { port: 0, ssl: input })))
        expect(error._tag).toBe("ConfigError")
        if (error._tag === "ConfigError") expect(error.issues.map((issue) => issue.option)).toEqual([option])
      }
    }))
})

describe("reloadTls", () => {
  it.live("new connections get the new certificate; open ones keep their session", () =>
    Effect.gen(function*() {
      const dir = tls.write("live.pem", tls.cert)
      const keyFile = tls.write("live.key", tls.key)
      const { port, server } = yield* serveDemo({ ssl: { cert: dir, key: keyFile } })
      const before = yield* RawClient.connect(port, { tls: true })
      expect(peerName(before)).toBe("first.test")
      // The files are renewed in place; a reload without argument reads them again.
      tls.write("live.pem", tls.renewed.cert)
      tls.write("live.key", tls.renewed.key)
      yield* server.reloadTls()
      const after = yield* RawClient.connect(port, { tls: true })
      expect(peerName(after)).toBe("renewed.test")
      expect(yield* hello(after)).toBe("Hello world")
      expect(yield* hello(before)).toBe("Hello world")
      expect(peerName(before)).toBe("first.test")
      // Given material replaces the source.
      yield* server.reloadTls({ cert: tls.cert, key: tls.key })
      expect(peerName(yield* RawClient.connect(port, { tls: true }))).toBe("first.test")
    }))

  it.live("bad material is refused as at start, and the old certificate stays", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serveDemo({ ssl })
      const error = yield* Effect.flip(server.reloadTls({ cert: tls.certFile, key: tls.otherKeyFile }))
      expect(error.issues.map((issue) => issue.option)).toEqual(["ssl.key"])
      const client = yield* RawClient.connect(port, { tls: true })
      expect(peerName(client)).toBe("first.test")
      expect(yield* hello(client)).toBe("Hello world")
    }))

  it.live("a server without TLS refuses it", () =>
    Effect.gen(function*() {
      const { server } = yield* serveDemo({})
      const error = yield* Effect.flip(server.reloadTls(ssl))
      expect(error.message).toBe("ssl: cannot be reloaded: the server does not serve TLS")
    }))
})
