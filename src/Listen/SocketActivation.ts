/**
 * Sockets handed over by the service manager: systemd's socket activation
 * (`sd_listen_fds`), for a unit with a `.socket` file and `Accept=no`.
 *
 * systemd binds the sockets, starts the service with them open from file
 * descriptor 3 on, and says so in the environment: `LISTEN_FDS` (how many),
 * `LISTEN_PID` (the process they are for) and `LISTEN_FDNAMES` (their
 * `FileDescriptorName=`s, colon-separated).
 *
 * ```ts
 * const sockets = yield* SocketActivation.socketsFromEnvironment()
 * yield* HTTPServer.addSockets(handler, sockets)
 * ```
 *
 * @since 0.1.0
 */
import cluster from "node:cluster"
import * as Fs from "node:fs"
import { Effect, type Scope } from "effect"
import { ListenError } from "./ListenError.ts"
import { ListeningSocket, listenServer, makeNetServer, type ServerAddress } from "./ListeningSocket.ts"

/**
 * The first file descriptor systemd passes (`SD_LISTEN_FDS_START`).
 *
 * @since 0.1.0
 * @category constants
 */
export const firstFd = 3

/**
 * The file descriptors passed to this process, with their names: none if
 * `LISTEN_FDS` is not set or `LISTEN_PID` names another process (a worker
 * started by `ForkProcesses` takes its parent's).
 *
 * @since 0.1.0
 * @category utils
 */
export const passedFds = (
  env: NodeJS.ProcessEnv = process.env
): ReadonlyArray<{ readonly fd: number; readonly name: string | undefined }> => {
  const count = Number(env["LISTEN_FDS"] ?? "0")
  if (!Number.isSafeInteger(count) || count <= 0) return []
  const pid = env["LISTEN_PID"]
  if (pid !== undefined && pid !== "" && Number(pid) !== process.pid && !(cluster.isWorker && Number(pid) === process.ppid)) {
    return []
  }
  const names = (env["LISTEN_FDNAMES"] ?? "").split(":")
  return Array.from({ length: count }, (_, i) => ({ fd: firstFd + i, name: names[i] === "" ? undefined : names[i] }))
}

const adopt = (fd: number, name: string | undefined): Effect.Effect<ListeningSocket, ListenError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const label = `fd ${fd}${name === undefined ? "" : ` (${name})`}`
      const stat = yield* Effect.try({
        try: () => Fs.fstatSync(fd),
        catch: (cause) => new ListenError({ address: label, option: undefined, cause })
      })
      if (!stat.isSocket()) {
        return yield* Effect.fail(
          new ListenError({ address: label, option: undefined, cause: undefined, reason: "not a socket" })
        )
      }
      const server = makeNetServer()
      yield* listenServer(server, label, undefined, (onListening) => server.listen({ fd }, onListening))
      const bound = server.address()
      const address: ServerAddress = typeof bound === "object" && bound !== null
        ? { _tag: "TcpAddress", hostname: bound.address, port: bound.port }
        : { _tag: "UnixAddress", path: typeof bound === "string" ? bound : label }
      return new ListeningSocket(server, address, name)
    }),
    (socket) => Effect.sync(() => socket.close())
  )

/**
 * The listening sockets the service manager passed (systemd socket
 * activation), in order, each with its `FileDescriptorName=` as `name`; an
 * empty array when none were passed. A descriptor that is not a listening
 * socket fails with a {@link ListenError} naming it (`fd 3`). They close
 * when the Scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const socketsFromEnvironment = (
  env: NodeJS.ProcessEnv = process.env
): Effect.Effect<ReadonlyArray<ListeningSocket>, ListenError, Scope.Scope> =>
  Effect.forEach(passedFds(env), ({ fd, name }) => adopt(fd, name))
