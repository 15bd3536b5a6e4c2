/**
 * Worker processes: Tornado's `fork_processes` (with `HTTPServer.start(n)` /
 * `add_sockets`), on `node:cluster`.
 *
 * The primary process forks `processes` workers (`0`: one per CPU) running
 * the same command. Each worker listens on the configured address, which
 * cluster shares between them, and tells the primary it is listening;
 * {@link forkWorkers} succeeds once every worker has. The primary then
 * supervises them, as Tornado does:
 *
 * - a worker that exits with a non-zero status or is killed by a signal is
 *   restarted with the same task id, up to `maxRestarts` times in all
 *   (Tornado's `max_restarts`, 100), then the supervisor gives up;
 * - a worker that exits with status 0 is not restarted; once every worker
 *   has, {@link Supervisor.exited} succeeds (Tornado's `sys.exit(0)`);
 * - a worker that exits before it listens (the port is taken, ...) makes the
 *   supervisor give up with a {@link WorkerStartError} rather than restart it
 *   in a loop.
 *
 * Closing the Scope sends SIGTERM to every worker and waits until all have
 * exited: each shuts down gracefully (stops accepting, lets in-flight
 * requests finish up to `shutdownTimeout`). Workers still alive
 * `shutdownTimeout` plus a grace period later are killed.
 *
 * Sockets bound in the primary before forking (`Sockets.bindSockets`,
 * `UnixSocket.bindUnixSocket`, which `HTTPServer.start` uses) are handed
 * over: the primary closes its own and tells the workers the ports it got
 * (`0` resolved), and each worker, running the same program, binds them
 * again through cluster, which shares one socket per address between them.
 * Binding first in the primary is what makes a port in use, a missing
 * permission or a bad host fail there, before any worker starts.
 *
 * Why cluster rather than listening sockets inherited by
 * `child_process.fork` children (Tornado's way): a Node primary has an event
 * loop, and a listening socket in it would accept connections itself, with
 * no public way to bind without listening. Cluster's round-robin scheduling
 * (the default on Linux) has the primary accept and hand each connection to
 * the next worker, which spreads load evenly where a shared accept queue
 * leaves most connections to one or two processes; and a worker exits on
 * its own when the primary dies, so no orphan keeps serving.
 *
 * One consequence: cluster keys the shared socket by address and port, and
 * closes it when its last worker stops listening; the port a worker binds
 * is the one the primary got, so a worker restarted after all died binds
 * the same port again.
 *
 * @since 0.1.0
 */
import cluster, { type Worker } from "node:cluster"
import * as Os from "node:os"
import { Cause, Data, Deferred, Duration, Effect, Scope } from "effect"
import type { ServerConfig } from "../Config/ServerConfig.ts"
import { boundSockets } from "./ListeningSocket.ts"
import { PORTS_ENV, portsForWorkers } from "./Sockets.ts"

/** The environment variable carrying a worker's task id (0 to N-1). */
const TASK_ID_ENV = "EFFECT_HTTPSERVER_TASK_ID"

/** How long after `shutdownTimeout` a worker may take to exit before it is killed. */
const EXIT_GRACE_MILLIS = 5000

/**
 * Tornado's default `max_restarts`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxRestarts = 100

/**
 * The number of workers `processes` asks for: `0` means one per CPU
 * (`os.availableParallelism()`).
 *
 * @since 0.1.0
 * @category utils
 */
export const resolveProcessCount = (processes: number): number =>
  processes === 0 ? Os.availableParallelism() : processes

/**
 * Whether this process is a worker forked by {@link forkWorkers}.
 *
 * @since 0.1.0
 * @category workers
 */
export const isWorker = (): boolean => cluster.isWorker && process.env[TASK_ID_ENV] !== undefined

/**
 * This worker's task id, from 0 to N-1 (a restarted worker keeps the id of
 * the one it replaces); `undefined` outside a worker. Tornado's `task_id()`.
 *
 * @since 0.1.0
 * @category workers
 */
export const taskId = (): number | undefined => {
  if (!isWorker()) return undefined
  const id = Number(process.env[TASK_ID_ENV])
  return Number.isSafeInteger(id) ? id : undefined
}

