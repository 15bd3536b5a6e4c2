/**
 * The fibers of a connection's exchanges: runs a request's handler (at once
 * when it is an `Exit`: the synchronous fast path), hands its exit to the
 * protocol machine as a response or a failure, runs a streamed response's
 * body into the machine piece by piece under backpressure, and stops what is
 * running when the connection ends. Part of the socket driver; it decides
 * nothing about HTTP.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit, type Fiber, Stream } from "effect"
import type { HTTPServerRequest } from "../Request/HTTPServerRequest.ts"
import { isResponse, type Response } from "../Response/Response.ts"
import { NotAResponse } from "../Wire/HttpErrors.ts"
import type { ConnectionHost } from "./ConnectionHost.ts"
import type { Http1Protocol } from "./Http1Protocol.ts"

/**
 * What the runner needs of its driver: to run an event into the machine
 * (its output then leaves in one write), and to wait for the peer to read.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunnerDriver {
  readonly event: <A>(f: () => A) => A
  /** Resolves when written output no longer waits for the peer; `undefined` when none waits. */
  readonly outputDrained: () => Effect.Effect<void> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export class ExchangeRunner {
  /** The request in flight. */
  request: HTTPServerRequest | undefined = undefined
  /** Its handler's fiber, then its response stream's; let go of once it ends. */
  private fiber: Fiber.Fiber<unknown, unknown> | undefined = undefined
  /** {@link writePieces} for the stream: made at the connection's first streamed response (most never have one). */
  private pieceWriter: ((pieces: ReadonlyArray<Uint8Array>) => Effect.Effect<void>) | undefined = undefined
  private readonly host: ConnectionHost<never>
  private readonly core: Http1Protocol
  private readonly driver: RunnerDriver

  constructor(host: ConnectionHost<never>, core: Http1Protocol, driver: RunnerDriver) {
    this.host = host
    this.core = core
    this.driver = driver
  }

  /** A new exchange's request. */
  open(request: HTTPServerRequest): void {
    this.request = request
    this.fiber = undefined
  }

  /** Runs the handler of the request just opened (its head read at `now`). */
  runHandler(now: number): void {
    const request = this.request as HTTPServerRequest
    let effect: Effect.Effect<Response, unknown> | Exit.Exit<Response, unknown>
    try {
      effect = this.host.runHandler(request)
    } catch (error) {
      effect = Exit.die(error)
    }
    if (isExit(effect)) return this.settle(effect, this.sameTurnClock(now))
    const fiber = this.host.forkHandler(effect)
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) return this.settle(exit, this.sameTurnClock(now))
    // The connection may have closed while the handler ran its first steps.
    if (this.request !== request) return fiber.interruptUnsafe()
    this.fiber = fiber
    fiber.addObserver((exit) => {
      this.letGo(fiber)
      if (this.request === request) this.driver.event(() => this.settle(exit, performance.now()))
    })
  }

  /**
   * A fiber that ended is not kept: an idle connection would hold through
   * it its last request, response and context until the next request.
   */
  private letGo(fiber: Fiber.Fiber<unknown, unknown>): void {
    if (this.fiber === fiber) this.fiber = undefined
  }

  /** Runs a response body stream into the machine. */
  runStream(stream: Stream.Stream<Uint8Array, unknown>): void {
    const exchange = this.core.exchange
    const fiber = this.host.fork(Stream.runForEachArray(stream, this.pieceWriter ??= (pieces) => this.writePieces(pieces)))
    this.fiber = fiber
    const done = (exit: Exit.Exit<void, unknown>) => {
      this.letGo(fiber)
      if (this.core.exchange !== exchange) return
      this.driver.event(() =>
        Exit.isSuccess(exit) ? this.core.endStream(performance.now()) : this.core.abortStream(exit.cause)
      )
    }
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) done(exit)
    else fiber.addObserver(done)
  }

  /**
   * The connection ended: stops what runs (`clientGone` marks the
   * interruption as the client's), then `onStopped` once its finalizers ran.
   */
  stop(clientGone: boolean, onStopped: () => void): void {
    const fiber = this.fiber
    this.request = undefined
    this.fiber = undefined
    if (fiber === undefined || fiber.pollUnsafe() !== undefined) return onStopped()
    fiber.addObserver(onStopped)
    fiber.interruptUnsafe(undefined, clientGone ? this.host.clientAbortAnnotations : undefined)
  }

  /** The handler's exit, as the machine takes it: a response, or a failure for the error table. */
  private settle(exit: Exit.Exit<unknown, unknown>, now: number): void {
    const core = this.core
    // A late exit (its exchange answered, or gone) changes nothing: the
    // machine ignores an answer it does not await, and the finish time is
    // the first one.
    this.request?.markFinished(now)
    if (Exit.isFailure(exit)) {
      const error = Cause.findErrorOption(exit.cause)
      return core.respondWithFailure(error._tag === "Some" ? error.value : undefined, exit.cause, now)
    }
    if (isResponse(exit.value)) return core.respond(exit.value, now)
    const failure = new NotAResponse({ value: describeValue(exit.value) })
    core.respondWithFailure(failure, Cause.fail(failure), now)
  }

  /**
   * The clock for a response given in the turn that read its request
   * (`now`): the turn's own reading (none per pipelined response), unless
   * something observes request durations.
   */
  private sameTurnClock(now: number): number {
    return this.host.onRequestEnd === undefined ? now : performance.now()
  }

  /**
   * The pieces the stream has ready (a chunk of it), in one event: they
   * leave in one write.
   */
  private sendPieces(pieces: ReadonlyArray<Uint8Array>): boolean {
    const now = performance.now()
    for (const piece of pieces) {
      if (piece.byteLength > 0 && !this.core.sendPiece(piece, now)) return false
    }
    return true
  }

  private writePieces(pieces: ReadonlyArray<Uint8Array>): Effect.Effect<void> {
    const more = this.driver.event(() => this.sendPieces(pieces))
    if (!more) return Effect.interrupt
    // Backpressure: wait for the peer to read (the machine's write deadline runs meanwhile).
    return this.driver.outputDrained() ?? Effect.void
  }
}

/**
 * `Exit.isExit`, for the one place per request that asks: an Exit carries
 * its type id as a key (`Exit`'s `[TypeId]: "~effect/Exit"`), and a plain
 * `in` costs a fraction of the generic `hasProperty` behind `Exit.isExit`.
 */
const isExit = <A, E>(effect: Effect.Effect<A, E> | Exit.Exit<A, E>): effect is Exit.Exit<A, E> =>
  typeof effect === "object" && effect !== null && EXIT_TYPE_ID in effect

const EXIT_TYPE_ID = "~effect/Exit" satisfies keyof Exit.Exit<unknown, unknown>

/** A value a handler succeeded with, for the log: its kind, never its contents. */
const describeValue = (value: unknown): string => {
  if (value === null) return "null"
  if (typeof value !== "object") return typeof value === "undefined" ? "undefined" : `a ${typeof value}`
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name === "string" && name !== "Object" ? `an object (${name})` : "a plain object"
}
