/**
 * The demo command (`src/cli/main.ts`) as a child process: started with
 * `--host 127.0.0.1 --port 0` and the test's arguments (a later `--port N`
 * wins), ready once it prints its `listening on` line, killed when the
 * Scope closes if still alive.
 */
import type * as ChildProcess from "node:child_process"
import { Effect, type Scope } from "effect"
import { exitOf, listeningLine, spawnProcess } from "./Processes.ts"

export interface DemoProcess {
  readonly port: number
  /** `http` or `https`, from the listening line. */
  readonly scheme: string
  readonly child: ChildProcess.ChildProcess
  /** The exit code (or the signal's name), once the process has exited. */
  readonly exited: Effect.Effect<number | string>
  /** What the child wrote to stderr. */
  readonly stderr: () => string
}

/** SIGTERM, then SIGKILL after 3 s; waits for the exit. */
export const kill = (child: ChildProcess.ChildProcess): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resume(Effect.void)
      return
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000)
    child.once("exit", () => {
      clearTimeout(timer)
      resume(Effect.void)
    })
    child.kill("SIGTERM")
  })

/**
 * Starts the demo command and waits for its `listening on URL` line; with
 * `fdLimit`, under a raised limit of open files (the stress suite holds
 * thousands of sockets). Stopped gracefully (SIGTERM) when the Scope
 * closes, then whatever it started is killed.
 */
export const startDemo = (
  args: ReadonlyArray<string> = [],
  options: { readonly fdLimit?: number } = {}
): Effect.Effect<DemoProcess, never, Scope.Scope> =>
  Effect.gen(function*() {
    const command = ["src/cli/main.ts", "--host", "127.0.0.1", "--port", "0", ...args]
    const server = options.fdLimit === undefined
      ? yield* spawnProcess(process.execPath, command)
      : yield* spawnProcess("bash", [
        "-c",
        `ulimit -n ${options.fdLimit} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`,
        process.execPath,
        ...command
      ])
    yield* Effect.addFinalizer(() => kill(server.child))
    const line = yield* listeningLine(server, 30_000)
    const match = /^listening on (https?):\/\/127\.0\.0\.1:(\d+)$/.exec(line)
    if (match === null) return yield* Effect.die(new Error(`unexpected listening line ${JSON.stringify(line)}`))
    const exited = Effect.map(exitOf(server, 60_000), (exit) => exit.code ?? exit.signal ?? "unknown")
    return { port: Number(match[2]), scheme: match[1] as string, child: server.child, exited, stderr: server.stderr }
  })
