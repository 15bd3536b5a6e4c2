/**
 * The HTTP server: Tornado's `HTTPServer` as a scoped Effect and a Layer.
 *
 * Acquiring one listens; releasing it (closing its Scope) stops accepting,
 * closes idle keep-alive connections, lets in-flight requests finish up to
 * `shutdownTimeout`, then closes what is left, interrupting its handlers.
 *
 * Tornado's three ways to start: {@link listen} (bind and serve here),
 * {@link start} (bind, then serve in `processes` worker processes), and
 * {@link addSockets} over sockets from `Sockets.bindSockets`,
 * `UnixSocket.bindUnixSocket` or `SocketActivation.socketsFromEnvironment`,
 * in workers from `ForkProcesses.forkProcesses` or not.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { HTTPServer, Response } from "effect-httpserver"
 *
 * const program = Effect.gen(function*() {
 *   const server = yield* HTTPServer.listen(
 *     (request) => Effect.succeed(Response.text(`Hello ${request.path}`)),
 *     { port: 8888 }
 *   )
 *   yield* Effect.log(`listening on port ${server.address.port}`)
 *   yield* Effect.never
 * })
 * Effect.runFork(Effect.scoped(program))
 * ```
 *
 * @since 0.1.0
 */
import { Context, Data, Deferred, Duration, Effect, Layer, Scope } from "effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as ResponseCompression from "../Compression/ResponseCompression.ts"
import { makeIpMatcher } from "../Config/IpRange.ts"
import {
  ConfigError,
  decodeServerConfig,
  decodeTlsConfig,
  type ServerConfig,
  type ServerConfigInput
} from "../Config/ServerConfig.ts"
import { loadServerConfig } from "../Config/ServerConfigFromEnv.ts"
import type { TlsConfigInput } from "../Config/TlsConfig.ts"
import { defaultLeniency } from "../Wire/HeadParser.ts"
import type { ServedConnection } from "../Connection/ConnectionHost.ts"
import type { ConnectionHost, ConnectionOptions } from "../Connection/HttpConnection.ts"
import { Acceptor } from "../Accept/Accept.ts"
import type { ListenError } from "../Listen/ListenError.ts"
import { describeAddress, type ListeningSocket, type ServerAddress } from "../Listen/ListeningSocket.ts"
import { observeRequests } from "../Observation/RequestObservation.ts"
import { bindSockets } from "../Listen/Sockets.ts"
import { layerClient, testServerConfig } from "./TestLayer.ts"
import { bindUnixSocket } from "../Listen/UnixSocket.ts"
import * as Workers from "../Listen/Workers.ts"
import type { HTTPServerRequest } from "../Request/HTTPServerRequest.ts"
import type { Response } from "../Response/Response.ts"

/**
 * The request a handler receives.
 *
 * @since 0.1.0
 * @category models
 */
export type Request = HTTPServerRequest

/**
 * A request handler: a pure function from request to an Effect of response.
 * Its failures are answered with 500 (or, for the engine's typed errors, with
 * their status) and logged; the server goes on.
 *
 * @since 0.1.0
 * @category models
 */
export type Handler<E = never, R = never> = (request: HTTPServerRequest) => Effect.Effect<Response, E, R>

export {
  /**
   * The server could not listen (address in use, permission denied, ...).
   *
   * @since 0.1.0
   * @category errors
   */
  ListenError
} from "../Listen/ListenError.ts"

export type {
  /**
   * Where a server listens.
   *
   * @since 0.1.0
   * @category models
   */
  ServerAddress
} from "../Listen/ListeningSocket.ts"

