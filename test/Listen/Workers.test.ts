/**
 * The `effect-httpserver` command as a real process: `--processes N`
 * (Tornado's `fork_processes`), and SIGTERM/SIGINT shutdown with and
 * without workers. Each test spawns `node src/cli/main.ts`, talks to it over
 * loopback sockets, signals it, and checks that no process it started is
 * left (every process carries a marker in its environment, which workers
 * inherit).
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as Workers from "../../src/Listen/Workers.ts"
import {
  childrenOf,
  describeServer,
  distinctPids,
  echoPid,
  exitOf,
  isAlive,
  listeningLine,
  processesMarked,
  type ServerProcess,
  spawnServer,
  tempDir,
  waitUntil
} from "../support/Processes.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeLogCapture } from "../support/TestServer.ts"

const TEST_TIMEOUT = 25_000

/** Starts a TCP server and returns it with its port, once listening. */
const startTcp = (args: ReadonlyArray<string>, options: { readonly processGroup?: boolean } = {}) =>
  Effect.gen(function*() {
    const server = yield* spawnServer(["--port", "0", ...args], options)
    const line = yield* listeningLine(server)
    const match = /^listening on http:\/\/127\.0\.0\.1:(\d+)$/.exec(line)
    expect(match, line).not.toBeNull()
    return { server, port: Number(match?.[1]) }
  })

// ---------------------------------------------------------------------------
// Requests

/**
 * Starts `GET /slow?ms=...` on a connection that has already been answered
 * once (so it is held by the process that will answer the slow request too).
 */
const startSlowRequest = (target: RawClient.Target, millis: number) =>
  Effect.gen(function*() {
    const client = yield* RawClient.connect(target)
    yield* client.write(RawClient.get("/"))
    const hello = yield* client.readResponse({ timeoutMillis: 5000 })
    expect([hello.status, hello.text]).toEqual([200, "Hello world"])
    yield* client.write(RawClient.get(`/slow?ms=${millis}`))
    // Let the server read the request before it is signalled.
    yield* RawClient.sleepReal(100)
    return client
  })

/** Connecting fails: refused (a Unix socket may also be gone: ENOENT). */
const expectRefused = (target: RawClient.Target) =>
  Effect.scoped(Effect.gen(function*() {
    const outcome = yield* RawClient.tryConnect(target)
    expect(outcome).toBeInstanceOf(Error)
    const refused = typeof target === "number" ? ["ECONNREFUSED"] : ["ECONNREFUSED", "ENOENT"]
    expect(refused).toContain((outcome as NodeJS.ErrnoException).code)
  }))

/**
 * `signal` (default: SIGTERM to the server process) with a slow request in
 * flight: new connections are refused at once, the slow request still gets
 * its 200, the server exits 0 and prints nothing more on stdout.
 */
const shutdownWithRequestInFlight = (
  server: ServerProcess,
  target: RawClient.Target,
  line: string,
  signal: () => void = () => process.kill(server.pid, "SIGTERM")
) =>
  Effect.gen(function*() {
    const slow = yield* startSlowRequest(target, 700)
    const signalled = Date.now()
    signal()
    yield* RawClient.sleepReal(150)
    yield* expectRefused(target)
    expect(server.exited()).toBeUndefined()

    const response = yield* slow.readResponse({ timeoutMillis: 5000 })
    expect([response.status, response.text]).toEqual([200, "done"])
    // Answered when the request was done, not cut short.
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(400)

    expect(yield* exitOf(server)).toEqual({ code: 0, signal: null })
    expect(server.stdout()).toBe(`${line}\n`)
  })

// ---------------------------------------------------------------------------

describe("one process (--processes 1)", () => {
  it.live("SIGTERM: an in-flight request still gets its 200, new connections are refused, exit 0", () =>
    Effect.gen(function*() {
      const { server, port } = yield* startTcp([])
      expect(yield* echoPid(port)).toBe(server.pid)
      yield* shutdownWithRequestInFlight(server, port, `listening on http://127.0.0.1:${port}`)
      expect(processesMarked(server.marker)).toEqual([])
    }), TEST_TIMEOUT)

  it.live("SIGINT: exit 0", () =>
    Effect.gen(function*() {
      const { server } = yield* startTcp([])
      process.kill(server.pid, "SIGINT")
      expect(yield* exitOf(server)).toEqual({ code: 0, signal: null })
    }), TEST_TIMEOUT)
})

