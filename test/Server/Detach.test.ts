/**
 * Detaching (Tornado's `HTTP1Connection.detach()`): a core handler answers
 * an upgrade with 101 (or a CONNECT with 2xx) and takes the raw connection;
 * a handler that does not detach answers normally and the connection closes
 * after that response.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { DetachError, type DetachedSocket } from "../../src/Request/Detach.ts"
import * as Response from "../../src/Response/Response.ts"
import type * as HTTPServer from "../../src/Server/HTTPServer.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeSelfSignedCert, type Pem } from "../support/SelfSignedCert.ts"
import { serve } from "../support/TestServer.ts"

let pem: Pem = { cert: "", key: "" }
beforeAll(() => {
  pem = makeSelfSignedCert()
})

/** Echoes what the peer sends until it ends its side; then ends ours. */
const echo = (socket: DetachedSocket) =>
  Effect.callback<void>((resume) => {
    socket.on("data", (chunk: Buffer) => socket.write(chunk))
    socket.on("end", () => socket.end())
    socket.on("close", () => resume(Effect.void))
  })

const switched = Response.empty({ status: 101, headers: { Upgrade: "echo" } })

const handler = (request: HTTPServer.Request): Effect.Effect<Response.Response, unknown> => {
  if (request.path === "/echo" && request.upgrade !== undefined) {
    return Effect.scoped(Effect.gen(function*() {
      const socket = yield* request.detach({ response: switched })
      yield* echo(socket)
      return Response.text("not sent: the connection is no longer HTTP")
    }))
  }
  if (request.method === "CONNECT") {
    return Effect.scoped(Effect.gen(function*() {
      const socket = yield* request.detach({ response: Response.empty({ status: 200 }) })
      yield* echo(socket)
      return Response.text("not sent")
    }))
  }
  if (request.path === "/detach-wrongly") {
    const status = Number(request.queryArguments["status"]?.[0] ?? "101")
    return Effect.scoped(request.detach({ response: Response.empty({ status }) })).pipe(
      Effect.as(Response.text("detached")),
      Effect.catchTag("DetachError", (error) => Effect.succeed(Response.text(error.reason, { status: 409 })))
    )
  }
  if (request.path === "/detach-unread") {
    return Effect.scoped(request.detach()).pipe(
      Effect.as(Response.text("detached")),
      Effect.catch((error) =>
        Effect.succeed(Response.text(error instanceof DetachError ? error.reason : String(error), { status: 409 }))
      )
    )
  }
  return Effect.succeed(Response.text(`hello ${request.upgrade ?? "none"}`))
}

const upgradeRequest = (path: string, ...extra: Array<string>) =>
  RawClient.get(path, "Upgrade: echo", "Connection: Upgrade", ...extra)