const LISTENING = "effect-httpserver/WorkerListening"
const FAILED = "effect-httpserver/WorkerFailed"

/** What a worker tells the primary, over the cluster IPC channel. */
type WorkerMessage =
  | { readonly _tag: typeof LISTENING; readonly url: string }
  | { readonly _tag: typeof FAILED; readonly reason: string }

const isWorkerMessage = (message: unknown): message is WorkerMessage => {
  if (typeof message !== "object" || message === null) return false
  const m = message as Record<string, unknown>
  return (m["_tag"] === LISTENING && typeof m["url"] === "string") ||
    (m["_tag"] === FAILED && typeof m["reason"] === "string")
}

/** The one line a failure is reported with: `ListenError: cannot listen on ...`. */
const describeCause = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (error instanceof Error) return error.message === "" ? error.name : `${error.name}: ${error.message}`
  return String(error)
}

/**
 * Runs in a worker: acquires the server with `listen` and tells the primary
 * it is listening (with the server's URL), or, if `listen` fails, why (the
 * primary then gives up with a {@link WorkerStartError} carrying the
 * reason). The failure is passed on.
 *
 * @since 0.1.0
 * @category workers
 */
export const listenAsWorker = <A extends { readonly url: string }, E, R>(
  listen: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  listen.pipe(
    Effect.tap((server) => tell({ _tag: LISTENING, url: server.url })),
    Effect.tapCause((cause) =>
      Cause.hasInterruptsOnly(cause) ? Effect.void : tell({ _tag: FAILED, reason: describeCause(cause) })
    )
  )

/**
 * Runs in a worker: {@link listenAsWorker}, then serves until interrupted
 * (SIGTERM/SIGINT), when the Scope closes and the server shuts down
 * gracefully.
 *
 * If `listen` fails, the worker sets the exit code to 1 and disconnects
 * from the primary so that the process ends; the Effect then succeeds, so
 * the failure is reported once, by the primary.
 *
 * @since 0.1.0
 * @category workers
 */
export const serveAsWorker = <E, R>(
  listen: Effect.Effect<{ readonly url: string }, E, R>
): Effect.Effect<void, never, Exclude<R, Scope.Scope>> =>
  Effect.scoped(Effect.andThen(listenAsWorker(listen), Effect.never)).pipe(
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        // Interrupted (SIGTERM/SIGINT): no failure in it, pass it on.
        ? Effect.failCause(cause as Cause.Cause<never>)
        : Effect.sync(() => {
          process.exitCode = 1
          // The IPC channel would keep the process alive: close it.
          cluster.worker?.disconnect()
        })
    )
  )

/** Sends `message` to the primary; done once it is sent (at once without an IPC channel). */
const tell = (message: WorkerMessage): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (process.send === undefined) resume(Effect.void)
    else process.send(message, undefined, {}, () => resume(Effect.void))
  })

/**
 * A worker exited before it listened: the supervisor gave up.
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkerStartError extends Data.TaggedError("WorkerStartError")<{
  readonly taskId: number
  readonly pid: number | undefined
  /** The worker's own report (`ListenError: cannot listen on ...`), or how it exited. */
  readonly reason: string
}> {
  override get message() {
    return `worker ${this.taskId} (pid ${this.pid ?? "?"}) could not start: ${this.reason}`
  }
}

/**
 * Workers died more than `maxRestarts` times: the supervisor gave up.
 *
 * @since 0.1.0
 * @category errors
 */
export class TooManyRestarts extends Data.TaggedError("TooManyRestarts")<{
  readonly maxRestarts: number
}> {
  override get message() {
    return `too many worker restarts (more than ${this.maxRestarts}), giving up`
  }
}

/**
 * Why the supervisor gave up.
 *
 * @since 0.1.0
 * @category errors
 */
export type WorkersError = WorkerStartError | TooManyRestarts

/**
 * The workers of {@link forkWorkers}, all listening.
 *
 * @since 0.1.0
 * @category models
 */
