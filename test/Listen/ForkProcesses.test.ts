/**
 * Tornado's third start-up pattern with real processes:
 * `Sockets.bindSockets` + `UnixSocket.bindUnixSocket` in the parent,
 * `ForkProcesses.forkProcesses(2)`, `HTTPServer.addSockets` in each worker
 * (`test/support/ForkProgram.ts`). Fresh connections reach both workers,
 * on TCP and on the Unix socket; a worker killed with SIGKILL is replaced;
 * SIGTERM to the parent lets in-flight requests finish and leaves no
 * process behind.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  childrenOf,
  describeServer,
  distinctPids,
  exitOf,
  isAlive,
  processesMarked,
  type ServerProcess,
  spawnProcess,
  tempDir,
  waitUntil
} from "../support/Processes.ts"
import * as RawClient from "../support/RawClient.ts"

const TEST_TIMEOUT = 45_000

/** The lines `worker ID PID serving` printed so far. */
const serving = (program: ServerProcess) =>
  [...program.stdout().matchAll(/^worker (\d+) (\d+) serving$/gm)].map((match) => ({
    taskId: Number(match[1]),
    pid: Number(match[2])
  }))

const startProgram = (socketPath: string) =>
  Effect.gen(function*() {
    const program = yield* spawnProcess(process.execPath, ["test/support/ForkProgram.ts"], {
      env: { PROCESSES: "2", UNIX_SOCKET: socketPath }
    })
    const port = yield* waitUntil(() => `waiting for the bound port; ${describeServer(program)}`, 25_000, () => {
      const match = /^bound (\d+)$/m.exec(program.stdout())
      if (program.exited() !== undefined) throw new Error(`exited; ${describeServer(program)}`)
      return match === null ? undefined : Number(match[1])
    })
    yield* waitUntil(() => `waiting for two workers; ${describeServer(program)}`, 25_000, () =>
      serving(program).length >= 2 || undefined)
    return { program, port }
  })