describe("detach: a core handler takes the connection", () => {
  it.live("101 with the handler's headers, then raw bytes both ways; bytes sent with the head come first", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(handler)
      const client = yield* RawClient.connect(port)
      yield* client.write(upgradeRequest("/echo") + "early|")
      const response = yield* client.readResponse()
      expect([response.status, response.reason]).toEqual([101, "Switching Protocols"])
      expect(response.header("upgrade")).toBe("echo")
      expect(response.header("connection")).toBe("Upgrade")
      expect(response.header("content-length")).toBeUndefined()
      expect((yield* client.readUntil("early|")).toString()).toBe("early|")
      yield* client.write("ping")
      expect((yield* client.readUntil("ping")).toString()).toBe("ping")
      // The handler's own response never goes into the connection.
      yield* client.end()
      expect((yield* client.readUntilClose()).toString()).toBe("")
    }))

  it.live("a CONNECT answered 200 becomes a tunnel: no framing fields, raw bytes after the head", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(handler)
      const client = yield* RawClient.connect(port)
      yield* client.write("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
      const head = (yield* client.readUntil("\r\n\r\n")).toString("latin1")
      expect(head.startsWith("HTTP/1.1 200 OK\r\n")).toBe(true)
      expect(head).not.toMatch(/content-length|transfer-encoding/i)
      yield* client.write("through the tunnel")
      expect((yield* client.readUntil("tunnel")).toString()).toBe("through the tunnel")
    }))

  it.live("a detached connection counts toward connectionCount and maxConnections until it closes", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serve(handler, { maxConnections: 1 })
      const client = yield* RawClient.connect(port)
      yield* client.write(upgradeRequest("/echo"))
      expect((yield* client.readResponse()).status).toBe(101)
      expect(server.connectionCount()).toBe(1)
      const refused = yield* RawClient.connect(port)
      expect(yield* refused.closesWithin(1000)).toBe(true)

      yield* client.destroy()
      expect(yield* RawClient.eventually(() => server.connectionCount() === 0)).toBe(true)
      const next = yield* RawClient.connect(port)
      yield* next.write(RawClient.get("/plain"))
      expect((yield* next.readResponse()).text).toBe("hello none")
    }))

  it.live("closing the server's scope closes detached connections after shutdownTimeout, not before", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { port, server } = yield* serve(handler, { shutdownTimeout: 300 }).pipe(Scope.provide(scope))
      const client = yield* RawClient.connect(port)
      yield* client.write(upgradeRequest("/echo"))
      expect((yield* client.readResponse()).status).toBe(101)
      const started = performance.now()
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* RawClient.sleepReal(100)
      // Still served while the shutdown waits.
      yield* client.write("during shutdown")
      expect((yield* client.readUntil("shutdown")).toString()).toBe("during shutdown")
      yield* client.readUntilClose(3000)
      const closedAfter = performance.now() - started
      expect(closedAfter).toBeGreaterThanOrEqual(250)
      expect(closedAfter).toBeLessThan(2000)
      yield* Fiber.join(closing)
      expect(server.connectionCount()).toBe(0)
    }))

  it.live("detach refuses a response that does not switch protocols, and a body not read to its end", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(handler)
      // 101 to a request that did not ask to upgrade; 200 to a GET.
      for (const status of [101, 200]) {
        const refused = yield* RawClient.connect(port).pipe(
          Effect.tap((client) => client.write(RawClient.get(`/detach-wrongly?status=${status}`))),
          Effect.flatMap((client) => client.readResponse())
        )
        expect([refused.status, refused.text]).toEqual([409, "InvalidResponse"])
      }
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.withBody("POST", "/detach-unread", "unread body", "Upgrade: x", "Connection: upgrade"))
      const unread = yield* client.readResponse()
      expect([unread.status, unread.text]).toEqual([409, "BodyUnread"])
    }))

  it.live("an upgrade the handler declines: a normal response, Connection: close, and the connection closes", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(handler)
      const client = yield* RawClient.connect(port)
      yield* client.write(upgradeRequest("/plain"))
      const response = yield* client.readResponse()
      expect([response.status, response.text]).toEqual([200, "hello echo"])
      expect(response.header("connection")).toBe("close")
      expect(yield* client.closesWithin(1000)).toBe(true)
      // Without Connection: upgrade, Upgrade is not a request to switch (RFC 9110 section 7.8).
      const plain = yield* RawClient.connect(port)
      yield* plain.write(RawClient.get("/plain", "Upgrade: echo"))
      expect((yield* plain.readResponse()).text).toBe("hello none")
      expect(yield* plain.closesWithin(200)).toBe(false)
    }))

  it.live("over TLS too", () =>
    Effect.gen(function*() {
      const { port } = yield* serve(handler, { ssl: pem })
      const client = yield* RawClient.connect(port, { tls: true })
      yield* client.write(upgradeRequest("/echo") + "early|")
      expect((yield* client.readResponse()).status).toBe(101)
      expect((yield* client.readUntil("early|")).toString()).toBe("early|")
      yield* client.write("secret")
      expect((yield* client.readUntil("secret")).toString()).toBe("secret")
    }))

  it.live("a peer that resets while upgrading or detached: no crash, the counters come back to zero", () =>
    Effect.gen(function*() {
      const { port, server } = yield* serve(handler)
      for (let i = 0; i < 6; i++) {
        const client = yield* RawClient.connect(port)
        yield* client.write(upgradeRequest("/echo"))
        if (i % 2 === 1) expect((yield* client.readResponse()).status).toBe(101)
        if (i % 3 === 2) yield* client.write("data then reset")
        yield* client.reset()
      }
      expect(yield* RawClient.eventually(() => server.connectionCount() === 0)).toBe(true)
      const after = yield* RawClient.connect(port)
      yield* after.write(RawClient.get("/plain"))
      expect((yield* after.readResponse()).text).toBe("hello none")
    }))
})
