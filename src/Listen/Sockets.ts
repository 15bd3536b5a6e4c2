/**
 * TCP listening sockets, bound before serving: Tornado's
 * `tornado.netutil.bind_sockets`.
 *
 * ```ts
 * const sockets = yield* Sockets.bindSockets(8888, { host: "localhost" }) // 127.0.0.1 and ::1
 * yield* HTTPServer.addSockets(handler, sockets)
 * ```
 *
 * @since 0.1.0
 */
import cluster from "node:cluster"
import * as Dns from "node:dns"
import * as Net from "node:net"
import { Effect, type Scope } from "effect"
import { ListenError } from "./ListenError.ts"
import {
  defaultBacklog,
  ListeningSocket,
  listenServer,
  makeNetServer,
  registerBound,
  type ServerAddress
} from "./ListeningSocket.ts"

/**
 * Options of {@link bindSockets}.
 *
 * @since 0.1.0
 * @category models
 */
export interface BindOptions {
  /**
   * The address or host name to bind. A name binds every address it
   * resolves to (`localhost`: `127.0.0.1` and `::1`); none (or `""`) binds
   * all interfaces, IPv4 (`0.0.0.0`) and IPv6 (`::`, IPv6 only) where the
   * machine has it.
   */
  readonly host?: string | undefined
  /** Pending connections the kernel queues. Default {@link defaultBacklog}. */
  readonly backlog?: number | undefined
  /**
   * `SO_REUSEPORT`: several processes may bind the same port, and the
   * kernel spreads connections over them (Linux, the BSDs).
   */
  readonly reusePort?: boolean | undefined
}

/** The environment variable with the ports a parent resolved for `port: 0` binds, in order. */
export const PORTS_ENV = "EFFECT_HTTPSERVER_PORTS"

/** In this process, the port each `bindSockets` call bound, in call order. */
const portsBound: Array<number> = []

/**
 * The ports this process's `bindSockets` calls bound, in order: a worker
 * forked now (running the same program) binds the same ones, also where
 * `0` was asked for.
 *
 * @since 0.1.0
 * @category workers
 */
export const portsForWorkers = (): ReadonlyArray<number> => [...portsBound]

/** In a worker: the ports the parent bound, by call order. */
const inheritedPorts: ReadonlyArray<number> = cluster.isWorker
  ? (process.env[PORTS_ENV] ?? "").split(",").filter((text) => text !== "").map(Number)
  : []

let calls = 0

const isAllInterfaces = (host: string | undefined): boolean => host === undefined || host === ""

/** The addresses to bind for `host`, resolved (a failure is about the host). */
const addressesOf = (host: string | undefined, port: number): Effect.Effect<ReadonlyArray<string>, ListenError> => {
  if (isAllInterfaces(host)) return Effect.succeed(["0.0.0.0", "::"])
  const name = host as string
  if (Net.isIP(name) !== 0) return Effect.succeed([name])
  return Effect.callback<ReadonlyArray<string>, ListenError>((resume) => {
    Dns.lookup(name, { all: true }, (error, found) => {
      if (error !== null) {
        resume(Effect.fail(new ListenError({ address: `${name}:${port}`, option: "host", cause: error })))
      } else {
        resume(Effect.succeed([...new Set(found.map((entry) => entry.address))]))
      }
    })
  })
}

/** Which option a failure to bind is about. */
const optionOf = (cause: unknown): "host" | "port" => {
  const code = (cause as { code?: unknown } | undefined)?.code
  return code === "EADDRNOTAVAIL" || code === "EAFNOSUPPORT" || code === "EINVAL" ? "host" : "port"
}

/** Binds one address; released with the Scope. */
export const bindOne = (
  host: string,
  port: number,
  options: { readonly backlog?: number | undefined; readonly reusePort?: boolean | undefined; readonly ipv6Only?: boolean }
): Effect.Effect<ListeningSocket, ListenError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const server = makeNetServer()
      const label = `${host.includes(":") ? `[${host}]` : host}:${port}`
      yield* listenServer(server, label, "port", (onListening) =>
        server.listen({
          host,
          port,
          backlog: options.backlog ?? defaultBacklog,
          ipv6Only: options.ipv6Only === true,
          reusePort: options.reusePort === true
        }, onListening)).pipe(
          Effect.mapError((error) =>
            new ListenError({ address: error.address, option: optionOf(error.cause), cause: error.cause })
          )
        )
      const bound = server.address()
      const address: ServerAddress = typeof bound === "object" && bound !== null
        ? { _tag: "TcpAddress", hostname: bound.address, port: bound.port }
        : { _tag: "TcpAddress", hostname: host, port }
      const socket = new ListeningSocket(server, address)
      registerBound(socket)
      return socket
    }),
    (socket) => Effect.sync(() => socket.close())
  )

/**
 * Binds listening sockets on `port` (Tornado's `bind_sockets`): one per
 * address of `options.host` (see {@link BindOptions}). With port `0` the
 * first socket picks a free port and the others take the same one.
 *
 * Connections that arrive before a server serves the sockets wait for it.
 * The sockets close when the Scope closes (and when a server that served
 * them stops).
 *
 * In a worker started by `ForkProcesses.forkProcesses` (or
 * `HTTPServer.start`), the same call binds the port its parent bound, `0`
 * included, shared with the other workers.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bindSockets = (
  port: number,
  options: BindOptions = {}
): Effect.Effect<ReadonlyArray<ListeningSocket>, ListenError, Scope.Scope> =>
  Effect.gen(function*() {
    const call = calls++
    const inherited = port === 0 ? inheritedPorts[call] : undefined
    let chosen = inherited ?? port
    const addresses = yield* addressesOf(options.host, chosen)
    const sockets: Array<ListeningSocket> = []
    for (const host of addresses) {
      const ipv6 = Net.isIPv6(host)
      const bound = yield* bindOne(host, chosen, { ...options, ipv6Only: ipv6 && isAllInterfaces(options.host) }).pipe(
        Effect.map((socket): ListeningSocket | undefined => socket),
        // All interfaces on a machine without IPv6: IPv4 alone.
        Effect.catchIf(
          (error) => ipv6 && isAllInterfaces(options.host) && (error.code === "EAFNOSUPPORT" || error.code === "EADDRNOTAVAIL"),
          () => Effect.succeed(undefined)
        )
      )
      if (bound === undefined) continue
      if (chosen === 0 && bound.address._tag === "TcpAddress") chosen = bound.address.port
      sockets.push(bound)
    }
    if (!cluster.isWorker) portsBound[call] = chosen
    return sockets
  })

export {
  /**
   * A bound, listening socket: what {@link bindSockets} returns and
   * `HTTPServer.addSockets` serves.
   *
   * @since 0.1.0
   * @category models
   */
  ListeningSocket
} from "./ListeningSocket.ts"