describe("bindSockets + forkProcesses + addSockets (Tornado's fork_processes)", () => {
  it.live("two workers with task ids 0 and 1 serve the parent's TCP port and Unix socket", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("effect-httpserver-fork-")
      const socketPath = Path.join(dir, "http.sock")
      const { program, port } = yield* startProgram(socketPath)
      const workers = childrenOf(program.pid)
      expect(workers).toHaveLength(2)
      expect(serving(program).map((line) => line.taskId).sort()).toEqual([0, 1])
      expect(serving(program).map((line) => line.pid).sort((a, b) => a - b)).toEqual(workers)

      expect(yield* distinctPids(port, 2)).toEqual(workers)
      expect(yield* distinctPids({ path: socketPath }, 2)).toEqual(workers)
      // The mode asked for, set on the socket the workers share.
      expect(Fs.statSync(socketPath).mode & 0o777).toBe(0o640)

      process.kill(program.pid, "SIGTERM")
      expect(yield* exitOf(program)).toEqual({ code: 0, signal: null })
      expect(processesMarked(program.marker)).toEqual([])
      expect(Fs.existsSync(socketPath)).toBe(false)
    }), TEST_TIMEOUT)

  it.live("a worker killed with SIGKILL is replaced, with its task id, and the port keeps answering", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("effect-httpserver-fork-")
      const { program, port } = yield* startProgram(Path.join(dir, "http.sock"))
      const [victim] = serving(program)
      if (victim === undefined) throw new Error("no worker")
      process.kill(victim.pid, "SIGKILL")

      const replacement = yield* waitUntil(() => `waiting for a replacement; ${describeServer(program)}`, 10_000, () =>
        serving(program).find((line) => line.taskId === victim.taskId && line.pid !== victim.pid))
      expect(isAlive(victim.pid)).toBe(false)
      // The parent logs the restart (Effect's logger: stdout here).
      expect(program.stdout()).toContain(`(pid ${victim.pid}) killed by signal SIGKILL, restarting`)
      const workers = childrenOf(program.pid)
      expect(workers).toHaveLength(2)
      expect(workers).toContain(replacement.pid)
      expect(yield* distinctPids(port, 2)).toEqual(workers)

      process.kill(program.pid, "SIGTERM")
      expect(yield* exitOf(program)).toEqual({ code: 0, signal: null })
      expect(processesMarked(program.marker)).toEqual([])
    }), TEST_TIMEOUT)

  it.live("SIGTERM to the parent: in-flight /slow requests finish, new connections are refused, nothing is left", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("effect-httpserver-fork-")
      const { program, port } = yield* startProgram(Path.join(dir, "http.sock"))
      // One slow request on each of several connections, so that both workers have one in flight.
      const clients = yield* Effect.forEach(Array.from({ length: 6 }), () =>
        Effect.gen(function*() {
          const client = yield* RawClient.connect(port)
          yield* client.write(RawClient.get("/slow?ms=800"))
          return client
        }))
      yield* RawClient.sleepReal(200)
      const signalled = Date.now()
      process.kill(program.pid, "SIGTERM")
      yield* RawClient.sleepReal(200)
      const refused = yield* Effect.scoped(RawClient.tryConnect(port))
      expect((refused as NodeJS.ErrnoException).code).toBe("ECONNREFUSED")

      for (const client of clients) {
        const response = yield* client.readResponse({ timeoutMillis: 5000 })
        expect([response.status, response.text]).toEqual([200, "done"])
      }
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(400)
      expect(yield* exitOf(program)).toEqual({ code: 0, signal: null })
      expect(processesMarked(program.marker)).toEqual([])
    }), TEST_TIMEOUT)

  it.live("no worker outlives its parent: the parent killed with SIGKILL, the workers exit", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("effect-httpserver-fork-")
      const { program } = yield* startProgram(Path.join(dir, "http.sock"))
      const workers = serving(program).map((line) => line.pid)
      expect(workers).toHaveLength(2)
      process.kill(program.pid, "SIGKILL")
      yield* waitUntil(() => `waiting for the workers to exit; ${describeServer(program)}`, 15_000, () =>
        workers.every((pid) => !isAlive(pid)) || undefined)
      expect(processesMarked(program.marker)).toEqual([])
    }), TEST_TIMEOUT)

  it.live("workers that exit with status 0 are not restarted; once all have, the parent's program ends", () =>
    Effect.gen(function*() {
      const program = yield* spawnProcess(process.execPath, ["test/support/ForkExitProgram.ts"], {
        env: { WORKER_EXIT: "0" }
      })
      expect(yield* exitOf(program, 45_000)).toEqual({ code: 0, signal: null })
      const lines = program.stdout().split("\n").filter((line) => line.startsWith("worker") || line.startsWith("parent"))
      expect(lines.filter((line) => line.startsWith("worker")).sort()).toEqual(["worker 0", "worker 1"])
      expect(lines.at(-1)).toBe("parent done")
      expect(program.stdout()).not.toContain("restarting")
      expect(processesMarked(program.marker)).toEqual([])
    }), 60_000)

  it.live("workers that die are restarted up to maxRestarts, then forkProcesses fails with TooManyRestarts", () =>
    Effect.gen(function*() {
      const program = yield* spawnProcess(process.execPath, ["test/support/ForkExitProgram.ts"], {
        env: { WORKER_EXIT: "3" }
      })
      expect(yield* exitOf(program, 45_000)).toEqual({ code: 0, signal: null })
      const out = program.stdout()
      expect(out).toContain("gave up: too many worker restarts (more than 2), giving up")
      expect([...out.matchAll(/exited with status 3, restarting/g)]).toHaveLength(2)
      // 2 first starts and 2 restarts, each with its task id (the last may be
      // stopped by the give-up before it prints).
      expect([...out.matchAll(/^worker [01]$/gm)].length).toBeGreaterThanOrEqual(3)
      expect(processesMarked(program.marker)).toEqual([])
    }), 60_000)
})
