/**
 * HTTP/1.1 load client for the PROXY scenarios: `node proxy.ts JSON` with a
 * {@link ProxyJob}.
 *
 * wrk cannot write anything before a connection's first request, and a server
 * run with `proxyProtocol` closes a connection that does not begin with a
 * PROXY header. So this client keeps `connections` connections busy over raw
 * `node:net` sockets, each beginning with `preamble` (the PROXY header, or
 * nothing for the server it is compared with, so both get the same load):
 * keep-alive, one request in flight per connection; or, with `close`, one
 * request per connection, a new connection as soon as its answer is read.
 * Requests are ready-made bytes and answers are framed by `Content-Length`
 * only (what the benchmark's servers send), so that the client, which shares
 * the machine with the server, does little work per request. It warms up for
 * `warmupSeconds`, then counts for `seconds`, and prints
 * `PROXY_RESULT {LoadResult}`.
 */
import * as Net from "node:net"
import { loadResult, measureWindow } from "./result.ts"

export interface ProxyJob {
  readonly port: number
  readonly connections: number
  readonly seconds: number
  readonly warmupSeconds: number
  /** What each connection begins with (latin1): the PROXY header, or "". */
  readonly preamble: string
  /** The whole request, head and body (latin1). */
  readonly request: string
  /** The request says `Connection: close`: one request per connection. */
  readonly close: boolean
}

const job = JSON.parse(process.argv[2] ?? "{}") as ProxyJob
const request = Buffer.from(job.request, "latin1")
const opening = Buffer.concat([Buffer.from(job.preamble, "latin1"), request])
const HEAD_END = Buffer.from("\r\n\r\n", "latin1")
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i

const errorDetail: Record<string, number> = {}
const fail = (kind: string): void => void (errorDetail[kind] = (errorDetail[kind] ?? 0) + 1)

let measuring = false
let stopped = false
let responses = 0
const latenciesUs: Array<number> = []
const sockets = new Set<Net.Socket>()

/** Opens one connection and keeps it busy (or, with `close`, hands over to a new one after each answer). */
const open = (): void => {
  const socket = Net.connect({ host: "127.0.0.1", port: job.port, noDelay: true })
  sockets.add(socket)
  let sentAt = performance.now()
  /** An answer cut by the end of a read. */
  let pending: Buffer | undefined
  /** The bytes of the answer being read (head and body), once its head is whole; -1 before. */
  let answerLength = -1
  let status = 0
  let done = false

  const finish = (): void => {
    done = true
    sockets.delete(socket)
    socket.destroy()
  }

  /** Counts the answer just read (during the measurement), then asks again, or hands over to a new connection. */
  const answered = (): void => {
    if (measuring) {
      if (status >= 200 && status < 400) responses++
      else fail(`status ${status}`)
      latenciesUs.push(Math.round((performance.now() - sentAt) * 1000))
    }
    if (job.close) {
      finish()
      if (!stopped) open()
    } else if (!stopped) {
      sentAt = performance.now()
      socket.write(request)
    }
  }

  socket.write(opening)
  socket.on("data", (chunk: Buffer) => {
    let data = chunk
    if (pending !== undefined) {
      data = Buffer.concat([pending, chunk])
      pending = undefined
    }
    let pos = 0
    while (pos < data.length) {
      if (answerLength < 0) {
        const end = data.indexOf(HEAD_END, pos)
        if (end < 0) break
        const head = data.toString("latin1", pos, end)
        status = Number(head.slice(9, 12))
        const length = CONTENT_LENGTH.exec(head)
        if (length === null) fail("an answer without Content-Length")
        answerLength = end + 4 - pos + (length === null ? 0 : Number(length[1]))
      }
      if (data.length - pos < answerLength) break
      pos += answerLength
      answerLength = -1
      answered()
      if (done) return
    }
    if (pos < data.length) pending = data.subarray(pos)
  })
  /** Why the connection failed, when it did. */
  let failure = "closed by the server"
  socket.on("error", (error: NodeJS.ErrnoException) => {
    failure = error.code ?? error.message.slice(0, 60)
  })
  socket.on("close", () => {
    if (done) return
    sockets.delete(socket)
    if (stopped) return
    // Closed before its answer (or, keep-alive, at all): counted, and replaced so that the load stays the same.
    fail(failure)
    open()
  })
}

for (let i = 0; i < job.connections; i++) open()
const seconds = await measureWindow(job.warmupSeconds, job.seconds, () => {
  measuring = true
}, () => {
  measuring = false
  stopped = true
})
for (const socket of sockets) socket.destroy()

const result = loadResult("proxy", responses, seconds, latenciesUs, errorDetail)
process.stdout.write(`PROXY_RESULT ${JSON.stringify(result)}\n`)
process.exit(0)
