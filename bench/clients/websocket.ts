/**
 * WebSocket echo client: `node websocket.ts JSON` with a {@link WebSocketJob}.
 *
 * Opens `connections` WebSockets (the `ws` package, no compression) to the
 * URL; each sends a `messageSize`-byte text message, waits for its echo and
 * sends the next, for `seconds` after a `warmupSeconds` warm-up. Prints
 * `WS_RESULT {LoadResult}`: echoes per second, round-trip latency
 * percentiles, errors.
 */
import WebSocket from "ws"
import { loadResult, measureWindow } from "./result.ts"

export interface WebSocketJob {
  readonly url: string
  readonly connections: number
  readonly seconds: number
  readonly warmupSeconds: number
  readonly messageSize: number
}

const job = JSON.parse(process.argv[2] ?? "{}") as WebSocketJob
const message = "x".repeat(job.messageSize)
const errorDetail: Record<string, number> = {}
const fail = (kind: string) => void (errorDetail[kind] = (errorDetail[kind] ?? 0) + 1)

let measuring = false
let stopped = false
let echoes = 0
const latenciesUs: Array<number> = []

const session = (): Promise<WebSocket | undefined> =>
  new Promise((resolve) => {
    const ws = new WebSocket(job.url, { perMessageDeflate: false })
    let sentAt = 0
    const sendOne = () => {
      sentAt = performance.now()
      ws.send(message)
    }
    ws.on("open", () => {
      resolve(ws)
      sendOne()
    })
    ws.on("message", () => {
      if (measuring) {
        echoes++
        latenciesUs.push(Math.round((performance.now() - sentAt) * 1000))
      }
      if (!stopped) sendOne()
    })
    ws.on("error", (error) => {
      fail(error.message.slice(0, 60))
      resolve(undefined)
    })
    ws.on("close", () => {
      if (!stopped) fail("closed by the server")
    })
  })

const sockets = (await Promise.all(Array.from({ length: job.connections }, session)))
const seconds = await measureWindow(job.warmupSeconds, job.seconds, () => {
  measuring = true
}, () => {
  measuring = false
  stopped = true
})
for (const ws of sockets) ws?.terminate()

const result = loadResult("ws", echoes, seconds, latenciesUs, errorDetail)
process.stdout.write(`WS_RESULT ${JSON.stringify(result)}\n`)
process.exit(0)