/**
 * A running server.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunningServer {
  /** Where it listens (the first of {@link RunningServer.addresses}). */
  readonly address: ServerAddress
  /** Every address it listens on (several with `addSockets`, or a host with several addresses). */
  readonly addresses: ReadonlyArray<ServerAddress>
  /** `http` or `https`. */
  readonly scheme: "http" | "https"
  /** The connections open now, those still waiting for their PROXY header or TLS handshake included. */
  readonly connectionCount: () => number
  /**
   * Stops accepting new connections; requests in progress go on (Tornado's
   * `stop`).
   */
  readonly stop: Effect.Effect<void>
  /**
   * Closes every open connection, interrupting what runs on it, and waits
   * until all are closed (Tornado's `close_all_connections`).
   */
  readonly closeAllConnections: Effect.Effect<void>
  /** The URL of the server, e.g. `http://127.0.0.1:8888` or `unix:/path`. */
  readonly url: string
  /**
   * Replaces the TLS certificate and key (and the rest of `ssl`) without a
   * restart: `ssl` is decoded and checked as at start (files read again), and
   * on success new connections get it while open ones keep their session.
   * Without an argument, the `ssl` in force is decoded again (its files
   * re-read: what SIGHUP does in the demo command). Fails with a
   * `ConfigError` naming the field, leaving the old material in use; on a
   * server without TLS, with a `ConfigError` on `ssl`.
   */
  readonly reloadTls: (ssl?: TlsConfigInput) => Effect.Effect<void, ConfigError>
  /**
   * Completes when shutdown begins (the server's Scope starts closing,
   * SIGTERM in the command), before it stops accepting: the signal for
   * long-lived responses to end by themselves instead of being cut at
   * `shutdownTimeout`. An SSE stream ends on it with
   * `Stream.interruptWhen(server.draining)`, a WebSocket closes with 1001.
   */
  readonly draining: Effect.Effect<void>
  /** Whether shutdown has begun ({@link RunningServer.draining} has completed): a health check answers 503 then. */
  readonly isDraining: () => boolean
}

/**
 * The service a {@link layer} provides; handlers see their own server as
 * this service too (`yield* HTTPServer.HTTPServer` in a handler gives its
 * `draining` signal, `reloadTls`, ...), so a handler's need for it is
 * met by the server that runs it.
 *
 * @since 0.1.0
 * @category services
 */
export class HTTPServer extends Context.Service<HTTPServer, RunningServer>()("effect-httpserver/HTTPServer") {}

/** Resolves the decoded config into what each connection reads. */
const connectionOptions = (config: ServerConfig): ConnectionOptions => {
  const decoded = config.decompressRequest
    ? (coding: string) => coding === "gzip" || coding === "deflate" || coding === "x-gzip"
    : undefined
  return {
    noKeepAlive: config.noKeepAlive,
    maxHeaderSize: config.maxHeaderSize,
    maxRequestLineSize: config.maxRequestLineSize,
    maxBodySize: config.maxBodySize,
    maxBufferSize: config.maxBufferSize,
    chunkSize: config.chunkSize,
    headerTimeoutMillis: Duration.toMillis(config.headerTimeout),
    bodyTimeoutMillis: config.bodyTimeout === undefined ? undefined : Duration.toMillis(config.bodyTimeout),
    idleTimeoutMillis: Duration.toMillis(config.idleConnectionTimeout),
    writeTimeoutMillis: Duration.toMillis(config.writeTimeout),
    xheaders: config.xheaders,
    forwarded: config.forwarded,
    isTrustedDownstream: makeIpMatcher(config.trustedDownstream),
    protocol: config.protocol,
    decodedContentEncoding: decoded,
    leniency: defaultLeniency
  }
}

/**
 * Options of {@link listenWith} beyond the config.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListenOptions {
  /**
   * Serve these listening sockets instead of binding the config's address
   * (what {@link addSockets} does; `host`, `port` and `unixSocket` are then
   * not used).
   */
  readonly sockets?: ReadonlyArray<ListeningSocket> | undefined
  /**
   * Annotations of the interruption of a handler whose client went away
   * (the `effect/http` adapter passes `ClientAbort.annotation`).
   */
  readonly clientAbortAnnotations?: Context.Context<never> | undefined
  /**
   * Whether the server makes a span per request when a tracer is installed
   * (default `true`). The `effect/http` adapter passes `false`: its
   * `HttpEffect` makes the spans there.
   */
  readonly tracing?: boolean | undefined
  /**
   * Handlers' fibers start uninterruptible, for handlers that open
   * interruptible regions themselves (`effect/http`'s `HttpRouter` does, for
   * every route not added with `{ uninterruptible: true }`): an interrupt
   * that arrives once the handler has its response then no longer turns the
   * fiber's end into an interruption, and the response is sent. The
   * `effect/http` adapter sets it.
   */
  readonly handlersStartUninterruptible?: boolean | undefined
}

