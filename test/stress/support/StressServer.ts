/**
 * The server under stress, run in a child process of its own so that the
 * load the tests generate does not distort its memory:
 *
 * ```sh
 * node --expose-gc test/stress/support/StressServer.ts '{"headerTimeout":1000}'
 * ```
 *
 * The argument is a `ServerConfigInput` as JSON (host and port default to
 * 127.0.0.1 and 0). The process talks to its parent over the IPC channel
 * (see `ServerProcess.ts`), not over HTTP, so that asking for counters never
 * opens a connection of its own (which `maxConnections` could refuse, and
 * which would count itself): it sends `{ type: "ready", port }` once
 * listening and answers `{ type: "stats", id }` with a {@link Stats}. On
 * SIGTERM, or when the channel closes, the server's scope closes and the
 * process exits.
 *
 * Routes of the test handler:
 * - `GET /id/TOKEN`: `TOKEN` as text (each response can be matched to its request);
 * - `POST /body`: reads the whole body, answers its length;
 * - `GET /large?size=N`: N bytes, a fresh buffer per request (Content-Length);
 * - `GET /stream?size=N&chunk=C`: N bytes streamed in fresh C-byte pieces (chunked);
 * - `GET /slow?ms=N`: waits, then `done`.
 */
import { Effect, Exit, Fiber, Stream } from "effect"
import type { ServerConfigInput } from "../../../src/Config/ServerConfig.ts"
import type { HTTPServerRequest } from "../../../src/Request/HTTPServerRequest.ts"
import * as Response from "../../../src/Response/Response.ts"
import * as HTTPServer from "../../../src/Server/HTTPServer.ts"

/** What the server process reports about itself. */
export interface Stats {
  /** `connectionCount()` of the running server. */
  readonly connections: number
  /** Handlers started. */
  readonly started: number
  /** Handlers that produced a response. */
  readonly answered: number
  /** Handlers running now (started, neither answered nor ended otherwise). */
  readonly inFlight: number
  /** Handlers interrupted (their connection went away). */
  readonly interrupted: number
  /** Handlers whose body read failed (a typed error, e.g. `ConnectionClosed`). */
  readonly bodyFailures: number
  /** Response streams being pulled now. */
  readonly activeStreams: number
  /** Response streams that ended before their last piece (interrupted or failed). */
  readonly streamsCutShort: number
  /** `process.memoryUsage()` after two full garbage collections. */
  readonly memory: NodeJS.MemoryUsage
}

export type ToChild = { readonly type: "stats"; readonly id: number }
export type FromChild =
  | { readonly type: "ready"; readonly port: number }
  | { readonly type: "stats"; readonly id: number; readonly stats: Stats }

const counters = {
  started: 0,
  answered: 0,
  inFlight: 0,
  interrupted: 0,
  bodyFailures: 0,
  activeStreams: 0,
  streamsCutShort: 0
}

const gc = (globalThis as { gc?: () => void }).gc

const intArgument = (request: HTTPServerRequest, name: string, fallback: number): number => {
  const text = request.queryArguments[name]?.[0]
  const n = text === undefined ? fallback : Number(text)
  return Number.isSafeInteger(n) && n >= 0 ? n : fallback
}

/** N bytes in fresh C-byte pieces, made as they are pulled. */
const generated = (size: number, chunk: number): Stream.Stream<Uint8Array> => {
  counters.activeStreams++
  let finished = false
  const pieces = Stream.unfold(0, (sent: number) =>
    Effect.sync(() => {
      if (sent >= size) {
        finished = true
        return undefined
      }
      const n = Math.min(chunk, size - sent)
      return [Buffer.alloc(n, 0x62) as Uint8Array, sent + n] as const
    }))
  return Stream.ensuring(
    pieces,
    Effect.sync(() => {
      counters.activeStreams--
      if (!finished) counters.streamsCutShort++
    })
  )
}

const route = (request: HTTPServerRequest): Effect.Effect<Response.Response, unknown> => {
  const path = request.path
  if (path.startsWith("/id/")) return Effect.succeed(Response.text(path.slice(4)))
  switch (path) {
    case "/body":
      return Effect.map(
        Effect.tapError(request.body, () => Effect.sync(() => counters.bodyFailures++)),
        (body) => Response.text(String(body.byteLength))
      )
    case "/large":
      return Effect.succeed(Response.bytes(Buffer.alloc(intArgument(request, "size", 1024 * 1024), 0x61)))
    case "/stream": {
      const size = intArgument(request, "size", 1024 * 1024)
      const chunk = Math.max(1, intArgument(request, "chunk", 64 * 1024))
      return Effect.sync(() => Response.stream(generated(size, chunk)))
    }
    case "/slow":
      return Effect.as(Effect.sleep(intArgument(request, "ms", 100)), Response.text("done"))
    default:
      return Effect.succeed(Response.text("not found", { status: 404 }))
  }
}

/** The test handler, counting what happens to every request. */
const handler = (request: HTTPServerRequest): Effect.Effect<Response.Response, unknown> =>
  Effect.suspend(() => {
    counters.started++
    counters.inFlight++
    return route(request).pipe(
      Effect.onExit((exit) =>
        Effect.sync(() => {
          counters.inFlight--
          if (Exit.isSuccess(exit)) counters.answered++
          else if (Exit.hasInterrupts(exit)) counters.interrupted++
        })
      )
    )
  })

const send = (message: FromChild): void => {
  process.send?.(message)
}

const stats = (server: HTTPServer.RunningServer): Stats => {
  gc?.()
  gc?.()
  return { connections: server.connectionCount(), ...counters, memory: process.memoryUsage() }
}

const config = JSON.parse(process.argv[2] ?? "{}") as ServerConfigInput

const main = Effect.scoped(
  Effect.gen(function*() {
    const server = yield* HTTPServer.listen(handler, {
      host: "127.0.0.1",
      port: 0,
      shutdownTimeout: 2000,
      ...config
    })
    if (server.address._tag !== "TcpAddress") return yield* Effect.die(new Error("not a TCP server"))
    process.on("message", (message: ToChild) => {
      if (message.type === "stats") send({ type: "stats", id: message.id, stats: stats(server) })
    })
    send({ type: "ready", port: server.address.port })
    return yield* Effect.never
  })
)

const fiber = Effect.runFork(main)
const stop = () => {
  Effect.runFork(Fiber.interrupt(fiber))
}
process.once("SIGTERM", stop)
process.once("disconnect", stop)
fiber.addObserver((exit) => {
  if (Exit.isFailure(exit) && !Exit.hasInterrupts(exit)) {
    process.stderr.write(`stress server failed: ${String(exit.cause)}\n`)
    process.exitCode = 1
  }
  process.disconnect?.()
})
