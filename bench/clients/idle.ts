/**
 * Idle-connection client: `node idle.ts PORT COUNT [CONCURRENCY]`.
 *
 * Opens COUNT connections to 127.0.0.1:PORT, CONCURRENCY at a time; each sends
 * one `GET /hello`, reads the whole response and then stays open and silent.
 * When all are open it prints `IDLE_READY {"opened","failed","ms"}`. On a
 * `report` line on stdin it prints `IDLE_REPORT {"open","closedByServer"}`,
 * closes everything and exits (also when stdin ends).
 */
import * as Net from "node:net"
import * as Readline from "node:readline"

const port = Number(process.argv[2])
const count = Number(process.argv[3])
const concurrency = Number(process.argv[4] ?? 200)
if (!Number.isInteger(port) || !Number.isInteger(count) || !Number.isInteger(concurrency)) {
  console.error("usage: idle.ts PORT COUNT [CONCURRENCY]")
  process.exit(2)
}

const request = Buffer.from("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "latin1")
const headerEnd = Buffer.from("\r\n\r\n", "latin1")
const chunkedEnd = Buffer.from("0\r\n\r\n", "latin1")

/** Whether `data` holds one complete response (Content-Length or chunked framing). */
const complete = (data: Buffer): boolean => {
  const end = data.indexOf(headerEnd)
  if (end < 0) return false
  const head = data.subarray(0, end).toString("latin1")
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1]
  if (length !== undefined) return data.length - end - 4 >= Number(length)
  if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) return data.subarray(-chunkedEnd.length).equals(chunkedEnd)
  return true
}

const open: Array<Net.Socket> = []
let opened = 0
let failed = 0
let closedByServer = 0
let started = 0

const openOne = (): Promise<void> =>
  new Promise((resolve) => {
    let data = Buffer.alloc(0)
    let answered = false
    let settled = false
    const settle = (ok: boolean): void => {
      if (settled) return
      settled = true
      if (ok) opened++
      else failed++
      resolve()
    }
    const socket = Net.connect({ host: "127.0.0.1", port })
    socket.setNoDelay(true)
    socket.setTimeout(15_000, () => {
      if (!answered) socket.destroy()
    })
    socket.on("connect", () => socket.write(request))
    socket.on("data", (chunk: Buffer) => {
      if (answered) return
      data = Buffer.concat([data, chunk])
      if (complete(data)) {
        answered = true
        data = Buffer.alloc(0)
        socket.setTimeout(0)
        open.push(socket)
        settle(true)
      }
    })
    socket.on("error", () => settle(false))
    socket.on("close", () => {
      if (answered) closedByServer++
      settle(false)
    })
  })

const startedAt = performance.now()
const worker = async (): Promise<void> => {
  while (started < count) {
    started++
    await openOne()
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
process.stdout.write(`IDLE_READY ${JSON.stringify({ opened, failed, ms: Math.round(performance.now() - startedAt) })}\n`)

const finish = (): void => {
  for (const socket of open) socket.destroy()
  process.exit(0)
}

const lines = Readline.createInterface({ input: process.stdin })
lines.on("line", (line) => {
  if (line.trim() === "report") {
    process.stdout.write(`IDLE_REPORT ${JSON.stringify({ open: open.length - closedByServer, closedByServer })}\n`)
    finish()
  }
})
lines.on("close", finish)