/**
 * `processes` other than 1 asks for worker processes, which only
 * {@link start} forks: `listen` and `layer` serve in this process and refuse
 * it rather than ignore it.
 *
 * @since 0.1.0
 * @category utils
 */
export const refuseProcesses = (config: ServerConfig): Effect.Effect<ServerConfig, ConfigError> =>
  config.processes === 1
    ? Effect.succeed(config)
    : Effect.fail(
      new ConfigError({
        issues: [{
          option: "processes",
          message: `must be 1 here (this process serves), got ${config.processes}: HTTPServer.start forks worker processes`
        }]
      })
    )

/**
 * Listens on the config's address (`host` and `port`, or `unixSocket`) and
 * serves `handler` until the Scope closes (Tornado's `HTTPServer.listen`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const listen = <E, R>(
  handler: Handler<E, R>,
  config?: ServerConfigInput
): Effect.Effect<RunningServer, ConfigError | ListenError, Exclude<R, HTTPServer> | Scope.Scope> =>
  decodeServerConfig(config ?? {}).pipe(
    Effect.flatMap(refuseProcesses),
    Effect.flatMap((decoded) => listenWith(handler, decoded))
  )

/** The options that say where to listen, which {@link addSockets} does not take. */
const BINDING_OPTIONS = ["host", "port", "unixSocket", "unixSocketMode", "processes"] as const

/**
 * Serves `handler` on sockets already bound (Tornado's `add_sockets`): from
 * `Sockets.bindSockets`, `UnixSocket.bindUnixSocket` or
 * `SocketActivation.socketsFromEnvironment`, several at once (IPv4, IPv6 and
 * a Unix socket, say). One server: one connection count, one `stop`, one
 * graceful shutdown when the Scope closes, which also closes the sockets.
 *
 * `config` takes every option but the ones that say where to listen
 * (`host`, `port`, `unixSocket`, `unixSocketMode`, `processes`): given, they
 * fail with a `ConfigError`, as does an empty list of sockets.
 *
 * @since 0.1.0
 * @category constructors
 */
export const addSockets = <E, R>(
  handler: Handler<E, R>,
  sockets: ReadonlyArray<ListeningSocket>,
  config?: ServerConfigInput
): Effect.Effect<RunningServer, ConfigError | ListenError, Exclude<R, HTTPServer> | Scope.Scope> => {
  const given = BINDING_OPTIONS.filter((option) => config?.[option] !== undefined)
  const issues = [
    ...(sockets.length === 0 ? [{ option: "sockets", message: "must be at least one listening socket" }] : []),
    ...given.map((option) => ({ option, message: "is not used by addSockets (the sockets are bound already)" }))
  ]
  if (issues.length > 0) return Effect.fail(new ConfigError({ issues }))
  return Effect.flatMap(decodeServerConfig(config ?? {}), (decoded) => listenWith(handler, decoded, { sockets }))
}

/** Binds what the config says: its Unix socket, or its host and port. */
const bindConfigured = (config: ServerConfig): Effect.Effect<ReadonlyArray<ListeningSocket>, ListenError, Scope.Scope> =>
  config.unixSocket !== undefined
    ? Effect.map(bindUnixSocket(config.unixSocket, { mode: config.unixSocketMode }), (socket) => [socket])
    : bindSockets(config.port, { host: config.host })