describe("worker processes (--processes N)", () => {
  it.live("--processes 2 --port 0: one line, two workers serve, SIGTERM drains them and exits 0", () =>
    Effect.gen(function*() {
      const { server, port } = yield* startTcp(["--processes", "2"])
      const line = `listening on http://127.0.0.1:${port}`
      const workers = childrenOf(server.pid)
      expect(workers).toHaveLength(2)

      // Fresh connections are answered by both workers, never by the primary.
      const pids = yield* distinctPids(port, 2)
      expect(pids).toEqual(workers)

      yield* shutdownWithRequestInFlight(server, port, line)
      for (const pid of workers) expect(isAlive(pid), `worker ${pid} is still alive`).toBe(false)
      expect(processesMarked(server.marker)).toEqual([])
      expect(server.stderr()).toBe("")
    }), TEST_TIMEOUT)

  it.live("SIGINT: the workers stop and the primary exits 0", () =>
    Effect.gen(function*() {
      const { server } = yield* startTcp(["--processes", "2"])
      const workers = childrenOf(server.pid)
      expect(workers).toHaveLength(2)
      process.kill(server.pid, "SIGINT")
      expect(yield* exitOf(server)).toEqual({ code: 0, signal: null })
      for (const pid of workers) expect(isAlive(pid), `worker ${pid} is still alive`).toBe(false)
      expect(processesMarked(server.marker)).toEqual([])
    }), TEST_TIMEOUT)

  it.live("Ctrl-C (SIGINT to the whole process group): the request in flight gets its 200, exit 0", () =>
    Effect.gen(function*() {
      const { server, port } = yield* startTcp(["--processes", "2"], { processGroup: true })
      const workers = childrenOf(server.pid)
      expect(workers).toHaveLength(2)
      yield* shutdownWithRequestInFlight(
        server,
        port,
        `listening on http://127.0.0.1:${port}`,
        () => process.kill(-server.pid, "SIGINT")
      )
      for (const pid of workers) expect(isAlive(pid), `worker ${pid} is still alive`).toBe(false)
      expect(processesMarked(server.marker)).toEqual([])
    }), TEST_TIMEOUT)

  it.live("a worker that dies is restarted, and the restart is logged on stderr", () =>
    Effect.gen(function*() {
      const { server, port } = yield* startTcp(["--processes", "2"])
      const [victim, survivor] = childrenOf(server.pid)
      if (victim === undefined || survivor === undefined) throw new Error("expected two workers")
      process.kill(victim, "SIGKILL")

      yield* waitUntil(() => `waiting for the restart; ${describeServer(server)}`, 10_000, () =>
        server.stderr().includes(`(pid ${victim}) killed by signal SIGKILL, restarting`) || undefined)
      const replacement = yield* waitUntil(() => "waiting for a new worker", 10_000, () => {
        const workers = childrenOf(server.pid)
        return workers.length === 2 && !workers.includes(victim) ? workers.find((pid) => pid !== survivor) : undefined
      })
      // The new worker serves on the same port.
      expect(yield* distinctPids(port, 2)).toEqual([survivor, replacement].sort((a, b) => a - b))

      process.kill(server.pid, "SIGTERM")
      expect(yield* exitOf(server)).toEqual({ code: 0, signal: null })
      expect(processesMarked(server.marker)).toEqual([])
      expect(server.stdout()).toBe(`listening on http://127.0.0.1:${port}\n`)
    }), TEST_TIMEOUT)

  it.live("workers that cannot listen (port taken): exit non-zero with the error on stderr, no restarts", () =>
    Effect.gen(function*() {
      const taken = yield* Effect.acquireRelease(
        Effect.callback<Net.Server>((resume) => {
          const holder = Net.createServer()
          holder.listen({ host: "127.0.0.1", port: 0 }, () => resume(Effect.succeed(holder)))
        }),
        (holder) => Effect.sync(() => holder.close())
      )
      const address = taken.address()
      if (address === null || typeof address === "string") throw new Error("no port")

      const server = yield* spawnServer(["--port", String(address.port), "--processes", "2"])
      const exited = yield* exitOf(server)
      expect(exited.code).not.toBe(0)
      expect(exited.code).not.toBeNull()
      expect(server.stdout()).toBe("")
      expect(server.stderr()).toContain(`cannot listen on 127.0.0.1:${address.port}: EADDRINUSE`)
      expect(server.stderr()).not.toContain("restarting")
      expect(processesMarked(server.marker)).toEqual([])
    }), TEST_TIMEOUT)

  it.live("--unix-socket: one line, two workers serve on the socket, SIGTERM exits 0", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-httpserver-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const socketPath = Path.join(dir, "server.sock")

      const server = yield* spawnServer(["--unix-socket", socketPath, "--processes", "2"])
      const line = yield* listeningLine(server)
      expect(line).toBe(`listening on unix:${socketPath}`)
      const workers = childrenOf(server.pid)
      expect(yield* distinctPids({ path: socketPath }, 2)).toEqual(workers)

      yield* shutdownWithRequestInFlight(server, { path: socketPath }, line)
      expect(processesMarked(server.marker)).toEqual([])
    }), TEST_TIMEOUT)

  it.live("--unix-socket-mode: the socket has that mode (600 by default), with and without workers, and is gone after", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      for (const [args, mode] of [[[], 0o600], [["--unix-socket-mode", "660"], 0o660], [["--unix-socket-mode", "0640", "--processes", "2"], 0o640]] as const) {
        const socketPath = Path.join(dir, `mode-${mode.toString(8)}.sock`)
        const server = yield* spawnServer(["--unix-socket", socketPath, ...args])
        expect(yield* listeningLine(server)).toBe(`listening on unix:${socketPath}`)
        expect(Fs.statSync(socketPath).mode & 0o777).toBe(mode)
        expect(yield* echoPid({ path: socketPath })).toBeGreaterThan(0)
        process.kill(server.pid, "SIGTERM")
        expect(yield* exitOf(server)).toEqual({ code: 0, signal: null })
        expect(Fs.existsSync(socketPath)).toBe(false)
      }
    }), 45_000)
})