export interface Supervisor {
  /** The URL the workers listen on, e.g. `http://127.0.0.1:8888` or `unix:/path`. */
  readonly url: string
  /** The pids of the workers alive now. */
  readonly pids: () => ReadonlyArray<number>
  /** How many times a worker was restarted. */
  readonly restarts: () => number
  /**
   * Succeeds once every worker has exited with status 0; fails when the
   * supervisor gives up. Until the Scope closes, otherwise.
   */
  readonly exited: Effect.Effect<void, WorkersError>
}

/**
 * What {@link forkWorkers} reads from the server's config.
 *
 * @since 0.1.0
 * @category models
 */
export type WorkersConfig = Pick<ServerConfig, "processes" | "shutdownTimeout">

/**
 * Options of {@link forkWorkers}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ForkOptions {
  /** Restarts allowed in all before giving up. Default {@link defaultMaxRestarts}. */
  readonly maxRestarts?: number | undefined
  /** The script the workers run. Default: this process's (`process.argv[1]`). */
  readonly exec?: string | undefined
  /** Its arguments. Default: this process's (`process.argv.slice(2)`). */
  readonly args?: ReadonlyArray<string> | undefined
  /**
   * Whether a worker counts as started only once it says it listens
   * ({@link serveAsWorker}, `HTTPServer.start`), and the supervisor gives up
   * with {@link WorkerStartError} if it exits before. Default `true`;
   * `forkProcesses` (whose workers may do anything) passes `false`: started
   * once forked.
   */
  readonly awaitListening?: boolean | undefined
  /**
   * Where the workers' stdout goes: the primary's stderr (the default, so
   * that the primary alone writes to stdout), or the primary's stdout.
   */
  readonly workersStdout?: "stderr" | "stdout" | undefined
}

interface Slot {
  readonly taskId: number
  worker: Worker | undefined
  listening: boolean
  /** What the worker reported, if it failed to start. */
  failure: string | undefined
}

const describeExit = (code: number | null, signal: string | null): string =>
  signal !== null ? `killed by signal ${signal}` : `exited with status ${code ?? "?"}`

/**
 * In the primary process: forks the workers, running this process's command
 * again (`process.argv`, unless `options` say otherwise), and succeeds once
 * every one is listening (workers say so with {@link serveAsWorker}). The
 * workers' stdout goes to the primary's stderr, so that the primary alone
 * writes to stdout.
 *
 * Closing the Scope stops the workers gracefully (SIGTERM) and waits for
 * them.
 *
 * @since 0.1.0
 * @category primary
 */
