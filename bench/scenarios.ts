/** The benchmark scenarios: what each one sends, and how. */

/** What every scenario has. */
interface ScenarioBase {
  readonly name: string
  readonly title: string
  /** What the numbers mean, for the README and the report header. */
  readonly measures: string
  /**
   * The servers (by `--only` name) that take part, for a scenario that not
   * every server can serve (TLS, WebSocket, ...); all of them when absent.
   */
  readonly servers?: ReadonlyArray<string>
}

/** A load scenario: a load generator drives the server at full speed for a fixed time. */
export interface LoadScenario extends ScenarioBase {
  readonly kind: "load"
  readonly method: "GET" | "POST"
  readonly path: string
  readonly connections: number
  /** Requests written back to back per connection before reading the responses. */
  readonly pipeline: number
  /** Request body size in bytes (0: no body). */
  readonly bodySize: number
  /** Send `Connection: close`, so every request opens a new connection. */
  readonly close: boolean
  /** More request header fields, sent with every request (warm-up and load). */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Over TLS: the servers taking part serve HTTPS with a throwaway certificate. */
  readonly tls?: boolean
  /** The wrk script in bench/wrk/, and the arguments given to its `init`. */
  readonly wrkScript: string
  readonly wrkArgs: ReadonlyArray<string>
  /** An HTTP/2 scenario, driven by h2load: this many concurrent streams per connection. */
  readonly http2?: { readonly streams: number } | undefined
  /** A WebSocket echo scenario: `path` is upgraded, messages of this size go back and forth. */
  readonly websocket?: { readonly messageSize: number } | undefined
}

/** The idle-connection scenario: memory held per open, idle keep-alive connection. */
export interface IdleScenario extends ScenarioBase {
  readonly kind: "idle"
  readonly connections: number
}

export type Scenario = LoadScenario | IdleScenario

/** The servers that serve HTTPS: they take part only in the scenarios that name them. */
export const TLS_SERVERS: ReadonlyArray<string> = ["node-https", "ours-tls"]

/** The servers that compress their responses: they too take part only in the scenarios that name them. */
export const COMPRESS_SERVERS: ReadonlyArray<string> = ["ours-compress", "fastify-compress"]

/** The servers of the HTTP/2 scenarios (in clear with prior knowledge, and over TLS). */
export const HTTP2_SERVERS: ReadonlyArray<string> = ["node-http2", "ours-http2"]
export const HTTP2_TLS_SERVERS: ReadonlyArray<string> = ["node-http2-tls", "ours-http2-tls"]

const DEDICATED_SERVERS: ReadonlyArray<string> = [...TLS_SERVERS, ...COMPRESS_SERVERS, ...HTTP2_SERVERS, ...HTTP2_TLS_SERVERS]

/** Whether the server named `server` takes part in `scenario`. */
export const takesPart = (scenario: Scenario, server: string): boolean =>
  scenario.servers === undefined ? !DEDICATED_SERVERS.includes(server) : scenario.servers.includes(server)

export const CONNECTIONS = 50
export const PIPELINE_DEPTH = 16
export const UPLOAD_SIZE = 64 * 1024
export const IDLE_CONNECTIONS = 5_000
export const WEBSOCKET_MESSAGE_SIZE = 64
export const HTTP2_STREAMS = 16

export const idleTitle = (connections: number): string =>
  `${connections.toLocaleString("en-US")} idle keep-alive connections`

