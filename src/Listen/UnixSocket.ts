/**
 * A Unix domain listening socket: Tornado's `tornado.netutil.bind_unix_socket`.
 *
 * ```ts
 * const socket = yield* UnixSocket.bindUnixSocket("/run/app/http.sock", { mode: 0o660 })
 * yield* HTTPServer.addSockets(handler, [socket])
 * ```
 *
 * @since 0.1.0
 */
import cluster from "node:cluster"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { Effect, type Scope } from "effect"
import { ListenError } from "./ListenError.ts"
import { defaultBacklog, ListeningSocket, listenServer, makeNetServer, registerBound } from "./ListeningSocket.ts"

/**
 * Options of {@link bindUnixSocket}.
 *
 * @since 0.1.0
 * @category models
 */
export interface UnixSocketOptions {
  /** The socket file's permissions. Default `0o600` (Tornado's): only its owner may connect. */
  readonly mode?: number | undefined
  /** Pending connections the kernel queues. Default {@link defaultBacklog}. */
  readonly backlog?: number | undefined
}

/**
 * Tornado's default mode: read and write for the owner only.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMode = 0o600

/**
 * The longest socket path Linux takes: `sun_path` holds 108 bytes with the
 * terminating NUL (macOS and the BSDs: 104).
 *
 * @since 0.1.0
 * @category constants
 */
export const maxPathBytes = 107

const fail = (path: string, cause: unknown, reason?: string) =>
  Effect.fail(new ListenError({ address: `unix:${path}`, option: "unixSocket", cause, reason }))

/** Whether something listens on the socket file at `path` (a connection is accepted). */
const isLive = (path: string): Effect.Effect<boolean> =>
  Effect.callback<boolean>((resume) => {
    const probe = Net.connect(path)
    probe.once("connect", () => {
      probe.destroy()
      resume(Effect.succeed(true))
    })
    probe.once("error", () => resume(Effect.succeed(false)))
  })

/**
 * What is at `path` before binding: nothing, or a socket file no server
 * listens on (left by one that died; removed, as Tornado does). A socket a
 * server still listens on, a regular file, a directory, a missing parent
 * directory or a path too long are refused with a {@link ListenError}
 * saying so; nothing is touched.
 */
const prepare = (path: string): Effect.Effect<void, ListenError> =>
  Effect.gen(function*() {
    const bytes = Buffer.byteLength(path)
    if (bytes > maxPathBytes) {
      return yield* fail(path, undefined, `the path is ${bytes} bytes; a Unix socket path has at most ${maxPathBytes}`)
    }
    const directory = Path.dirname(path)
    const parent = Fs.statSync(directory, { throwIfNoEntry: false })
    if (parent === undefined) return yield* fail(path, undefined, `the directory ${directory} does not exist`)
    if (!parent.isDirectory()) return yield* fail(path, undefined, `${directory} is not a directory`)
    const existing = Fs.lstatSync(path, { throwIfNoEntry: false })
    if (existing === undefined) return
    if (!existing.isSocket()) {
      const what = existing.isDirectory() ? "a directory" : existing.isFile() ? "a regular file" : "a file that is not a socket"
      return yield* fail(path, undefined, `${what} is in the way (it is left alone)`)
    }
    if (yield* isLive(path)) {
      return yield* fail(path, undefined, "another server is listening on this socket")
    }
    yield* Effect.try({ try: () => Fs.unlinkSync(path), catch: (cause) => new ListenError({ address: `unix:${path}`, option: "unixSocket", cause }) })
  })

/**
 * Binds a listening Unix domain socket at `path` (Tornado's
 * `bind_unix_socket`): a stale socket file is replaced, anything else in
 * the way is refused, the file gets `options.mode` (default `0o600`) before
 * any client can connect, and it is removed when the Scope closes.
 *
 * In a worker started by `ForkProcesses.forkProcesses` (or
 * `HTTPServer.start`), the socket is shared with the other workers: the
 * parent process holds the file, and the mode is set once the worker
 * listens.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bindUnixSocket = (
  path: string,
  options: UnixSocketOptions = {}
): Effect.Effect<ListeningSocket, ListenError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const mode = options.mode ?? defaultMode
      if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
        return yield* fail(path, undefined, `the mode must be from 0 to 0o777, got ${String(mode)}`)
      }
      if (!cluster.isWorker) yield* prepare(path)
      const server = makeNetServer()
      yield* listenServer(server, `unix:${path}`, "unixSocket", (onListening) => {
        // The file is created by the bind inside listen(), synchronously in
        // this process: the umask makes it `mode` from its first moment (a
        // chmod afterwards would leave a moment with the default mode).
        const previous = process.umask(~mode & 0o777)
        try {
          server.listen({ path, backlog: options.backlog ?? defaultBacklog }, onListening)
        } finally {
          process.umask(previous)
        }
      })
      yield* Effect.try({
        try: () => Fs.chmodSync(path, mode),
        catch: (cause) => new ListenError({ address: `unix:${path}`, option: "unixSocket", cause })
      }).pipe(Effect.tapError(() => Effect.sync(() => server.close())))
      const socket = new ListeningSocket(server, { _tag: "UnixAddress", path })
      registerBound(socket)
      return socket
    }),
    // Closing the server removes the file (libuv unlinks what it bound).
    (socket) => Effect.sync(() => socket.close())
  )