export const forkWorkers = (
  config: WorkersConfig,
  options: ForkOptions = {}
): Effect.Effect<Supervisor, WorkersError, Scope.Scope> =>
  Effect.gen(function*() {
    if (!cluster.isPrimary) return yield* Effect.die(new Error("forkWorkers runs in the primary process only"))
    const count = resolveProcessCount(config.processes)
    const maxRestarts = options.maxRestarts ?? defaultMaxRestarts
    const awaitListening = options.awaitListening ?? true
    const runFork = Effect.runForkWith(yield* Effect.context<never>())
    const scope = yield* Effect.scope

    const ready = Deferred.makeUnsafe<string, WorkersError>()
    const exited = Deferred.makeUnsafe<void, WorkersError>()
    const slots: Array<Slot> = []
    let url: string | undefined
    let restarts = 0
    /** Set when the Scope closes or the supervisor gives up: no more restarts. */
    let stopping = false
    let onAllExited: (() => void) | undefined

    const alive = (): Array<Worker> => slots.flatMap((slot) => slot.worker === undefined ? [] : [slot.worker])

    const giveUp = (error: WorkersError) => {
      stopping = true
      Deferred.doneUnsafe(ready, Effect.fail(error))
      Deferred.doneUnsafe(exited, Effect.fail(error))
    }

    const onMessage = (slot: Slot, worker: Worker) => (message: unknown) => {
      if (slot.worker !== worker || !isWorkerMessage(message)) return
      if (message._tag === FAILED) {
        slot.failure = message.reason
        return
      }
      slot.listening = true
      url ??= message.url
      if (slots.every((s) => s.listening)) Deferred.doneUnsafe(ready, Effect.succeed(url))
    }

    const onExit = (slot: Slot, worker: Worker) => (code: number | null, signal: string | null) => {
      if (slot.worker === worker) slot.worker = undefined
      const who = `worker ${slot.taskId} (pid ${worker.process.pid ?? "?"})`
      const how = describeExit(code, signal)
      if (stopping) {
        // 130 and 143 (128 + SIGINT/SIGTERM) are how a program interrupted by
        // the signal exits (NodeRuntime.runMain's 130): a stop, not a failure.
        if (code !== 0 && code !== 130 && code !== 143 && signal !== "SIGTERM" && signal !== "SIGINT") {
          runFork(Effect.logWarning(`${who} ${how} while stopping`))
        }
        if (alive().length === 0) onAllExited?.()
      } else if (!slot.listening) {
        giveUp(new WorkerStartError({ taskId: slot.taskId, pid: worker.process.pid, reason: slot.failure ?? how }))
      } else if (code === 0 && signal === null) {
        // Tornado: a child that exits normally is not restarted.
        runFork(Effect.logInfo(`${who} exited normally`))
        if (alive().length === 0) Deferred.doneUnsafe(exited, Effect.void)
      } else if (restarts >= maxRestarts) {
        runFork(Effect.logError(`${who} ${how}`))
        giveUp(new TooManyRestarts({ maxRestarts }))
      } else {
        restarts += 1
        runFork(Effect.logWarning(`${who} ${how}, restarting`))
        start(slot)
      }
    }

    const start = (slot: Slot) => {
      const env: Record<string, string> = { [TASK_ID_ENV]: String(slot.taskId), [PORTS_ENV]: ports }
      const worker = cluster.fork(env)
      slot.worker = worker
      slot.listening = !awaitListening
      slot.failure = undefined
      worker.on("message", onMessage(slot, worker))
      worker.on("exit", onExit(slot, worker))
      // IPC errors (a message to a worker that just died): its exit follows.
      worker.on("error", () => {})
    }

    const signalAll = (signal: NodeJS.Signals) => {
      for (const worker of alive()) worker.process.kill(signal)
    }

    /** Waits until no worker is alive, or `millis` pass: whether all exited. */
    const waitForExits = (millis: number) =>
      Effect.callback<boolean>((resume) => {
        if (alive().length === 0) {
          resume(Effect.succeed(true))
          return
        }
        const timer = setTimeout(() => resume(Effect.succeed(false)), millis)
        onAllExited = () => {
          clearTimeout(timer)
          resume(Effect.succeed(true))
        }
        return Effect.sync(() => {
          clearTimeout(timer)
          onAllExited = undefined
        })
      })

    // Registered before the first fork, so that a failed start stops the others.
    yield* Scope.addFinalizer(
      scope,
      Effect.gen(function*() {
        stopping = true
        signalAll("SIGTERM")
        const allExited = yield* waitForExits(Duration.toMillis(config.shutdownTimeout) + EXIT_GRACE_MILLIS)
        if (!allExited) {
          yield* Effect.logWarning(`workers still running after the shutdown timeout, killing pids ${
            alive().map((worker) => worker.process.pid).join(", ")
          }`)
          signalAll("SIGKILL")
          yield* waitForExits(EXIT_GRACE_MILLIS)
        }
      })
    )

    // By default workers write nothing to the primary's stdout: theirs goes to stderr.
    cluster.setupPrimary({
      exec: options.exec ?? process.argv[1],
      args: [...(options.args ?? process.argv.slice(2))],
      stdio: ["ignore", options.workersStdout === "stdout" ? 1 : 2, 2, "ipc"]
    })
    for (let id = 0; id < count; id++) {
      const slot: Slot = { taskId: id, worker: undefined, listening: false, failure: undefined }
      slots.push(slot)
    }
    // Hand the sockets bound here over to the workers (see the module documentation).
    const ports = portsForWorkers().join(",")
    for (const socket of boundSockets()) socket.close()
    for (const slot of slots) start(slot)
    if (!awaitListening) Deferred.doneUnsafe(ready, Effect.succeed(""))

    const listeningUrl = yield* Deferred.await(ready)
    return {
      url: listeningUrl,
      pids: () => alive().flatMap((worker) => worker.process.pid === undefined ? [] : [worker.process.pid]),
      restarts: () => restarts,
      exited: Deferred.await(exited)
    } satisfies Supervisor
  })
