/**
 * A listening socket, bound before any server serves it (Tornado's
 * `bind_sockets` result): made by `Sockets.bindSockets`,
 * `UnixSocket.bindUnixSocket` and `SocketActivation.socketsFromEnvironment`,
 * served by `HTTPServer.addSockets` (and by `listen`, which binds one itself).
 *
 * Connections that arrive before a server takes the socket wait, paused,
 * and are handed to it first: none is lost between binding and serving.
 *
 * @since 0.1.0
 */
import * as Net from "node:net"
import { Effect } from "effect"
import { ListenError, type ListenOption } from "./ListenError.ts"

/**
 * Where a server listens.
 *
 * @since 0.1.0
 * @category models
 */
export type ServerAddress =
  | { readonly _tag: "TcpAddress"; readonly hostname: string; readonly port: number }
  | { readonly _tag: "UnixAddress"; readonly path: string }

/**
 * The listen backlog (pending connections the kernel queues) when none is
 * given. Tornado's is 128; busy servers want more, and the kernel caps it
 * at `net.core.somaxconn` anyway.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultBacklog = 1024

/**
 * `127.0.0.1:8888`, `[::1]:8888`, `unix:/path`: how an address is written in
 * messages and URLs.
 *
 * @since 0.1.0
 * @category utils
 */
export const describeAddress = (address: ServerAddress): string =>
  address._tag === "UnixAddress"
    ? `unix:${address.path}`
    : `${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${address.port}`

/**
 * A bound, listening socket, not yet (or no longer) served.
 *
 * @since 0.1.0
 * @category models
 */
export class ListeningSocket {
  /** Where it listens. */
  readonly address: ServerAddress
  /** The name systemd gave it (`LISTEN_FDNAMES`), for inherited sockets. */
  readonly name: string | undefined
  /**
   * The listening `net.Server`. It accepts connections paused, with
   * `allowHalfOpen` and `noDelay`, as the HTTP server wants them.
   */
  readonly server: Net.Server
  readonly #waiting: Array<Net.Socket> = []
  #accept: ((socket: Net.Socket) => void) | undefined = undefined
  #closed = false

  constructor(server: Net.Server, address: ServerAddress, name?: string) {
    this.server = server
    this.address = address
    this.name = name
    server.on("connection", (socket: Net.Socket) => {
      if (this.#accept !== undefined) return this.#accept(socket)
      socket.on("error", () => {})
      this.#waiting.push(socket)
    })
    // Errors after listening (EMFILE on accept, ...) concern one connection.
    server.on("error", () => {})
  }

  /** `127.0.0.1:8888`, `unix:/path`, as in messages. */
  get description(): string {
    return describeAddress(this.address)
  }

  /** Whether it still listens. */
  get listening(): boolean {
    return !this.#closed && this.server.listening
  }

  /**
   * Hands every connection to `accept` (those waiting first) until the
   * returned function is called. One server at a time serves a socket.
   *
   * @since 0.1.0
   */
  serve(accept: (socket: Net.Socket) => void): () => void {
    if (this.#accept !== undefined) throw new Error(`${this.description} is already served`)
    this.#accept = accept
    for (const socket of this.#waiting.splice(0)) accept(socket)
    return () => {
      if (this.#accept === accept) this.#accept = undefined
    }
  }

  /**
   * Stops listening (once; closing again does nothing). Connections still
   * waiting for a server are closed.
   *
   * @since 0.1.0
   */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const socket of this.#waiting.splice(0)) socket.destroy()
    if (this.server.listening) this.server.close()
    onClosed(this)
  }
}

/** The server a {@link ListeningSocket} is made from: connections arrive paused. */
export const makeNetServer = (): Net.Server =>
  Net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true })

/**
 * Listens with `listen` (which calls `server.listen(...)` with the callback
 * it is given); a failure is a {@link ListenError} about `address`.
 */
export const listenServer = (
  server: Net.Server,
  address: string,
  option: ListenOption,
  listen: (onListening: () => void) => void
): Effect.Effect<void, ListenError> =>
  Effect.callback<void, ListenError>((resume) => {
    const onError = (cause: unknown) => resume(Effect.fail(new ListenError({ address, option, cause })))
    server.once("error", onError)
    try {
      listen(() => {
        server.off("error", onError)
        resume(Effect.void)
      })
    } catch (cause) {
      // Synchronous argument errors (a bad fd, ...).
      server.off("error", onError)
      resume(Effect.fail(new ListenError({ address, option, cause })))
    }
  })

// ---------------------------------------------------------------------------
// The sockets this process bound: `ForkProcesses.forkProcesses` hands them
// over to the worker processes it starts.

const bound = new Set<ListeningSocket>()

/** Records a socket bound in this process (until it is closed). */
export const registerBound = (socket: ListeningSocket): void => {
  bound.add(socket)
}

const onClosed = (socket: ListeningSocket): void => {
  bound.delete(socket)
}

/** The sockets bound in this process and still open. */
export const boundSockets = (): ReadonlyArray<ListeningSocket> => [...bound]
