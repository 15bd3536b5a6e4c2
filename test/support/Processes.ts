/**
 * Real child processes for tests: spawn a command, wait for its
 * `listening on ...` line or its exit, and find every process it started
 * (each carries a marker in its environment, which its children inherit),
 * so that a test can check none is left and kill what a failed test left.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"
import * as Os from "node:os"
import * as Path from "node:path"
import { Effect, type Scope } from "effect"
import * as RawClient from "./RawClient.ts"

/** The repository's root directory. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url))

const MARKER_ENV = "EFFECT_HTTPSERVER_TEST_MARKER"

export interface Exited {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface ServerProcess {
  readonly child: ChildProcess
  readonly pid: number
  /** Marks this process and its children (in their environment). */
  readonly marker: string
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exited: () => Exited | undefined
}

/** Polls `attempt` every 10 ms until it returns a value; dies after `timeoutMillis`. */
export const waitUntil = <A>(
  what: () => string,
  timeoutMillis: number,
  attempt: () => A | undefined
): Effect.Effect<A> =>
  Effect.callback<A>((resume) => {
    const deadline = Date.now() + timeoutMillis
    const timer = setInterval(() => tick(), 10)
    const tick = () => {
      let value: A | undefined
      try {
        value = attempt()
      } catch (error) {
        clearInterval(timer)
        resume(Effect.die(error))
        return
      }
      if (value !== undefined) {
        clearInterval(timer)
        resume(Effect.succeed(value))
      } else if (Date.now() > deadline) {
        clearInterval(timer)
        resume(Effect.die(new Error(`${what()}: nothing after ${timeoutMillis} ms`)))
      }
    }
    tick()
    return Effect.sync(() => clearInterval(timer))
  })

/** The state letter of /proc/PID/stat (`R`, `S`, `Z`, ...), or undefined if there is no such process. */
const stateOf = (pid: number): string | undefined => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]
  } catch {
    return undefined
  }
}

export const isAlive = (pid: number): boolean => {
  const state = stateOf(pid)
  return state !== undefined && state !== "Z"
}

const allPids = (): Array<number> => Fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)).map(Number)

/** The live children of `pid`. */
export const childrenOf = (pid: number): Array<number> =>
  allPids().filter((candidate) => {
    try {
      const stat = Fs.readFileSync(`/proc/${candidate}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      return Number(fields[1]) === pid && fields[0] !== "Z"
    } catch {
      return false
    }
  }).sort((a, b) => a - b)

/** The live processes whose environment carries `marker` (a spawned process and its children). */
export const processesMarked = (marker: string): Array<number> =>
  allPids().filter((pid) => {
    try {
      return isAlive(pid) && Fs.readFileSync(`/proc/${pid}/environ`, "latin1").includes(`${MARKER_ENV}=${marker}\0`)
    } catch {
      return false
    }
  })

export interface SpawnOptions {
  /** Its own process group, as a shell gives a foreground command (for Ctrl-C). */
  readonly processGroup?: boolean
  readonly cwd?: string
  readonly env?: Readonly<Record<string, string>>
  /** Extra file descriptors, from fd 3 on (`stdio` entries). */
  readonly extraFds?: ReadonlyArray<number>
  /** Run as this user (when the tests run as root). */
  readonly uid?: number
  readonly gid?: number
}

/**
 * Spawns `command ...args` (default command: this Node). When the Scope
 * closes, whatever it started and is still alive is killed (a failed test
 * leaves nothing behind).
 */
export const spawnProcess = (
  command: string,
  args: ReadonlyArray<string>,
  options: SpawnOptions = {}
): Effect.Effect<ServerProcess, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const marker = randomUUID()
      const child = spawn(command, args, {
        cwd: options.cwd ?? ROOT,
        env: { ...process.env, ...options.env, [MARKER_ENV]: marker },
        stdio: ["ignore", "pipe", "pipe", ...(options.extraFds ?? [])],
        detached: options.processGroup === true,
        ...(options.uid === undefined ? {} : { uid: options.uid }),
        ...(options.gid === undefined ? {} : { gid: options.gid })
      })
      let stdout = ""
      let stderr = ""
      let exited: Exited | undefined
      child.stdout?.setEncoding("utf8").on("data", (text: string) => stdout += text)
      child.stderr?.setEncoding("utf8").on("data", (text: string) => stderr += text)
      child.on("exit", (code, signal) => exited = { code, signal })
      if (child.pid === undefined) throw new Error(`could not spawn ${command}`)
      const server: ServerProcess = {
        child,
        pid: child.pid,
        marker,
        stdout: () => stdout,
        stderr: () => stderr,
        exited: () => exited
      }
      return server
    }),
    (server) =>
      Effect.sync(() => {
        for (const pid of processesMarked(server.marker)) {
          try {
            process.kill(pid, "SIGKILL")
          } catch {
            // gone meanwhile
          }
        }
      })
  )

/** Spawns the demo command from the checkout: `node src/cli/main.ts ...args`. */
export const spawnServer = (
  args: ReadonlyArray<string>,
  options: SpawnOptions = {}
): Effect.Effect<ServerProcess, never, Scope.Scope> =>
  spawnProcess(process.execPath, ["src/cli/main.ts", ...args], options)

export const describeServer = (server: ServerProcess) =>
  `stdout ${JSON.stringify(server.stdout())}, stderr ${JSON.stringify(server.stderr())}`

/** Waits for the first line on stdout (`listening on ...`); the test fails if the process exits first. */
export const listeningLine = (server: ServerProcess, timeoutMillis = 15_000): Effect.Effect<string> =>
  waitUntil(() => `waiting for the listening line; ${describeServer(server)}`, timeoutMillis, () => {
    const out = server.stdout()
    if (out.includes("\n")) return out.slice(0, out.indexOf("\n"))
    const exited = server.exited()
    if (exited !== undefined) throw new Error(`the process exited (${JSON.stringify(exited)}); ${describeServer(server)}`)
    return undefined
  })

/** Waits for the process to exit. */
export const exitOf = (server: ServerProcess, timeoutMillis = 10_000): Effect.Effect<Exited> =>
  waitUntil(() => `waiting for the process to exit; ${describeServer(server)}`, timeoutMillis, server.exited)

/** A temporary directory, removed with everything in it when the Scope closes. */
export const tempDir = (prefix = "effect-httpserver-"): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
  )

/** `GET /echo` (the demo app) on a fresh connection: the pid of the process that answered. */
export const echoPid = (target: RawClient.Target): Effect.Effect<number> =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* RawClient.connect(target)
    yield* client.write(RawClient.get("/echo", "Connection: close"))
    const response = yield* client.readResponse({ timeoutMillis: 5000 })
    if (response.status !== 200) throw new Error(`/echo answered ${response.status}`)
    return response.json<{ pid: number }>().pid
  }))

/**
 * The pids answering `/echo` over fresh connections, until `wanted` distinct
 * ones answered or 10 s passed (a new worker takes a moment to listen).
 */
export const distinctPids = (target: RawClient.Target, wanted: number): Effect.Effect<Array<number>> =>
  Effect.gen(function*() {
    const pids = new Set<number>()
    const deadline = Date.now() + 10_000
    while (pids.size < wanted && Date.now() < deadline) {
      if (pids.size > 0) yield* RawClient.sleepReal(20)
      pids.add(yield* echoPid(target))
    }
    return [...pids].sort((a, b) => a - b)
  })
