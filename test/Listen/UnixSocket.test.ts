/**
 * `UnixSocket.bindUnixSocket` (Tornado's `bind_unix_socket`): the mode
 * asked for (default 0o600) from the start, the file gone after release, a
 * stale socket replaced, and everything else in the way refused with a
 * ListenError that says what it found.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as HTTPServer from "../../src/Server/HTTPServer.ts"
import * as UnixSocket from "../../src/Listen/UnixSocket.ts"
import { handler as demoHandler } from "../../src/cli/DemoApp.ts"
import { tempDir } from "../support/Processes.ts"
import * as RawClient from "../support/RawClient.ts"



const modeOf = (path: string) => Fs.statSync(path).mode & 0o777

describe("bindUnixSocket", () => {
  it.live("the socket has mode 0o600 by default, the mode asked for otherwise, and is gone after release", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("effect-httpserver-unix-")
      for (const [mode, expected] of [[undefined, 0o600], [0o660, 0o660], [0o666, 0o666], [0o400, 0o400]] as const) {
        const path = Path.join(dir, `mode-${expected.toString(8)}.sock`)
        const scope = yield* Scope.make()
        const socket = yield* Scope.provide(UnixSocket.bindUnixSocket(path, mode === undefined ? {} : { mode }), scope)
        expect(Fs.statSync(path).isSocket()).toBe(true)
        expect(modeOf(path)).toBe(expected)
        expect(socket.address).toEqual({ _tag: "UnixAddress", path })
        yield* Scope.close(scope, Exit.void)
        expect(Fs.existsSync(path)).toBe(false)
      }
    }))

  it.live("listen({ unixSocket, unixSocketMode }) serves with that mode and removes the file on shutdown", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("effect-httpserver-unix-")
      const path = Path.join(dir, "listen.sock")
      const scope = yield* Scope.make()
      yield* Scope.provide(HTTPServer.listen(demoHandler, { unixSocket: path, unixSocketMode: 0o660, shutdownTimeout: 2000 }), scope)
      expect(modeOf(path)).toBe(0o660)
      const response = yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* RawClient.connect({ path })
        yield* client.write("GET /hello HTTP/1.0\r\n\r\n")
        return yield* client.readResponse()
      }))
      expect(response.text).toBe("Hello world")
      yield* Scope.close(scope, Exit.void)
      expect(Fs.existsSync(path)).toBe(false)
    }))

  it.live("a socket file left by a server that died is replaced; one a server listens on is refused", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("effect-httpserver-unix-")
      const stale = Path.join(dir, "stale.sock")
      const died = ChildProcess.spawnSync(process.execPath, [
        "-e",
        `require("node:net").createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, "SIGKILL"))`
      ])
      expect(died.signal).toBe("SIGKILL")
      yield* UnixSocket.bindUnixSocket(stale)
      expect(modeOf(stale)).toBe(0o600)

      const error = yield* Effect.flip(UnixSocket.bindUnixSocket(stale))
      expect(error.message).toBe(`cannot listen on unix:${stale}: another server is listening on this socket`)
      expect(error.option).toBe("unixSocket")
      // The live one is untouched.
      expect(Fs.statSync(stale).isSocket()).toBe(true)
    }))

  it.live("refuses a regular file, a directory, a missing directory and a path too long, saying which", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("effect-httpserver-unix-")
      const regular = Path.join(dir, "regular")
      Fs.writeFileSync(regular, "keep me")
      const message = (path: string) => Effect.map(Effect.flip(UnixSocket.bindUnixSocket(path)), (error) => error.message)

      expect(yield* message(regular)).toBe(`cannot listen on unix:${regular}: a regular file is in the way (it is left alone)`)
      expect(Fs.readFileSync(regular, "utf8")).toBe("keep me")
      expect(yield* message(dir)).toBe(`cannot listen on unix:${dir}: a directory is in the way (it is left alone)`)
      const missing = Path.join(dir, "no-such-dir", "s.sock")
      expect(yield* message(missing)).toBe(
        `cannot listen on unix:${missing}: the directory ${Path.join(dir, "no-such-dir")} does not exist`
      )
      const long = Path.join(dir, "x".repeat(120))
      expect(yield* message(long)).toBe(
        `cannot listen on unix:${long}: the path is ${Buffer.byteLength(long)} bytes; a Unix socket path has at most 107`
      )
    }))
})
