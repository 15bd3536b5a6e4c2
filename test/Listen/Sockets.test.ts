/**
 * Binding before serving, in one process: `Sockets.bindSockets` (Tornado's
 * `bind_sockets`), `HTTPServer.addSockets` (`add_sockets`) over several
 * sockets at once, the `ListenError` of each way binding fails, and
 * `processes` refused where this process serves.
 */
import * as Dns from "node:dns/promises"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Scope } from "effect"
import * as EffectHttpAdapter from "../../src/EffectHttp/EffectHttpAdapter.ts"
import * as HTTPServer from "../../src/Server/HTTPServer.ts"
import * as Sockets from "../../src/Listen/Sockets.ts"
import * as UnixSocket from "../../src/Listen/UnixSocket.ts"
import { handler as demoHandler } from "../../src/cli/DemoApp.ts"
import { tempDir } from "../support/Processes.ts"
import * as RawClient from "../support/RawClient.ts"

const hello = (target: RawClient.Target, host?: string) =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* RawClient.connect(target, host === undefined ? {} : { host })
    yield* client.write(RawClient.get("/hello", "Connection: close"))
    const response = yield* client.readResponse({ timeoutMillis: 5000 })
    return `${response.status} ${response.text}`
  }))

const refusedCode = (target: RawClient.Target, host?: string) =>
  Effect.scoped(Effect.gen(function*() {
    const outcome = yield* RawClient.tryConnect(target, host === undefined ? {} : { host })
    return outcome instanceof Error ? (outcome as NodeJS.ErrnoException).code : "connected"
  }))

const portOf = (socket: Sockets.ListeningSocket | undefined): number => {
  if (socket?.address._tag !== "TcpAddress") throw new Error("not a TCP socket")
  return socket.address.port
}



describe("bindSockets", () => {
  it.live("binds and listens at once; a connection made before anything serves it is answered once served", () =>
    Effect.gen(function*() {
      const [socket] = yield* Sockets.bindSockets(0, { host: "127.0.0.1" })
      const port = portOf(socket)
      const early = yield* RawClient.connect(port)
      yield* early.write(RawClient.get("/hello"))
      yield* RawClient.sleepReal(50)
      yield* HTTPServer.addSockets(demoHandler, socket === undefined ? [] : [socket], { shutdownTimeout: 2000 })
      const response = yield* early.readResponse({ timeoutMillis: 5000 })
      expect([response.status, response.text]).toEqual([200, "Hello world"])
    }))

  it.live("a host name binds every address it resolves to, all on the port the first one picked", () =>
    Effect.gen(function*() {
      const resolved = [...new Set((yield* Effect.promise(() => Dns.lookup("localhost", { all: true }))).map((a) => a.address))]
      const sockets = yield* Sockets.bindSockets(0, { host: "localhost" })
      expect(sockets.map((socket) => socket.address._tag === "TcpAddress" && socket.address.hostname)).toEqual(resolved)
      const port = portOf(sockets[0])
      for (const socket of sockets) expect(portOf(socket)).toBe(port)
      yield* HTTPServer.addSockets(demoHandler, sockets, { shutdownTimeout: 2000 })
      for (const host of resolved) expect(yield* hello(port, host)).toBe("200 Hello world")
    }))

  it.live("closing the Scope closes the sockets", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const [socket] = yield* Scope.provide(Sockets.bindSockets(0, { host: "127.0.0.1" }), scope)
      expect(socket?.listening).toBe(true)
      yield* Scope.close(scope, Exit.void)
      expect(socket?.listening).toBe(false)
      expect(yield* refusedCode(portOf(socket))).toBe("ECONNREFUSED")
    }))

  it.live("a port in use: a ListenError naming the address and the port option", () =>
    Effect.gen(function*() {
      const [taken] = yield* Sockets.bindSockets(0, { host: "127.0.0.1" })
      const port = portOf(taken)
      const error = yield* Effect.flip(Sockets.bindSockets(port, { host: "127.0.0.1" }))
      expect(error._tag).toBe("ListenError")
      expect([error.address, error.option, error.code]).toEqual([`127.0.0.1:${port}`, "port", "EADDRINUSE"])
      expect(error.message).toBe(`cannot listen on 127.0.0.1:${port}: EADDRINUSE (address already in use)`)
    }))

  it.live("reusePort lets two sockets share a port", () =>
    Effect.gen(function*() {
      const [first] = yield* Sockets.bindSockets(0, { host: "127.0.0.1", reusePort: true })
      const [second] = yield* Sockets.bindSockets(portOf(first), { host: "127.0.0.1", reusePort: true })
      expect(portOf(second)).toBe(portOf(first))
    }))

  it.live("a host that is not this machine's, and one that does not resolve: ListenErrors about the host", () =>
    Effect.gen(function*() {
      const foreign = yield* Effect.flip(Sockets.bindSockets(0, { host: "192.0.2.1" }))
      expect([foreign.address, foreign.option, foreign.code]).toEqual(["192.0.2.1:0", "host", "EADDRNOTAVAIL"])
      expect(foreign.message).toBe("cannot listen on 192.0.2.1:0: EADDRNOTAVAIL (not an address of this machine)")
      const unknown = yield* Effect.flip(Sockets.bindSockets(0, { host: "no-such-host.invalid" }))
      expect([unknown.address, unknown.option, unknown.code]).toEqual(["no-such-host.invalid:0", "host", "ENOTFOUND"])
      expect(unknown.message).toBe("cannot listen on no-such-host.invalid:0: ENOTFOUND (host name not found)")
    }))
})

