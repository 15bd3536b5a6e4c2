/** The benchmark scenarios: what each one sends, and how. */
import { ECHO_JSON_BODY, makeSmallJsonValue } from "./servers/common.ts"

const SMALL_JSON_SIZE = Buffer.byteLength(JSON.stringify(makeSmallJsonValue()))

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
  /** Request body size in bytes (0: no body); `x` bytes as `application/octet-stream` unless `body` says otherwise. */
  readonly bodySize: number
  /** The request body, when it is not `bodySize` bytes of `x` (its byte length is `bodySize`). */
  readonly body?: { readonly contentType: string; readonly text: string } | undefined
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
  /**
   * Driven by bench/clients/proxy.ts, not wrk (which cannot write before a
   * connection's first request): to a server run with `proxyProtocol`, each
   * connection begins with {@link PROXY_HEADER}; to the others, with the
   * request. The client warms up over its own connections.
   */
  readonly proxyClient?: true | undefined
  /**
   * The scenario this one is read against on the same server, when both run:
   * the same load with a whole response (`chunked` against `hello`: what
   * streaming the answer costs).
   */
  readonly readAgainst?: string | undefined
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

/** The servers that require a PROXY protocol header on each connection: wrk cannot drive them. */
export const PROXY_SERVERS: ReadonlyArray<string> = ["ours-proxy"]

/**
 * The PROXY protocol v1 header (HAProxy's spec, section 2.1) that every
 * connection to a PROXY server begins with: what a layer-4 balancer sends.
 */
export const PROXY_HEADER = "PROXY TCP4 127.0.0.2 127.0.0.1 40000 8080\r\n"

/** The servers of the HTTP/2 scenarios (in clear with prior knowledge, and over TLS). */
export const HTTP2_SERVERS: ReadonlyArray<string> = ["node-http2", "ours-http2"]
export const HTTP2_TLS_SERVERS: ReadonlyArray<string> = ["node-http2-tls", "ours-http2-tls"]

const DEDICATED_SERVERS: ReadonlyArray<string> = [...TLS_SERVERS, ...COMPRESS_SERVERS, ...PROXY_SERVERS, ...HTTP2_SERVERS, ...HTTP2_TLS_SERVERS]

/** Whether the server named `server` takes part in `scenario`. */
export const takesPart = (scenario: Scenario, server: string): boolean =>
  scenario.servers === undefined ? !DEDICATED_SERVERS.includes(server) : scenario.servers.includes(server)

export const CONNECTIONS = 50
/** The `few` scenario: a service behind a pool of a few keep-alive connections (a proxy, an API gateway). */
export const FEW_CONNECTIONS = 4
export const PIPELINE_DEPTH = 16
export const UPLOAD_SIZE = 64 * 1024
export const IDLE_CONNECTIONS = 5_000
export const WEBSOCKET_MESSAGE_SIZE = 64
export const HTTP2_STREAMS = 16

export const idleTitle = (connections: number): string =>
  `${connections.toLocaleString("en-US")} idle keep-alive connections`

/** What a keep-alive GET scenario driven by wrk's get.lua has (the others say what differs). */
const KEEP_ALIVE_GET = {
  kind: "load",
  method: "GET",
  pipeline: 1,
  bodySize: 0,
  close: false,
  wrkScript: "get.lua",
  wrkArgs: []
} as const

/** A GET scenario whose requests are pipelined, {@link PIPELINE_DEPTH} back to back per connection (wrk's pipeline.lua). */
const PIPELINED_GET = {
  ...KEEP_ALIVE_GET,
  pipeline: PIPELINE_DEPTH,
  wrkScript: "pipeline.lua",
  wrkArgs: [String(PIPELINE_DEPTH)]
} as const