/**
 * {@link listen} with a config already decoded.
 *
 * @since 0.1.0
 * @category constructors
 */
export const listenWith = <E, R>(
  handler: Handler<E, R>,
  config: ServerConfig,
  options?: ListenOptions
): Effect.Effect<RunningServer, ListenError, Exclude<R, HTTPServer> | Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<Exclude<R, HTTPServer>>()
    const scope = yield* Effect.scope
    const connections = new Set<ServedConnection>()
    let shuttingDown = false
    let onAllClosed: (() => void) | undefined
    const draining = Deferred.makeUnsafe<void>()

    // The listening sockets accept (paused, with allowHalfOpen and noDelay)
    // once `serve` is called below; each connection they accept comes to
    // `onSocket`.
    const sockets = options?.sockets ?? (yield* bindConfigured(config))
    let detach: ReadonlyArray<() => void> = []
    const scheme = config.ssl !== undefined ? "https" : "http"
    const addresses = sockets.map((socket) => socket.address)
    const address = addresses[0] ?? { _tag: "TcpAddress", hostname: config.host, port: config.port }
    const url = address._tag === "UnixAddress" ? describeAddress(address) : `${scheme}://${describeAddress(address)}`

    // Tornado's `stop` closes the listening sockets.
    const stopAccepting = Effect.sync(() => {
      for (const stop of detach) stop()
      for (const socket of sockets) socket.close()
    })

    const waitForConnections = (destroyFirst: boolean) =>
      Effect.callback<void>((resume) => {
        if (destroyFirst) {
          acceptor.closePending()
          for (const connection of [...connections]) connection.destroy()
        }
        if (connections.size === 0) {
          resume(Effect.void)
          return
        }
        onAllClosed = () => resume(Effect.void)
        return Effect.sync(() => {
          onAllClosed = undefined
        })
      })

    let tlsSource = config.ssl?.source
    const reloadTls = (ssl?: TlsConfigInput): Effect.Effect<void, ConfigError> => {
      const source = ssl ?? tlsSource
      if (handshakes === undefined || source === undefined) {
        return Effect.fail(
          new ConfigError({ issues: [{ option: "ssl", message: "cannot be reloaded: the server does not serve TLS" }] })
        )
      }
      return Effect.flatMap(decodeTlsConfig(source), (loaded) =>
        Effect.sync(() => {
          tlsSource = loaded.source
          handshakes.setConfig(loaded)
        }))
    }

    const running: RunningServer = {
      address,
      addresses,
      scheme,
      url,
      connectionCount: () => connections.size + acceptor.pending,
      stop: stopAccepting,
      closeAllConnections: waitForConnections(true),
      reloadTls,
      draining: Deferred.await(draining),
      isDraining: () => Deferred.isDoneUnsafe(draining)
    }

    // Handlers (and everything the server runs) see this server as the
    // `HTTPServer` service: its draining signal, reloadTls, ...
    const runFork = Effect.runForkWith(Context.add(context, HTTPServer, running))
    // Spans, metrics and the access log, when any is on (decided once, here).
    const observation = observeRequests(context as Context.Context<never>, config, {
      tracing: options?.tracing ?? true,
      runFork
    })
    // `compressResponse`: the handler runs under the compression middleware.
    const served = config.compressResponse ? ResponseCompression.middleware()(handler) : handler
    const runHandler = served as ConnectionHost["runHandler"]

    const host: ConnectionHost<ServedConnection> = {
      options: connectionOptions(config),
      runHandler: observation === undefined ? runHandler : observation.wrap(runHandler),
      fork: (effect) => runFork(effect),
      forkHandler: options?.handlersStartUninterruptible === true
        ? (effect) => runFork(effect, { uninterruptible: true })
        : (effect) => runFork(effect),
      logFailure: (request, cause) => {
        const log = Effect.logError("request failed", cause)
        runFork(
          request === undefined
            ? log
            : Effect.annotateLogs(log, { method: request.method, uri: request.uri, remoteIp: request.remoteIp })
        )
      },
      clientAbortAnnotations: options?.clientAbortAnnotations,
      onRequestEnd: observation?.onRequestEnd,
      onEngineError: observation?.onEngineError,
      onDetach: observation?.onDetach,
      onClose: (connection) => {
        observation?.connectionClosed()
        connections.delete(connection)
        if (connections.size === 0) onAllClosed?.()
      }
    }

    const addConnection = (connection: ServedConnection) => {
      observation?.connectionOpened()
      connections.add(connection)
      if (running.isDraining()) connection.disableKeepAlive()
    }

    // The stages between a socket's accept and its connection: the limit,
    // the PROXY header, the TLS handshake (see Accept/Accept.ts).
    const acceptor = new Acceptor(config, {
      host,
      openConnections: () => connections.size,
      isShuttingDown: () => shuttingDown,
      add: addConnection,
      onRefused: () => observation?.connectionRefused(),
      onProxyRejected: (reason, remoteAddress) => {
        observation?.proxyHeaderRejected(reason)
        runFork(Effect.annotateLogs(Effect.logDebug("PROXY protocol header refused"), {
          remoteIp: remoteAddress ?? "unknown",
          reason
        }))
      },
      onTlsClientError: (error, remoteAddress) =>
        runFork(Effect.annotateLogs(Effect.logDebug("TLS handshake failed"), {
          remoteIp: remoteAddress ?? "unknown",
          reason: (error as { code?: string }).code ?? error.message
        }))
    })
    const handshakes = acceptor.handshakes
    detach = sockets.map((socket) => socket.serve(acceptor.accept))

    // Graceful shutdown, when the scope closes: the draining signal first,
    // so that long-lived responses (SSE, WebSockets) can end by themselves;
    // with a drainDelay, serving on that long (new connections too), every
    // response closing its connection, while health checks see the signal
    // and take this instance out; then stop accepting.
    yield* Scope.addFinalizer(
      scope,
      Effect.gen(function*() {
        Deferred.doneUnsafe(draining, Effect.void)
        if (Duration.isGreaterThan(config.drainDelay, Duration.zero)) {
          for (const connection of connections) connection.disableKeepAlive()
          yield* Effect.sleep(config.drainDelay)
        }
        shuttingDown = true
        yield* stopAccepting
        // A socket before its connection has no request in flight: nothing to wait for.
        acceptor.closePending()
        for (const connection of [...connections]) connection.beginShutdown()
        const graceful = yield* Effect.timeoutOption(waitForConnections(false), config.shutdownTimeout)
        if (graceful._tag === "None") yield* running.closeAllConnections
      })
    )

    return running
  })

