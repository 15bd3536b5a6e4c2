/**
 * The server under stress as a child process (`StressServer.ts`), started
 * through `bash -c 'ulimit -n ...; exec node ...'` so that it may hold
 * thousands of sockets, with `--expose-gc` so that its memory can be read
 * after a full collection. It is killed when the Scope that started it
 * closes. Also: the demo command (`src/cli/main.ts`) as a child, for the
 * graceful-shutdown scenario.
 */
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import { Effect, type Scope } from "effect"
import type { ServerConfigInput } from "../../../src/Config/ServerConfig.ts"
import * as Demo from "../../support/DemoProcess.ts"
import type { FromChild, Stats, ToChild } from "./StressServer.ts"

const { kill } = Demo

/** Keeps the last `limit` characters a child wrote to a stream, for failure messages. */
const tail = (stream: NodeJS.ReadableStream | null, limit = 8000) => {
  let text = ""
  stream?.setEncoding("utf8")
  stream?.on("data", (chunk: string) => {
    text = (text + chunk).slice(-limit)
  })
  return () => text
}

const root = Path.resolve(import.meta.dirname, "../../..")
const serverScript = Path.join(import.meta.dirname, "StressServer.ts")

/** The descriptors a child may open: sockets of the clients plus its own. */
export const FD_LIMIT = 20000

/** `bash -c` that raises the soft fd limit (as far as allowed) and execs the command. */
const spawnWithFdLimit = (args: ReadonlyArray<string>, stdio: ChildProcess.StdioOptions): ChildProcess.ChildProcess =>
  ChildProcess.spawn(
    "bash",
    ["-c", `ulimit -n ${FD_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`, process.execPath, ...args],
    { cwd: root, stdio }
  )

export interface ServerProcess {
  readonly port: number
  readonly pid: number
  /** The counters and memory of the server, read after a full GC. */
  readonly stats: Effect.Effect<Stats>
  /** What the child wrote to stderr lately. */
  readonly stderr: () => string
  readonly child: ChildProcess.ChildProcess
}

/**
 * Starts `StressServer.ts` with `config`; the Effect ends once it listens.
 * Killed (SIGKILL if SIGTERM is not enough) when the Scope closes.
 */
export const start = (config: ServerConfigInput = {}): Effect.Effect<ServerProcess, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<ServerProcess>((resume) => {
      const child = spawnWithFdLimit(["--expose-gc", serverScript, JSON.stringify(config)], [
        "ignore",
        "pipe",
        "pipe",
        "ipc"
      ])
      const stderr = tail(child.stderr)
      tail(child.stdout)
      let nextId = 0
      const pending = new Map<number, (stats: Stats) => void>()
      const onExit = (code: number | null, signal: string | null) => {
        resume(Effect.die(new Error(`stress server exited before listening (${code ?? signal}): ${stderr()}`)))
      }
      child.once("exit", onExit)
      child.on("message", (message: FromChild) => {
        if (message.type === "ready") {
          child.off("exit", onExit)
          const stats = Effect.callback<Stats>((resumeStats) => {
            const id = nextId++
            pending.set(id, (stats) => resumeStats(Effect.succeed(stats)))
            const request: ToChild = { type: "stats", id }
            if (!child.connected) {
              pending.delete(id)
              resumeStats(Effect.die(new Error(`stress server is gone: ${stderr()}`)))
              return
            }
            child.send(request)
            return Effect.sync(() => pending.delete(id))
          })
          resume(Effect.succeed({ port: message.port, pid: child.pid ?? 0, stats, stderr, child }))
        } else if (message.type === "stats") {
          const waiter = pending.get(message.id)
          pending.delete(message.id)
          waiter?.(message.stats)
        }
      })
      return Effect.sync(() => child.kill("SIGKILL"))
    }),
    (server) => kill(server.child)
  )

export type DemoProcess = Demo.DemoProcess

/**
 * Starts the demo command, `src/cli/main.ts --port 0 ARGS` (with the raised
 * fd limit), and waits for its `listening on URL` line. Killed when the
 * Scope closes, if still alive.
 */
export const startDemo = (args: ReadonlyArray<string> = []): Effect.Effect<DemoProcess, never, Scope.Scope> =>
  Demo.startDemo(args, { fdLimit: FD_LIMIT })
