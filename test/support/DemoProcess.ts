/**
 * The demo command (`src/cli/main.ts`) as a child process: started with
 * `--host 127.0.0.1 --port 0` and the test's arguments (a later `--port N`
 * wins), ready once it prints its `listening on` line, killed when the
 * Scope closes if still alive.
 */
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import { Effect, type Scope } from "effect"

const root = Path.resolve(import.meta.dirname, "../..")
const cliScript = Path.join(root, "src/cli/main.ts")

export interface DemoProcess {
  readonly port: number
  /** `http` or `https`, from the listening line. */
  readonly scheme: string
  readonly child: ChildProcess.ChildProcess
  /** The exit code (or the signal's name), once the process has exited. */
  readonly exited: Effect.Effect<number | string>
  /** What the child wrote to stderr lately. */
  readonly stderr: () => string
}

export type Spawn = (args: ReadonlyArray<string>, stdio: ChildProcess.StdioOptions) => ChildProcess.ChildProcess

/** Node running the given arguments, from the project's root. */
const spawnNode: Spawn = (args, stdio) => ChildProcess.spawn(process.execPath, args, { cwd: root, stdio })

/** Keeps the last `limit` characters a child wrote to a stream, for failure messages. */
export const tail = (stream: NodeJS.ReadableStream | null, limit = 8000) => {
  let text = ""
  stream?.setEncoding("utf8")
  stream?.on("data", (chunk: string) => {
    text = (text + chunk).slice(-limit)
  })
  return () => text
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
 * Starts the demo command and waits for its `listening on URL` line.
 * `spawn` runs node with the arguments (the stress suite raises the fd
 * limit first).
 */
export const startDemo = (
  args: ReadonlyArray<string> = [],
  spawn: Spawn = spawnNode
): Effect.Effect<DemoProcess, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<DemoProcess>((resume) => {
      const child = spawn([cliScript, "--host", "127.0.0.1", "--port", "0", ...args], ["ignore", "pipe", "pipe"])
      const stderr = tail(child.stderr)
      let exit: number | string | undefined
      const onExit: Array<() => void> = []
      child.once("exit", (code, signal) => {
        exit = code ?? signal ?? "unknown"
        for (const f of onExit) f()
      })
      const exited = Effect.callback<number | string>((resumeExit) => {
        if (exit !== undefined) resumeExit(Effect.succeed(exit))
        else onExit.push(() => resumeExit(Effect.succeed(exit as number | string)))
      })
      let stdout = ""
      child.stdout?.setEncoding("utf8")
      child.stdout?.on("data", (chunk: string) => {
        stdout += chunk
        const match = /listening on (https?):\/\/127\.0\.0\.1:(\d+)/.exec(stdout)
        if (match !== null) {
          child.stdout?.removeAllListeners("data")
          child.stdout?.resume()
          resume(Effect.succeed({ port: Number(match[2]), scheme: match[1] as string, child, exited, stderr }))
        }
      })
      onExit.push(() =>
        resume(Effect.die(new Error(`demo server exited before listening (${String(exit)}): ${stderr()}`)))
      )
      return Effect.sync(() => child.kill("SIGKILL"))
    }),
    (demo) => kill(demo.child)
  )