/**
 * The server as a Layer: built, it listens; released, it shuts down
 * gracefully. Provides {@link HTTPServer}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <E, R>(
  handler: Handler<E, R>,
  config?: ServerConfigInput
): Layer.Layer<HTTPServer, ConfigError | ListenError, Exclude<R, HTTPServer>> => Layer.effect(HTTPServer, listen(handler, config))


/**
 * {@link layer} with its options from the environment, through Effect's
 * `Config` and the current `ConfigProvider`: `HTTP_PORT`, `HTTP_HOST`,
 * `HTTP_MAX_BODY_SIZE`, ... (one variable per option, see
 * `ServerConfigFromEnv`), over `defaults`. A bad value fails the layer with
 * a `ConfigError` naming the variable.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = <E, R>(
  handler: Handler<E, R>,
  defaults?: ServerConfigInput
): Layer.Layer<HTTPServer, ConfigError | ListenError, Exclude<R, HTTPServer>> =>
  Layer.effect(
    HTTPServer,
    loadServerConfig(defaults).pipe(
      Effect.flatMap(refuseProcesses),
      Effect.flatMap((config) => listenWith(handler, config))
    )
  )

/**
 * A server for a test, with an `effect/http` `HttpClient` whose relative
 * URLs go to it: 127.0.0.1, a free port, a 2 s `shutdownTimeout` (every field
 * of `config` overrides these). When the layer's scope closes, the client's
 * connections and the server are closed: the port is free and no socket or
 * timer is left.
 *
 * ```ts
 * it.layer(HTTPServer.layerTest(app))("app", (it) => {
 *   it.effect("says hello", () =>
 *     Effect.gen(function*() {
 *       const response = yield* HttpClient.get("/hello")
 *       expect(yield* response.text).toBe("Hello world")
 *     }))
 * })
 * ```
 *
 * @since 0.1.0
 * @category testing
 */
