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

/**
 * Checks that a server answers the routes as every peer must, each connection
 * beginning with `preamble` when given (a PROXY header). Returns the problems
 * found (empty when all is well).
 */
export const checkRoutes = async (
  port: number,
  tls = false,
  preamble?: string,
  /** Check the JSON routes too (a `--baseline` checkout's server may predate them). */
  jsonRoutes = true
): Promise<Array<string>> => {
  const problems: Array<string> = []
  const agent = keepAliveAgent(tls, 1, preamble)
  try {
    const hello = await send(port, agent, { method: "GET", path: "/hello", tls })
    if (hello.status !== 200) problems.push(`GET /hello: status ${hello.status}`)
    if (hello.body.toString("utf8") !== HELLO) problems.push(`GET /hello: body ${JSON.stringify(hello.body.toString("utf8").slice(0, 40))}`)
    if (!String(hello.headers["content-type"]).startsWith("text/plain")) {
      problems.push(`GET /hello: content-type ${String(hello.headers["content-type"])}`)
    }

    const upload = await send(port, agent, { method: "POST", path: "/upload", body: Buffer.alloc(UPLOAD_SIZE, 0x78), tls })
    if (upload.status !== 200) problems.push(`POST /upload: status ${upload.status}`)
    if (upload.body.toString("utf8") !== String(UPLOAD_SIZE)) {
      problems.push(`POST /upload: body ${JSON.stringify(upload.body.toString("utf8").slice(0, 40))}, expected "${UPLOAD_SIZE}"`)
    }

    const large = await send(port, agent, { method: "GET", path: "/large", tls })
    if (large.status !== 200) problems.push(`GET /large: status ${large.status}`)
    if (large.body.length !== LARGE_SIZE) problems.push(`GET /large: ${large.body.length} bytes, expected ${LARGE_SIZE}`)
    if (large.headers["content-length"] !== String(LARGE_SIZE)) {
      problems.push(`GET /large: content-length ${String(large.headers["content-length"])}, expected ${LARGE_SIZE}`)
    }

    if (!jsonRoutes) return problems
    const small = await send(port, agent, { method: "GET", path: "/json-small", tls })
    problems.push(...jsonProblems("GET /json-small", small, JSON.stringify(makeSmallJsonValue())))

    const echoBody = Buffer.from(ECHO_JSON_BODY)
    const echo = await send(port, agent, { method: "POST", path: "/echo-json", body: echoBody, contentType: "application/json", tls })
    problems.push(...jsonProblems("POST /echo-json", echo, ECHO_JSON_BODY))
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error))
  } finally {
    agent.destroy()
  }
  return problems
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
