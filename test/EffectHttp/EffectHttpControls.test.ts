/**
 * The server's controls inside an `effect/http` app: the adapter's layers
 * provide our `HTTPServer` service beside effect's `HttpServer`, so a route
 * reloads the certificate, reads the connection count, and ends a
 * long-lived stream on the draining signal.
 */
import * as Fs from "node:fs"
import type * as Tls from "node:tls"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Layer, Schedule, Scope, Stream } from "effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as EffectHttpAdapter from "../../src/EffectHttp/EffectHttpAdapter.ts"
import * as HTTPServer from "../../src/Server/HTTPServer.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeLogCapture, portOf } from "../support/TestServer.ts"
import { makeTlsMaterial } from "../support/TlsMaterial.ts"

const tls = makeTlsMaterial()
afterAll(() => tls.cleanup())

const encoder = new TextEncoder()

const routes = Layer.mergeAll(
  // Reads the certificate files again (a renewal), from a route.
  HttpRouter.add("POST", "/admin/reload-tls", Effect.gen(function*() {
    const server = yield* HTTPServer.HTTPServer
    yield* server.reloadTls()
    return HttpServerResponse.text("reloaded")
  }).pipe(Effect.catchTag("ConfigError", (error) => Effect.succeed(HttpServerResponse.text(error.message, { status: 500 }))))),
  HttpRouter.add("GET", "/connections", Effect.gen(function*() {
    const server = yield* HTTPServer.HTTPServer
    return HttpServerResponse.text(String(server.connectionCount()))
  })),
  // Server-Sent Events until the server drains, then a last event.
  HttpRouter.add("GET", "/events", Effect.gen(function*() {
    const server = yield* HTTPServer.HTTPServer
    const events = Stream.fromSchedule(Schedule.spaced(Duration.millis(20))).pipe(
      Stream.map((n) => `data: ${n}\n\n`),
      Stream.interruptWhen(server.draining),
      Stream.concat(Stream.make("event: shutdown\ndata:\n\n")),
      Stream.map((text) => encoder.encode(text))
    )
    return HttpServerResponse.stream(events, { contentType: "text/event-stream" })
  }))
)

/** The app on the adapter, in a Scope of the test's own; the server of both services. */
const serveApp = (scope: Scope.Scope, config: EffectHttpAdapter.Options & { readonly ssl?: { cert: string; key: string } } = {}) =>
  Effect.gen(function*() {
    const logs = makeLogCapture()
    const app = HttpRouter.serve(routes, { disableListenLog: true, disableLogger: true }).pipe(
      Layer.provideMerge(EffectHttpAdapter.layer({ host: "127.0.0.1", port: 0, shutdownTimeout: "30 seconds", ...config })),
      Layer.provide(logs.layer)
    )
    const context = yield* Scope.provide(Layer.build(app), scope)
    const server = Context.get(context, HTTPServer.HTTPServer)
    return { server, port: portOf(server) }
  })

const peerName = (client: RawClient.RawConnection) => (client.socket as Tls.TLSSocket).getPeerCertificate().subject?.CN

describe("EffectHttpAdapter: our HTTPServer service in an effect/http app", () => {
  it.live("an HttpRouter route reloads the TLS certificate: new connections get the renewed one", () =>
    Effect.gen(function*() {
      const scope = yield* Effect.scope
      const cert = tls.write("route.pem", tls.cert)
      const key = tls.write("route.key", tls.key)
      const { port } = yield* serveApp(scope, { ssl: { cert, key } })
      const before = yield* RawClient.connect(port, { tls: true })
      expect(peerName(before)).toBe("first.test")

      Fs.writeFileSync(cert, tls.renewed.cert)
      Fs.writeFileSync(key, tls.renewed.key)
      yield* before.write(RawClient.withBody("POST", "/admin/reload-tls", ""))
      expect((yield* before.readResponse()).text).toBe("reloaded")
      const after = yield* RawClient.connect(port, { tls: true })
      expect(peerName(after)).toBe("renewed.test")
      yield* after.write(RawClient.get("/connections"))
      // `before` and `after`, both counted.
      expect((yield* after.readResponse()).text).toBe("2")
    }))

  it.live("an SSE route ends on the draining signal: a last event, and the server closes long before shutdownTimeout", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { server, port } = yield* serveApp(scope)
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/events"))
      yield* client.readUntil("data: 2\n\n")
      expect(server.isDraining()).toBe(false)
      const started = performance.now()
      yield* Scope.close(scope, Exit.void)
      // shutdownTimeout is 30 s: the stream ended by itself.
      expect(performance.now() - started).toBeLessThan(2000)
      expect(server.isDraining()).toBe(true)
      const rest = (yield* client.readUntilClose(2000)).toString("latin1")
      expect(rest).toMatch(/event: shutdown\ndata:\n\n\r\n0\r\n\r\n$/)
    }))
})