export const scenarios: ReadonlyArray<Scenario> = [
  {
    kind: "load",
    name: "hello",
    title: `GET /hello, keep-alive, ${CONNECTIONS} connections`,
    measures: "per-request overhead of parsing, routing and writing a tiny response",
    method: "GET",
    path: "/hello",
    connections: CONNECTIONS,
    pipeline: 1,
    bodySize: 0,
    close: false,
    wrkScript: "get.lua",
    wrkArgs: []
  },
  {
    kind: "load",
    name: "pipelined",
    title: `GET /hello, ${PIPELINE_DEPTH} requests pipelined per connection, ${CONNECTIONS} connections`,
    measures: "throughput when many requests arrive in one read (batching, no per-request syscalls)",
    method: "GET",
    path: "/hello",
    connections: CONNECTIONS,
    pipeline: PIPELINE_DEPTH,
    bodySize: 0,
    close: false,
    wrkScript: "pipeline.lua",
    wrkArgs: [String(PIPELINE_DEPTH)]
  },
  {
    kind: "load",
    name: "upload",
    title: `POST /upload of a ${UPLOAD_SIZE / 1024} KiB body, keep-alive, ${CONNECTIONS} connections`,
    measures: "request-body reading and buffering",
    method: "POST",
    path: "/upload",
    connections: CONNECTIONS,
    pipeline: 1,
    bodySize: UPLOAD_SIZE,
    close: false,
    wrkScript: "upload.lua",
    wrkArgs: [String(UPLOAD_SIZE)]
  },
  {
    kind: "load",
    name: "large",
    title: `GET /large (1 MiB response), keep-alive, ${CONNECTIONS} connections`,
    measures: "writing large bodies: back-pressure and copies",
    method: "GET",
    path: "/large",
    connections: CONNECTIONS,
    pipeline: 1,
    bodySize: 0,
    close: false,
    wrkScript: "get.lua",
    wrkArgs: []
  },
  {
    kind: "load",
    name: "websocket",
    title: `WebSocket echo of ${WEBSOCKET_MESSAGE_SIZE}-byte messages, one in flight per connection, ${CONNECTIONS} connections`,
    measures: "messages per second through request.upgrade (ws framing) on each server's own upgrade path",
    servers: ["effect-platform", "ours-router"],
    method: "GET",
    path: "/ws",
    connections: CONNECTIONS,
    pipeline: 1,
    bodySize: 0,
    close: false,
    wrkScript: "get.lua",
    wrkArgs: [],
    websocket: { messageSize: WEBSOCKET_MESSAGE_SIZE }
  },
  {
    kind: "idle",
    name: "idle",
    title: idleTitle(IDLE_CONNECTIONS),
    measures: "memory held per open connection (RSS growth / connections) after one GET /hello each",
    connections: IDLE_CONNECTIONS
  },
  {
    kind: "load",
    name: "close",
    title: `GET /hello with Connection: close (a new connection per request), ${CONNECTIONS} connections`,
    measures: "connection accept and teardown cost",
    method: "GET",
    path: "/hello",
    connections: CONNECTIONS,
    pipeline: 1,
    bodySize: 0,
    close: true,
    wrkScript: "close.lua",
    wrkArgs: []
  },
  {
    kind: "load",
    name: "json-gzip",
    title: `GET /json (10 KiB of JSON, servers/common.ts) with Accept-Encoding: gzip, keep-alive, ${CONNECTIONS} connections`,
    measures: "serializing and gzip-compressing a JSON response per request (ResponseCompression vs @fastify/compress)",
    method: "GET",
    path: "/json",
    connections: CONNECTIONS,
    pipeline: 1,
    bodySize: 0,
    close: false,
    headers: { "Accept-Encoding": "gzip" },
    servers: COMPRESS_SERVERS,
    wrkScript: "get.lua",
    wrkArgs: []
  },
  {
    kind: "load",
    name: "tls-hello",
    title: `GET /hello over TLS, keep-alive, ${CONNECTIONS} connections`,
    measures: "per-request cost with TLS record encryption (handshakes amortized)",
    method: "GET",
    path: "/hello",
    connections: CONNECTIONS,
    pipeline: 1,
    bodySize: 0,
    close: false,
    tls: true,
    servers: TLS_SERVERS,
    wrkScript: "get.lua",
    wrkArgs: []
  },
  {
    kind: "load",
    name: "tls-close",
    title: `GET /hello over TLS with Connection: close (a new TLS connection per request), ${CONNECTIONS} connections`,
    measures: "TLS handshake, accept and teardown cost",
    method: "GET",
    path: "/hello",
    connections: CONNECTIONS,
    pipeline: 1,
    bodySize: 0,
    close: true,
    tls: true,
    servers: TLS_SERVERS,
    wrkScript: "close.lua",
    wrkArgs: []
  },
  ...([false, true] as const).map((tls): LoadScenario => ({
    kind: "load",
    name: tls ? "h2-tls-hello" : "h2-hello",
    title: `GET /hello over HTTP/2${tls ? " (TLS, ALPN h2)" : " (clear, prior knowledge)"}, ${CONNECTIONS} connections x ${HTTP2_STREAMS} streams`,
    measures: "per-request cost over HTTP/2 (h2load), against node:http2's own server",
    servers: tls ? HTTP2_TLS_SERVERS : HTTP2_SERVERS,
    method: "GET",
    path: "/hello",
    connections: CONNECTIONS,
    pipeline: 1,
    bodySize: 0,
    close: false,
    tls,
    http2: { streams: HTTP2_STREAMS },
    wrkScript: "",
    wrkArgs: []
  }))
]