export const layerTest = <E, R>(
  handler: Handler<E, R>,
  config?: ServerConfigInput
): Layer.Layer<HTTPServer | HttpClient.HttpClient, ConfigError | ListenError, Exclude<R, HTTPServer>> => {
  const server = layer(handler, testServerConfig(config))
  const client = Layer.unwrap(Effect.map(Effect.service(HTTPServer), (running) => layerClient(running.url)))
  return Layer.provideMerge(client, server)
}

/**
 * What {@link start} started in this process: a server (in a worker, or
 * with `processes: 1`), or, in the parent of the workers, their supervisor.
 *
 * @since 0.1.0
 * @category models
 */
export type Started =
  | {
    readonly _tag: "Serving"
    readonly server: RunningServer
    /** This worker's task id (0 to n-1); `undefined` without workers. */
    readonly taskId: number | undefined
  }
  | {
    readonly _tag: "Supervising"
    /** The URL the workers serve. */
    readonly url: string
    readonly workers: Workers.Supervisor
  }

/**
 * Serves `handler` in `config.processes` processes (Tornado's
 * `server.bind(port); server.start(n)`): `1` serves here, as
 * {@link listen}; `0` forks one worker per CPU, `n` forks `n`.
 *
 * With workers, this process binds the config's address first (so a port
 * in use fails here, before any worker starts), then forks workers that run
 * the same program: in each, the same `start` serves on the shared socket
 * and succeeds with `Serving`; here it succeeds with `Supervising` once
 * every worker listens. The supervisor restarts a worker that dies (up to
 * `maxRestarts`, 100), and closing the Scope stops the workers gracefully
 * (SIGTERM: each drains its requests) and waits for them. In a worker,
 * SIGTERM/SIGINT close its Scope, which drains it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = <E, R>(
  handler: Handler<E, R>,
  config?: ServerConfigInput,
  options?: StartOptions
): Effect.Effect<Started, ConfigError | ListenError | Workers.WorkersError, Exclude<R, HTTPServer> | Scope.Scope> =>
  Effect.flatMap(decodeServerConfig(config ?? {}), (decoded) => startWith(handler, decoded, options))

/**
 * Options of {@link start}.
 *
 * @since 0.1.0
 * @category models
 */
export interface StartOptions {
  /** Restarts of workers that died, in all, before giving up. Default 100 (Tornado's). */
  readonly maxRestarts?: number | undefined
}

/**
 * {@link start} with a config already decoded.
 *
 * @since 0.1.0
 * @category constructors
 */
export const startWith = <E, R>(
  handler: Handler<E, R>,
  config: ServerConfig,
  options?: StartOptions
): Effect.Effect<Started, ListenError | Workers.WorkersError, Exclude<R, HTTPServer> | Scope.Scope> =>
  Effect.gen(function*() {
    if (Workers.isWorker()) {
      const server = yield* Workers.listenAsWorker(listenWith(handler, config))
      return { _tag: "Serving", server, taskId: Workers.taskId() } as const
    }
    if (config.processes === 1) {
      return { _tag: "Serving", server: yield* listenWith(handler, config), taskId: undefined } as const
    }
    // Bound here first; forkWorkers hands the sockets over to the workers.
    yield* bindConfigured(config)
    const workers = yield* Workers.forkWorkers(config, { maxRestarts: options?.maxRestarts })
    return { _tag: "Supervising", url: workers.url, workers } as const
  })
