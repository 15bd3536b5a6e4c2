/**
 * The HTTP server: Tornado's `HTTPServer` as a scoped Effect and a Layer.
 *
 * Acquiring one listens; releasing it (closing its Scope) stops accepting,
 * closes idle keep-alive connections, lets in-flight requests finish up to
 * `shutdownTimeout`, then closes what is left, interrupting its handlers.
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
import Cluster from "node:cluster"
import * as Fs from "node:fs"
import * as Net from "node:net"
import { Context, Data, Duration, Effect, Layer, Scope } from "effect"
import type * as HttpClient from "effect/http/HttpClient"
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
import { type ConnectionHost, type ConnectionOptions, HttpConnection } from "../Connection/HttpConnection.ts"
import { observeRequests } from "./RequestObservation.ts"
import { readIntoSharedBuffer } from "./SharedReadBuffer.ts"
import { layerClient, testServerConfig } from "./TestLayer.ts"
import { TlsHandshakes } from "./TlsHandshakes.ts"
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
 * A running server.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunningServer {
  readonly address: ServerAddress
  /** `http` or `https`. */
  readonly scheme: "http" | "https"
  /** The connections open now, TLS handshakes in progress included. */
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
}

/**
 * The service a {@link layer} provides.
 *
 * @since 0.1.0
 * @category services
 */
export class HTTPServer extends Context.Service<HTTPServer, RunningServer>()("effect-httpserver/HTTPServer") {}

/**
 * The server could not listen (address in use, permission denied, ...).
 *
 * @since 0.1.0
 * @category errors
 */
export class ListenError extends Data.TaggedError("ListenError")<{
  readonly address: string
  readonly cause: unknown
}> {
  override get message() {
    const code = (this.cause as { code?: string } | undefined)?.code
    return `cannot listen on ${this.address}${code === undefined ? "" : `: ${code}`}`
  }
}

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
    isTrustedDownstream: makeIpMatcher(config.trustedDownstream),
    protocol: config.protocol,
    decodedContentEncoding: decoded,
    leniency: defaultLeniency
  }
}

/**
 * A socket file left by a server that did not close cleanly would make
 * binding fail with EADDRINUSE; like Tornado's `bind_unix_socket`, a socket
 * file (and only a socket file) at the path is removed first. Cluster workers
 * leave it alone: their primary has bound the path for all of them.
 */
const removeStaleUnixSocket = (path: string): void => {
  if (Cluster.isWorker) return
  try {
    if (Fs.statSync(path).isSocket()) Fs.unlinkSync(path)
  } catch {
    // Nothing there (or not ours to remove): listen reports what matters.
  }
}

/**
 * Options of {@link listen} beyond the config: a socket bound elsewhere
 * (Tornado's `add_sockets`, used by worker processes).
 *
 * @since 0.1.0
 * @category models
 */
export interface ListenOptions {
  /** Serve on this listening handle (a `net.Server`, or `{ fd }`) instead of binding. */
  readonly handle?: Net.Server | { readonly fd: number } | undefined
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
}