describe("addSockets", () => {
  it.live("one server over IPv4, IPv6 and a Unix socket: one connection count, one shutdown", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("effect-httpserver-sockets-")
      const path = Path.join(dir, "http.sock")
      const scope = yield* Scope.make()
      const server = yield* Scope.provide(
        Effect.gen(function*() {
          const v4 = yield* Sockets.bindSockets(0, { host: "127.0.0.1" })
          const v6 = yield* Sockets.bindSockets(0, { host: "::1" })
          const unix = yield* UnixSocket.bindUnixSocket(path)
          return yield* HTTPServer.addSockets(demoHandler, [...v4, ...v6, unix], { shutdownTimeout: 2000 })
        }),
        scope
      )
      const [v4, v6, unix] = server.addresses
      if (v4?._tag !== "TcpAddress" || v6?._tag !== "TcpAddress") throw new Error("expected two TCP addresses")
      expect(v4.hostname).toBe("127.0.0.1")
      expect(v6.hostname).toBe("::1")
      expect(unix).toEqual({ _tag: "UnixAddress", path })
      expect(server.address).toEqual(v4)
      expect(server.url).toBe(`http://127.0.0.1:${v4.port}`)

      expect(yield* hello(v4.port)).toBe("200 Hello world")
      expect(yield* hello(v6.port, "::1")).toBe("200 Hello world")
      expect(yield* hello({ path })).toBe("200 Hello world")
      // One server counts the connections of all three.
      const a = yield* RawClient.connect(v4.port)
      const b = yield* RawClient.connect(v6.port, { host: "::1" })
      const c = yield* RawClient.connect({ path })
      for (const client of [a, b, c]) yield* client.write(RawClient.get("/hello"))
      for (const client of [a, b, c]) expect((yield* client.readResponse()).status).toBe(200)
      expect(server.connectionCount()).toBe(3)

      // A request in flight on one socket holds the shutdown of all.
      const slow = yield* RawClient.connect({ path })
      yield* slow.write(RawClient.get("/slow?ms=400"))
      yield* RawClient.sleepReal(50)
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* RawClient.sleepReal(100)
      expect(yield* refusedCode(v4.port)).toBe("ECONNREFUSED")
      expect(yield* refusedCode(v6.port, "::1")).toBe("ECONNREFUSED")
      const response = yield* slow.readResponse({ timeoutMillis: 5000 })
      expect([response.status, response.text]).toEqual([200, "done"])
      yield* Fiber.join(closing)
      expect(Fs.existsSync(path)).toBe(false)
    }))

  it.live("refuses options that say where to listen, and no sockets at all, with a ConfigError", () =>
    Effect.gen(function*() {
      const sockets = yield* Sockets.bindSockets(0, { host: "127.0.0.1" })
      const error = yield* Effect.flip(HTTPServer.addSockets(demoHandler, sockets, { port: 8000, processes: 2 }))
      expect(error._tag).toBe("ConfigError")
      expect(error.message).toBe(
        "port: is not used by addSockets (the sockets are bound already); " +
          "processes: is not used by addSockets (the sockets are bound already)"
      )
      const none = yield* Effect.flip(HTTPServer.addSockets(demoHandler, []))
      expect(none.message).toBe("sockets: must be at least one listening socket")
      // Still free to be served.
      yield* HTTPServer.addSockets(demoHandler, sockets, { shutdownTimeout: 2000 })
      expect(yield* hello(portOf(sockets[0]))).toBe("200 Hello world")
    }))
})

describe("processes where this process serves", () => {
  const refusal = "processes: must be 1 here (this process serves), got 2: HTTPServer.start forks worker processes"

  it.live("listen, layer and the effect/http adapter refuse processes other than 1 with a ConfigError", () =>
    Effect.gen(function*() {
      const listened = yield* Effect.flip(HTTPServer.listen(demoHandler, { port: 0, processes: 2 }))
      expect([listened._tag, listened.message]).toEqual(["ConfigError", refusal])
      const layered = yield* Effect.flip(Effect.scoped(Layer.build(HTTPServer.layer(demoHandler, { port: 0, processes: 2 }))))
      expect(layered.message).toBe(refusal)
      const adapted = yield* Effect.flip(Effect.scoped(Layer.build(EffectHttpAdapter.layerServer({ port: 0, processes: 2 }))))
      expect(adapted.message).toBe(refusal)
    }))

  it.live("start with processes 1 serves in this process", () =>
    Effect.gen(function*() {
      const started = yield* HTTPServer.start(demoHandler, { host: "127.0.0.1", port: 0, processes: 1, shutdownTimeout: 2000 })
      if (started._tag !== "Serving") throw new Error("expected to serve here")
      expect(started.taskId).toBeUndefined()
      if (started.server.address._tag !== "TcpAddress") throw new Error("expected TCP")
      expect(yield* hello(started.server.address.port)).toBe("200 Hello world")
    }))

  it.live("start with workers in a process that is not a worker binds first: a port in use fails here", () =>
    Effect.gen(function*() {
      const holder = Net.createServer()
      yield* Effect.acquireRelease(
        Effect.callback<void>((resume) => {
          holder.listen({ host: "127.0.0.1", port: 0 }, () => resume(Effect.void))
        }),
        () => Effect.sync(() => holder.close())
      )
      const port = (holder.address() as Net.AddressInfo).port
      const error = yield* Effect.flip(HTTPServer.start(demoHandler, { host: "127.0.0.1", port, processes: 2 }))
      expect(error._tag).toBe("ListenError")
      expect(error.message).toBe(`cannot listen on 127.0.0.1:${port}: EADDRINUSE (address already in use)`)
    }))
})
