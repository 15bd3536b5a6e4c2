/**
 * llhttp as a peer of the differential run: a real `node:http` server on
 * loopback (its defaults: strict parser, Host required, 16 KiB heads), each
 * input sent on its own connection and then half-closed. The server records,
 * per connection, every request whose body it read to the end (method, URL,
 * body), in order, and the parse error that stopped it (`clientError`: the
 * llhttp code and reason). Each request is answered once its body is read,
 * so the half-closed connection ends when the server is done with it.
 */
import * as Http from "node:http"
import * as Net from "node:net"
import type { SeenRequest, Verdict } from "./Verdict.ts"

interface ConnectionRecord {
  /** A response other than our 200s: node:http refusing a request itself (a missing Host). */
  refused: string | undefined
  /** How many of our 200s came before that 400. */
  answeredBeforeRefusal: number
  readonly requests: Array<{ method: string; target: string; parts: Array<Buffer>; complete: boolean; keepAlive: boolean }>
  error: { code: string; reason: string } | undefined
  tunnel: boolean
}

/** How long one connection may take before it counts as a hang. */
const CONNECTION_TIMEOUT_MILLIS = 5_000

export interface LlhttpPeer {
  readonly run: (inputs: ReadonlyArray<Buffer>, concurrency?: number) => Promise<Array<Verdict>>
  readonly close: () => Promise<void>
}

/** Starts the server; `close` stops it. */
export const startLlhttpPeer = async (): Promise<LlhttpPeer> => {
  /**
   * Records by the client's port (the server side's remote port), for the
   * client to collect; each server-side socket also holds its own, so that
   * a late event of a closed connection never lands in the record of a new
   * one that reuses the port.
   */
  const records = new Map<number, ConnectionRecord>()
  const bySocket = new WeakMap<Net.Socket, ConnectionRecord>()
  const recordOf = (socket: Net.Socket): ConnectionRecord => {
    let record = bySocket.get(socket)
    if (record !== undefined) return record
    const port = socket.remotePort ?? -1
    record = records.get(port)
    if (record === undefined) {
      record = { refused: undefined, answeredBeforeRefusal: 0, requests: [], error: undefined, tunnel: false }
      records.set(port, record)
    }
    bySocket.set(socket, record)
    return record
  }

  const server = Http.createServer((req, res) => {
    const entry = {
      method: req.method ?? "",
      target: req.url ?? "",
      parts: [] as Array<Buffer>,
      complete: false,
      // set by node:http from llhttp's verdict on the request
      keepAlive: (res as unknown as { shouldKeepAlive: boolean }).shouldKeepAlive
    }
    recordOf(req.socket).requests.push(entry)
    req.on("data", (chunk: Buffer) => entry.parts.push(chunk))
    req.on("end", () => {
      entry.complete = true
      res.end()
    })
    req.on("error", () => {
      // an aborted body: the entry stays incomplete
    })
  })
  // After the client's FIN, answer what was read whole, then close (the
  // default closes at once and may drop bodies still being delivered).
  const settable = server as unknown as { httpAllowHalfOpen: boolean }
  settable.httpAllowHalfOpen = true
  server.keepAliveTimeout = CONNECTION_TIMEOUT_MILLIS
  server.on("connection", (socket: Net.Socket) => {
    recordOf(socket)
  })
  server.on("clientError", (error: Error & { code?: string; reason?: string }, socket: Net.Socket) => {
    const record = recordOf(socket)
    // Only the first error counts; the socket is destroyed with it.
    record.error ??= { code: error.code ?? "unknown", reason: error.reason ?? error.message }
    socket.destroy()
  })
  server.on("connect", (req: Http.IncomingMessage, socket: Net.Socket) => {
    const record = recordOf(socket)
    record.requests.push({ method: req.method ?? "", target: req.url ?? "", parts: [], complete: true, keepAlive: true })
    record.tunnel = true
    socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as Net.AddressInfo).port

  const verdictOf = (record: ConnectionRecord | undefined, timedOut: boolean): Verdict => {
    if (record === undefined) return { requests: [], end: "rejected", detail: "no connection record" }
    const requests: Array<SeenRequest> = []
    for (const r of record.requests) {
      if (!r.complete) break
      requests.push({
        method: r.method,
        target: r.target,
        body: Buffer.concat(r.parts).toString("latin1"),
        keepAlive: r.keepAlive
      })
    }
    if (record.tunnel) return { requests, end: "tunnel" }
    if (record.refused !== undefined) {
      // node:http reads on past the request it refused: only those answered before the 400 count.
      return { requests: requests.slice(0, record.answeredBeforeRefusal), end: "rejected", detail: record.refused, status: 400 }
    }
    const unfinished = requests.length < record.requests.length
    if (record.error !== undefined) {
      // llhttp reports bytes running out mid-message as an error at EOF.
      if (record.error.code === "HPE_INVALID_EOF_STATE") return { requests, end: "incomplete" }
      return { requests, end: "rejected", detail: `${record.error.code}: ${record.error.reason}`, status: statusOf(record.error.code) }
    }
    if (timedOut) return { requests, end: "incomplete", detail: "timed out" }
    return { requests, end: unfinished ? "incomplete" : "clean" }
  }

  const one = (input: Buffer): Promise<Verdict> =>
    new Promise((resolve) => {
      const socket = Net.connect(port, "127.0.0.1")
      let localPort = -1
      let settled = false
      const timer = setTimeout(() => finish(true), CONNECTION_TIMEOUT_MILLIS)
      const finish = (timedOut: boolean) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        socket.destroy()
        const record = records.get(localPort)
        records.delete(localPort)
        resolve(verdictOf(record, timedOut))
      }
      socket.on("connect", () => {
        localPort = socket.localPort ?? -1
        socket.end(input)
      })
      // Responses are ours (200s) but for one: node:http answers a request
      // it refuses after parsing it (HTTP/1.1 without Host) with a 400 itself.
      let received = ""
      socket.on("data", (chunk: Buffer) => {
        if (received.length < 100_000) received += chunk.toString("latin1")
      })
      socket.on("end", () => {
        const record = records.get(localPort)
        const refusal = received.indexOf("HTTP/1.1 400 ")
        if (record !== undefined && refusal !== -1) {
          record.refused = "node:http: 400 (missing Host)"
          record.answeredBeforeRefusal = received.slice(0, refusal).split("HTTP/1.1 200 ").length - 1
        }
      })
      socket.on("error", () => finish(false))
      socket.on("close", () => finish(false))
    })

  const run = async (inputs: ReadonlyArray<Buffer>, concurrency = 16): Promise<Array<Verdict>> => {
    const out: Array<Verdict> = new Array(inputs.length)
    let next = 0
    const worker = async () => {
      while (next < inputs.length) {
        const i = next++
        out[i] = await one(inputs[i] as Buffer)
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, inputs.length) }, worker))
    return out
  }

  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })

  return { run, close }
}

/** The status `node:http` answers a parse error with (`_http_server.js`). */
const statusOf = (code: string): number =>
  code === "HPE_HEADER_OVERFLOW" ? 431 : code === "HPE_CHUNK_EXTENSIONS_OVERFLOW" ? 413 : 400