export const scenarios: ReadonlyArray<Scenario> = [
  {
    ...KEEP_ALIVE_GET,
    name: "hello",
    title: `GET /hello, keep-alive, ${CONNECTIONS} connections`,
    measures: "per-request overhead of parsing, routing and writing a tiny response",
    path: "/hello",
    connections: CONNECTIONS
  },
  {
    ...PIPELINED_GET,
    name: "pipelined",
    title: `GET /hello, ${PIPELINE_DEPTH} requests pipelined per connection, ${CONNECTIONS} connections`,
    measures: "throughput when many requests arrive in one read (batching, no per-request syscalls)",
    path: "/hello",
    connections: CONNECTIONS
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
    ...KEEP_ALIVE_GET,
    name: "large",
    title: `GET /large (1 MiB response), keep-alive, ${CONNECTIONS} connections`,
    measures: "writing large bodies: back-pressure and copies",
    path: "/large",
    connections: CONNECTIONS
  },
  {
    ...KEEP_ALIVE_GET,
    name: "websocket",
    title: `WebSocket echo of ${WEBSOCKET_MESSAGE_SIZE}-byte messages, one in flight per connection, ${CONNECTIONS} connections`,
    measures: "messages per second through request.upgrade (ws framing) on each server's own upgrade path",
    servers: ["effect-platform", "ours-router"],
    path: "/ws",
    connections: CONNECTIONS,
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
    ...KEEP_ALIVE_GET,
    name: "json-gzip",
    title: `GET /json (10 KiB of JSON, servers/common.ts) with Accept-Encoding: gzip, keep-alive, ${CONNECTIONS} connections`,
    measures: "serializing and gzip-compressing a JSON response per request (ResponseCompression vs @fastify/compress)",
    path: "/json",
    connections: CONNECTIONS,
    headers: { "Accept-Encoding": "gzip" },
    servers: COMPRESS_SERVERS
  },
  {
    ...KEEP_ALIVE_GET,
    name: "json",
    title: `GET /json-small (a ${SMALL_JSON_SIZE}-byte JSON object serialized per request), keep-alive, ${CONNECTIONS} connections`,
    measures: "per-request cost of the most common API answer: a small object serialized to JSON",
    path: "/json-small",
    connections: CONNECTIONS
  },
  {
    kind: "load",
    name: "json-post",
    title: `POST /echo-json of a ${Buffer.byteLength(ECHO_JSON_BODY)}-byte JSON body, parsed and echoed as JSON, keep-alive, ${CONNECTIONS} connections`,
    measures: "reading a small request body, parsing it as JSON and serializing the answer",
    method: "POST",
    path: "/echo-json",
    connections: CONNECTIONS,
    pipeline: 1,
    bodySize: Buffer.byteLength(ECHO_JSON_BODY),
    body: { contentType: "application/json", text: ECHO_JSON_BODY },
    close: false,
    wrkScript: "post.lua",
    wrkArgs: ["application/json", ECHO_JSON_BODY]
  },
  {
    ...KEEP_ALIVE_GET,
    name: "few",
    title: `GET /hello, keep-alive, ${FEW_CONNECTIONS} connections`,
    measures: "per-request cost when few connections carry the load (fewer requests per read, more event-loop turns per request)",
    path: "/hello",
    connections: FEW_CONNECTIONS
  },
  {
    ...KEEP_ALIVE_GET,
    name: "chunked",
    title: `GET /chunked (Hello world streamed as two chunks), keep-alive, ${CONNECTIONS} connections`,
    measures: "per-request cost of a streamed (chunked) response whose chunks are ready at once; against hello: the cost of streaming",
    path: "/chunked",
    connections: CONNECTIONS,
    readAgainst: "hello"
  },
  {
    ...PIPELINED_GET,
    name: "chunked-pipelined",
    title: `GET /chunked, ${PIPELINE_DEPTH} requests pipelined per connection, ${CONNECTIONS} connections`,
    measures: "streamed responses when many requests arrive in one read; against pipelined: the cost of streaming",
    path: "/chunked",
    connections: CONNECTIONS,
    readAgainst: "pipelined"
  },
  {
    ...KEEP_ALIVE_GET,
    name: "hello-proxy",
    title: `GET /hello, keep-alive, ${CONNECTIONS} connections, by clients/proxy.ts: ours-proxy's connections begin with a PROXY v1 header, ours's without`,
    measures: "what reading a PROXY header per connection costs (proxyProtocol on) against the same load with it off",
    servers: ["ours", ...PROXY_SERVERS],
    path: "/hello",
    connections: CONNECTIONS,
    proxyClient: true
  },
  {
    kind: "load",
    name: "close-proxy",
    title: `GET /hello with Connection: close, ${CONNECTIONS} connections, by clients/proxy.ts: ours-proxy's connections begin with a PROXY v1 header, ours's without`,
    measures: "the PROXY header's cost when every request comes on a new connection (one header per request)",
    servers: ["ours", ...PROXY_SERVERS],
    method: "GET",
    path: "/hello",
    connections: CONNECTIONS,
    pipeline: 1,
    bodySize: 0,
    close: true,
    wrkScript: "close.lua",
    wrkArgs: [],
    proxyClient: true
  },
  {
    ...KEEP_ALIVE_GET,
    name: "tls-hello",
    title: `GET /hello over TLS, keep-alive, ${CONNECTIONS} connections`,
    measures: "per-request cost with TLS record encryption (handshakes amortized)",
    path: "/hello",
    connections: CONNECTIONS,
    tls: true,
    servers: TLS_SERVERS
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