describe("forkWorkers (the supervisor, with stand-in workers)", () => {
  /**
   * A worker that says it listens (as `serveAsWorker` does), then exits
   * with the status given as its argument: it starts in milliseconds.
   */
  const standInWorker = Effect.acquireRelease(
    Effect.sync(() => {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-httpserver-"))
      const script = Path.join(dir, "worker.mjs")
      Fs.writeFileSync(
        script,
        `process.send({ _tag: "effect-httpserver/WorkerListening", url: "http://stand-in.invalid" }, () =>
          setTimeout(() => process.exit(Number(process.argv[2])), 20))\n`
      )
      return { dir, script }
    }),
    ({ dir }) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
  )

  const config = (processes: number): Workers.WorkersConfig => ({
    processes,
    shutdownTimeout: Duration.seconds(1)
  })

  it.live("a worker that keeps dying is restarted up to maxRestarts times, then the supervisor gives up", () => {
    const capture = makeLogCapture()
    return Effect.gen(function*() {
      const { script } = yield* standInWorker
      const supervisor = yield* Workers.forkWorkers(config(1), { maxRestarts: 2, exec: script, args: ["3"] })
      expect(supervisor.url).toBe("http://stand-in.invalid")
      const error = yield* Effect.flip(supervisor.exited)
      expect(error._tag).toBe("TooManyRestarts")
      expect(error.message).toBe("too many worker restarts (more than 2), giving up")
      expect(supervisor.restarts()).toBe(2)
      const restarts = capture.lines.filter((line) => line.message.includes("exited with status 3, restarting"))
      expect(restarts.map((line) => line.level)).toEqual(["Warn", "Warn"])
      expect(supervisor.pids()).toEqual([])
    }).pipe(Effect.provide(capture.layer))
  }, TEST_TIMEOUT)

  it.live("workers that exit with status 0 are not restarted; once all have, `exited` succeeds", () => {
    const capture = makeLogCapture()
    return Effect.gen(function*() {
      const { script } = yield* standInWorker
      const supervisor = yield* Workers.forkWorkers(config(2), { exec: script, args: ["0"] })
      yield* supervisor.exited
      expect(supervisor.restarts()).toBe(0)
      expect(capture.lines.filter((line) => line.message.includes("exited normally"))).toHaveLength(2)
    }).pipe(Effect.provide(capture.layer))
  }, TEST_TIMEOUT)

  it("processes 0 means one per CPU", () => {
    expect(Workers.resolveProcessCount(0)).toBe(Os.availableParallelism())
    expect(Workers.resolveProcessCount(3)).toBe(3)
  })
})
