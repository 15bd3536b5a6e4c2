/**
 * effect-httpserver: Tornado's non-blocking HTTP/1.1 server as an Effect
 * toolkit. Each module is re-exported as a namespace.
 *
 * @since 0.1.0
 */

/** The server: `listen`, `layer`, the `HTTPServer` service. @since 0.1.0 */
export * as HTTPServer from "./Server/HTTPServer.ts"

/** Response constructors. @since 0.1.0 */
export * as Response from "./Response/Response.ts"

/** The request a handler receives. @since 0.1.0 */
export * as HTTPServerRequest from "./Request/HTTPServerRequest.ts"

/** Taking a connection away from HTTP (`request.detach`: WebSockets, tunnels). @since 0.1.0 */
export * as Detach from "./Request/Detach.ts"

/** Ordered, case-insensitive, multi-valued header fields. @since 0.1.0 */
export * as HTTPHeaders from "./Request/HTTPHeaders.ts"

/** The PROXY protocol header (v1, v2) layer-4 balancers send: `request.connection.proxyHeader`, its TLVs. @since 0.1.0 */
export * as ProxyHeader from "./Wire/ProxyHeader.ts"

/** The engine's typed errors and their statuses. @since 0.1.0 */
export * as HttpErrors from "./Wire/HttpErrors.ts"

/** The server's options as a Schema. @since 0.1.0 */
export * as ServerConfig from "./Config/ServerConfig.ts"

/** Runs `effect/http` apps (HttpRouter, HttpApi) on this server. @since 0.1.0 */
export * as EffectHttpAdapter from "./EffectHttp/EffectHttpAdapter.ts"

/** Listening TCP sockets bound before serving (Tornado's `bind_sockets`). @since 0.1.0 */
export * as Sockets from "./Listen/Sockets.ts"

/** A listening Unix domain socket (Tornado's `bind_unix_socket`). @since 0.1.0 */
export * as UnixSocket from "./Listen/UnixSocket.ts"

/** Sockets passed by systemd (socket activation, `LISTEN_FDS`). @since 0.1.0 */
export * as SocketActivation from "./Listen/SocketActivation.ts"

/** Worker processes (Tornado's `fork_processes`, `task_id`). @since 0.1.0 */
export * as ForkProcesses from "./Listen/ForkProcesses.ts"

/** The server's metrics (Effect `Metric`s) and the layer that turns them on. @since 0.1.0 */
export * as ServerMetrics from "./Observation/ServerMetrics.ts"

/** The server's options from the environment (`HTTP_PORT`, ...), through Effect's `ConfigProvider`. @since 0.1.0 */
export * as ServerConfigFromEnv from "./Config/ServerConfigFromEnv.ts"

/** Compressed responses for core handlers (`br`, `gzip`, `zstd` by `Accept-Encoding`): a handler middleware. @since 0.1.0 */
export * as ResponseCompression from "./Compression/ResponseCompression.ts"
