/**
 * systemd socket activation: the test plays systemd, binding a listening
 * socket and starting `test/support/ActivatedProgram.ts` with it at fd 3
 * and `LISTEN_FDS=1`, `LISTEN_PID` (set by a shell that then `exec`s
 * node, as systemd sets it after forking) and `LISTEN_FDNAMES`.
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as SocketActivation from "../../src/Listen/SocketActivation.ts"
import { describeServer, exitOf, processesMarked, spawnProcess, waitUntil } from "../support/Processes.ts"
import * as RawClient from "../support/RawClient.ts"

/** A listening socket in this process, and its file descriptor (to hand to a child). */
const listeningFd = Effect.acquireRelease(
  Effect.callback<Net.Server>((resume) => {
    const server = Net.createServer()
    server.listen({ host: "127.0.0.1", port: 0 }, () => resume(Effect.succeed(server)))
  }),
  (server) => Effect.sync(() => server.close())
).pipe(Effect.map((server) => ({
  server,
  port: (server.address() as Net.AddressInfo).port,
  fd: (server as unknown as { _handle: { fd: number } })._handle.fd
})))

/** Starts the program as systemd would: `sh -c 'LISTEN_PID=$$ exec node ...'` with `fd` at 3. */
const activate = (fd: number, env: Readonly<Record<string, string>>) =>
  spawnProcess("/bin/sh", ["-c", `LISTEN_PID=$$ exec "${process.execPath}" test/support/ActivatedProgram.ts`], {
    env,
    extraFds: [fd]
  })

const firstLine = (program: { stdout: () => string; exited: () => unknown }, what: () => string) =>
  waitUntil(what, 15_000, () => {
    const out = program.stdout()
    if (out.includes("\n")) return out.slice(0, out.indexOf("\n"))
    if (program.exited() !== undefined) throw new Error(`exited; ${what()}`)
    return undefined
  })

describe("socketsFromEnvironment (systemd socket activation)", () => {
  it.live("serves on the socket inherited at fd 3, under its name", () =>
    Effect.gen(function*() {
      const { server, port, fd } = yield* listeningFd
      const program = yield* activate(fd, { LISTEN_FDS: "1", LISTEN_FDNAMES: "http" })
      expect(yield* firstLine(program, () => describeServer(program))).toBe(`serving ${port} http`)
      // Only the child accepts from now on (as systemd does not accept on an Accept=no socket).
      server.close()

      const response = yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* RawClient.connect(port)
        yield* client.write(RawClient.get("/echo", "Connection: close"))
        return yield* client.readResponse({ timeoutMillis: 5000 })
      }))
      expect(response.status).toBe(200)
      expect(response.json<{ pid: number }>().pid).toBe(program.pid)

      process.kill(program.pid, "SIGTERM")
      expect(yield* exitOf(program)).toEqual({ code: 0, signal: null })
      expect(processesMarked(program.marker)).toEqual([])
    }), 30_000)

  it.live("an inherited fd that is not a socket fails with a ListenError naming it", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-httpserver-activation-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const file = Fs.openSync(Path.join(dir, "not-a-socket"), "w")
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.closeSync(file)))
      const program = yield* activate(file, { LISTEN_FDS: "1", LISTEN_FDNAMES: "http" })
      expect(yield* firstLine(program, () => describeServer(program))).toBe("failed cannot listen on fd 3 (http): not a socket")
    }), 30_000)

  it("reads LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES as sd_listen_fds does", () => {
    const pid = String(process.pid)
    expect(SocketActivation.passedFds({})).toEqual([])
    expect(SocketActivation.passedFds({ LISTEN_FDS: "0", LISTEN_PID: pid })).toEqual([])
    expect(SocketActivation.passedFds({ LISTEN_FDS: "2", LISTEN_PID: pid, LISTEN_FDNAMES: "http:admin" })).toEqual([
      { fd: 3, name: "http" },
      { fd: 4, name: "admin" }
    ])
    expect(SocketActivation.passedFds({ LISTEN_FDS: "1", LISTEN_PID: pid })).toEqual([{ fd: 3, name: undefined }])
    // For another process: not ours.
    expect(SocketActivation.passedFds({ LISTEN_FDS: "1", LISTEN_PID: String(process.pid + 1) })).toEqual([])
    expect(SocketActivation.passedFds({ LISTEN_FDS: "many", LISTEN_PID: pid })).toEqual([])
  })
})
