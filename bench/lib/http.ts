/** A small node:http client for the runner: checking a server's answers, and warming it up. */
import * as Http from "node:http"
import * as Http2 from "node:http2"
import * as Https from "node:https"
import * as Net from "node:net"
import * as Zlib from "node:zlib"
import { UPLOAD_SIZE } from "../scenarios.ts"
import type { LoadScenario } from "../scenarios.ts"
import { ECHO_JSON_BODY, HELLO, LARGE_SIZE, makeJsonValue, makeSmallJsonValue } from "../servers/common.ts"

interface Reply {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  readonly body: Buffer
}

interface RequestSpec {
  readonly method: string
  readonly path: string
  readonly body?: Buffer | undefined
  /** The body's Content-Type (default `application/octet-stream`). */
  readonly contentType?: string | undefined
  readonly close?: boolean | undefined
  /** Over TLS (the servers' throwaway certificate is accepted). */
  readonly tls?: boolean | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * A keep-alive agent, for HTTPS when `tls`; with `preamble` (plain HTTP only),
 * each of its connections begins with those bytes (a PROXY header).
 */
const keepAliveAgent = (tls: boolean, maxSockets: number, preamble?: string): Http.Agent => {
  if (tls) return new Https.Agent({ keepAlive: true, maxSockets, rejectUnauthorized: false })
  const agent = new Http.Agent({ keepAlive: true, maxSockets })
  if (preamble !== undefined) {
    agent.createConnection = (options) => {
      const socket = Net.connect({ host: options.host ?? "127.0.0.1", port: Number(options.port) })
      socket.write(preamble, "latin1")
      return socket
    }
  }
  return agent
}

const send = (port: number, agent: Http.Agent | false, spec: RequestSpec, timeoutMs = 10_000): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...spec.headers }
    if (spec.body !== undefined) {
      headers["content-type"] = spec.contentType ?? "application/octet-stream"
      headers["content-length"] = String(spec.body.length)
    }
    if (spec.close === true) headers["connection"] = "close"
    const request = (spec.tls === true ? Https.request : Http.request)(
      {
        host: "127.0.0.1",
        port,
        method: spec.method,
        path: spec.path,
        agent,
        headers,
        timeout: timeoutMs,
        ...(spec.tls === true ? { rejectUnauthorized: false } : {})
      },
      (response) => {
        const chunks: Array<Buffer> = []
        response.on("data", (chunk: Buffer) => chunks.push(chunk))
        response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }))
        response.on("error", reject)
      }
    )
    request.on("timeout", () => request.destroy(new Error(`${spec.method} ${spec.path}: timed out`)))
    request.on("error", reject)
    request.end(spec.body)
  })

/** A route as the runner names it: `GET /hello`. */
export const routeName = (method: string, path: string): string => `${method} ${path}`

/** What the runner sends to a route to check it, and what is wrong with the reply (nothing when all is well). */
interface RouteCheck {
  readonly method: string
  readonly path: string
  readonly body?: Buffer | undefined
  readonly contentType?: string | undefined
  readonly problems: (what: string, reply: Reply) => Array<string>
}

const statusProblems = (what: string, reply: Reply): Array<string> =>
  reply.status === 200 ? [] : [`${what}: status ${reply.status}`]

const textProblems = (what: string, reply: Reply, expected: string): Array<string> => [
  ...statusProblems(what, reply),
  ...reply.body.toString("utf8") === expected ? [] : [`${what}: body ${JSON.stringify(reply.body.toString("utf8").slice(0, 40))}, expected ${JSON.stringify(expected)}`],
  ...String(reply.headers["content-type"]).startsWith("text/plain") ? [] : [`${what}: content-type ${String(reply.headers["content-type"])}`]
]

/** The routes every HTTP/1.1 server answers (bench/README.md), in the order they are checked. */
const ROUTE_CHECKS: ReadonlyArray<RouteCheck> = [
  { method: "GET", path: "/hello", problems: (what, reply) => textProblems(what, reply, HELLO) },
  {
    method: "POST",
    path: "/upload",
    body: Buffer.alloc(UPLOAD_SIZE, 0x78),
    problems: (what, reply) => textProblems(what, reply, String(UPLOAD_SIZE))
  },
  {
    method: "GET",
    path: "/large",
    problems: (what, reply) => [
      ...statusProblems(what, reply),
      ...reply.body.length === LARGE_SIZE ? [] : [`${what}: ${reply.body.length} bytes, expected ${LARGE_SIZE}`],
      ...reply.headers["content-length"] === String(LARGE_SIZE) ? [] : [
        `${what}: content-length ${String(reply.headers["content-length"])}, expected ${LARGE_SIZE}`
      ]
    ]
  },
  { method: "GET", path: "/json-small", problems: (what, reply) => jsonProblems(what, reply, JSON.stringify(makeSmallJsonValue())) },
  {
    method: "POST",
    path: "/echo-json",
    body: Buffer.from(ECHO_JSON_BODY),
    contentType: "application/json",
    problems: (what, reply) => jsonProblems(what, reply, ECHO_JSON_BODY)
  },
  {
    // node:http's client has taken the chunks apart: the body is what they carried.
    method: "GET",
    path: "/chunked",
    problems: (what, reply) => [
      ...textProblems(what, reply, HELLO),
      ...reply.headers["transfer-encoding"] === "chunked" ? [] : [
        `${what}: transfer-encoding ${String(reply.headers["transfer-encoding"])}, expected chunked`
      ]
    ]
  }
]