/**
 * Listens and serves `handler` until the Scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const listen = <E, R>(
  handler: Handler<E, R>,
  config?: ServerConfigInput,
  options?: ListenOptions
): Effect.Effect<RunningServer, ConfigError | ListenError, R | Scope.Scope> =>
  Effect.flatMap(decodeServerConfig(config ?? {}), (decoded) => listenWith(handler, decoded, options))

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
): Effect.Effect<RunningServer, ListenError, R | Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<R>()
    const scope = yield* Effect.scope
    const runFork = Effect.runForkWith(context)
    const connections = new Set<HttpConnection>()
    let shuttingDown = false
    let onAllClosed: (() => void) | undefined
    // Spans, metrics and the access log, when any is on (decided once, here).
    const observation = observeRequests(context as Context.Context<never>, config, {
      tracing: options?.tracing ?? true,
      runFork
    })
    const runHandler = handler as ConnectionHost["runHandler"]

    const host: ConnectionHost = {
      options: connectionOptions(config),
      runHandler: observation === undefined ? runHandler : observation.wrap(runHandler),
      fork: (effect) => runFork(effect),
      logFailure: (request, cause) => {
        const log = Effect.logError("request failed", cause)
        runFork(
          request === undefined
            ? log
            : Effect.annotateLogs(log, { method: request.method, uri: request.uri, remoteIp: request.remoteIp })
        )
      },
      isShuttingDown: () => shuttingDown,
      clientAbortAnnotations: options?.clientAbortAnnotations,
      onRequestEnd: observation?.onRequestEnd,
      onEngineError: observation?.onEngineError,
      onClose: (connection) => {
        observation?.connectionClosed()
        connections.delete(connection)
        if (connections.size === 0) onAllClosed?.()
      }
    }

    const addConnection = (connection: HttpConnection) => {
      observation?.connectionOpened()
      connections.add(connection)
    }

    // TLS: accepted sockets handshake first, tracked (limits, deadline,
    // shutdown) until they are secure; see TlsHandshakes.ts.
    const handshakes = config.ssl === undefined ? undefined : new TlsHandshakes(config.ssl, {
      timeoutMillis: Math.min(
        Duration.toMillis(config.handshakeTimeout),
        Duration.toMillis(config.headerTimeout),
        Duration.toMillis(config.idleConnectionTimeout)
      ),
      onSecure: (socket) => {
        if (shuttingDown) socket.destroy()
        else addConnection(new HttpConnection(socket, host))
      },
      onClientError: (error, remoteAddress) =>
        runFork(Effect.annotateLogs(Effect.logDebug("TLS handshake failed"), {
          remoteIp: remoteAddress ?? "unknown",
          reason: (error as { code?: string }).code ?? error.message
        }))
    })
    const connectionCount = () => connections.size + (handshakes?.size ?? 0)

    const maxConnections = config.maxConnections ?? Infinity
    const onSocket = (socket: Net.Socket) => {
      // Past the limit a new connection is closed at once; the open ones are
      // not touched.
      if (shuttingDown || connectionCount() >= maxConnections) {
        if (!shuttingDown) observation?.connectionRefused()
        socket.on("error", () => {})
        socket.destroy()
        return
      }
      if (handshakes !== undefined) {
        handshakes.start(socket)
        return
      }
      // Plain sockets are accepted paused and moved to the shared read buffer.
      let connection: HttpConnection | undefined
      const reader = readIntoSharedBuffer(socket, true, (bytes) => connection?.receive(bytes, true))
      if (reader !== undefined) {
        connection = new HttpConnection(reader, host, true)
        addConnection(connection)
        return
      }
      socket.resume()
      addConnection(new HttpConnection(socket, host))
    }

    const scheme = config.ssl !== undefined ? "https" : "http"
    const server = Net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, onSocket)

    const describe = config.unixSocket !== undefined ? `unix:${config.unixSocket}` : `${config.host}:${config.port}`
    yield* Effect.callback<void, ListenError>((resume) => {
      const onError = (cause: unknown) => resume(Effect.fail(new ListenError({ address: describe, cause })))
      server.once("error", onError)
      const onListening = () => {
        server.off("error", onError)
        server.on("error", () => {})
        resume(Effect.void)
      }
      const handle = options?.handle
      if (handle !== undefined) server.listen(handle, onListening)
      else if (config.unixSocket !== undefined) {
        removeStaleUnixSocket(config.unixSocket)
        server.listen(config.unixSocket, onListening)
      }
      else server.listen({ host: config.host, port: config.port, backlog: 1024 }, onListening)
    })

    const bound = server.address()
    const address: ServerAddress = typeof bound === "string" || bound === null
      ? { _tag: "UnixAddress", path: config.unixSocket ?? String(bound) }
      : { _tag: "TcpAddress", hostname: bound.address, port: bound.port }
    const url = address._tag === "UnixAddress"
      ? `unix:${address.path}`
      : `${scheme}://${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${address.port}`

    const stopAccepting = Effect.sync(() => {
      if (server.listening) server.close()
    })

    const waitForConnections = (destroyFirst: boolean) =>
      Effect.callback<void>((resume) => {
        if (destroyFirst) {
          handshakes?.closeAll()
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

    const closeAllConnections = waitForConnections(true)

    // Graceful shutdown, when the scope closes.
    yield* Scope.addFinalizer(
      scope,
      Effect.gen(function*() {
        shuttingDown = true
        yield* stopAccepting
        // A handshake has no request in flight: nothing to wait for.
        handshakes?.closeAll()
        for (const connection of [...connections]) connection.closeIfIdle()
        const graceful = yield* Effect.timeoutOption(waitForConnections(false), config.shutdownTimeout)
        if (graceful._tag === "None") yield* closeAllConnections
      })
    )

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

    return {
      address,
      scheme,
      url,
      connectionCount,
      stop: stopAccepting,
      closeAllConnections,
      reloadTls
    } satisfies RunningServer
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
): Layer.Layer<HTTPServer, ConfigError | ListenError, R> => Layer.effect(HTTPServer, listen(handler, config))


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
): Layer.Layer<HTTPServer, ConfigError | ListenError, R> =>
  Layer.effect(HTTPServer, Effect.flatMap(loadServerConfig(defaults), (config) => listenWith(handler, config)))

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
): Layer.Layer<HTTPServer | HttpClient.HttpClient, ConfigError | ListenError, R> => {
  const server = layer(handler, testServerConfig(config))
  const client = Layer.unwrap(Effect.map(Effect.service(HTTPServer), (running) => layerClient(running.url)))
  return Layer.provideMerge(client, server)
}