/**
 * Checks that a server answers the routes as every peer must, each connection
 * beginning with `preamble` when given (a PROXY header), all but the routes
 * it is known to lack (see {@link routesLacking}). Returns the problems found
 * (empty when all is well).
 */
export const checkRoutes = async (
  port: number,
  tls = false,
  preamble?: string,
  lacking: ReadonlySet<string> = new Set()
): Promise<Array<string>> => {
  const problems: Array<string> = []
  const agent = keepAliveAgent(tls, 1, preamble)
  try {
    for (const check of ROUTE_CHECKS) {
      const what = routeName(check.method, check.path)
      if (lacking.has(what)) continue
      const reply = await send(port, agent, { method: check.method, path: check.path, body: check.body, contentType: check.contentType, tls })
      problems.push(...check.problems(what, reply))
    }
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error))
  } finally {
    agent.destroy()
  }
  return problems
}

/**
 * The routes (as {@link routeName} names them) that the server on `port`
 * answers with 404: a `--baseline` checkout's server may predate some.
 */
export const routesLacking = async (port: number): Promise<Set<string>> => {
  const lacking = new Set<string>()
  const agent = keepAliveAgent(false, 1)
  try {
    for (const check of ROUTE_CHECKS) {
      const reply = await send(port, agent, { method: check.method, path: check.path, body: check.body, contentType: check.contentType })
      if (reply.status === 404) lacking.add(routeName(check.method, check.path))
    }
  } finally {
    agent.destroy()
  }
  return lacking
}

/** What is wrong with `reply` as a 200 JSON answer of `expected`. */
const jsonProblems = (what: string, reply: Reply, expected: string): Array<string> => [
  ...reply.status === 200 ? [] : [`${what}: status ${reply.status}`],
  ...String(reply.headers["content-type"]).startsWith("application/json") ? [] : [
    `${what}: content-type ${String(reply.headers["content-type"])}`
  ],
  ...reply.body.toString("utf8") === expected ? [] : [`${what}: body ${JSON.stringify(reply.body.toString("utf8").slice(0, 60))}`]
]

/**
 * Checks that a compressing server answers `GET /json` with
 * `Accept-Encoding: gzip` in gzip, decoding to the JSON every peer sends.
 */
/** The HTTP/2 servers' answer to GET /hello, over node:http2's client (prior knowledge, or TLS with ALPN h2). */
export const checkHttp2Hello = (port: number, tls: boolean): Promise<Array<string>> =>
  new Promise((resolve) => {
    const session = Http2.connect(`${tls ? "https" : "http"}://127.0.0.1:${port}`, { rejectUnauthorized: false })
    const done = (problems: Array<string>) => {
      session.destroy()
      resolve(problems)
    }
    session.on("error", (error) => done([`HTTP/2 GET /hello: ${error.message}`]))
    const stream = session.request({ ":path": "/hello" })
    let status = 0
    const chunks: Array<Buffer> = []
    stream.on("response", (headers) => {
      status = Number(headers[":status"])
    })
    stream.on("data", (chunk: Buffer) => chunks.push(chunk))
    stream.on("error", (error) => done([`HTTP/2 GET /hello: ${error.message}`]))
    stream.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8")
      done([
        ...(status === 200 ? [] : [`HTTP/2 GET /hello: status ${status}`]),
        ...(body === HELLO ? [] : [`HTTP/2 GET /hello: body ${JSON.stringify(body.slice(0, 40))}`])
      ])
    })
    stream.end()
  })

export const checkCompressedJson = async (port: number): Promise<Array<string>> => {
  const agent = keepAliveAgent(false, 1)
  try {
    const reply = await send(port, agent, { method: "GET", path: "/json", headers: { "accept-encoding": "gzip" } })
    if (reply.status !== 200) return [`GET /json: status ${reply.status}`]
    if (reply.headers["content-encoding"] !== "gzip") {
      return [`GET /json: content-encoding ${String(reply.headers["content-encoding"])}, expected gzip`]
    }
    const text = Zlib.gunzipSync(reply.body).toString("utf8")
    return text === JSON.stringify(makeJsonValue()) ? [] : [`GET /json: body ${JSON.stringify(text.slice(0, 40))}`]
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)]
  } finally {
    agent.destroy()
  }
}

/**
 * Sends the scenario's request from `connections` concurrent connections for
 * `ms` milliseconds (without pipelining), so that the server's code is
 * compiled before the measurement. Returns the number of responses.
 */
export const warmUp = async (
  port: number,
  scenario: Pick<LoadScenario, "method" | "path" | "bodySize" | "body" | "close" | "tls" | "headers">,
  connections: number,
  ms: number
): Promise<number> => {
  if (ms <= 0) return 0
  const tls = scenario.tls === true
  const agent = scenario.close ? false : keepAliveAgent(tls, connections)
  const spec: RequestSpec = {
    method: scenario.method,
    path: scenario.path,
    body: scenario.body !== undefined
      ? Buffer.from(scenario.body.text)
      : scenario.bodySize > 0
      ? Buffer.alloc(scenario.bodySize, 0x78)
      : undefined,
    contentType: scenario.body?.contentType,
    close: scenario.close,
    tls,
    headers: scenario.headers
  }
  const deadline = Date.now() + ms
  let responses = 0
  let failures = 0
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline) {
      try {
        await send(port, agent, spec)
        responses++
      } catch (error) {
        if (++failures > 100) throw error
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: connections }, worker))
  } finally {
    if (agent !== false) agent.destroy()
  }
  return responses
}
