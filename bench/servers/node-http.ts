/** Peer: plain node:http, no framework; node:https with BENCH_TLS_CERT / BENCH_TLS_KEY (the TLS scenarios). */
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import { announce, HELLO, HELLO_PIECES, KEEP_ALIVE_TIMEOUT_MS, makeLargeBody, makeSmallJsonValue, portFromArgs } from "./common.ts"

const large = makeLargeBody()
const smallJson = makeSmallJsonValue()
const helloLength = String(Buffer.byteLength(HELLO))
const largeLength = String(large.length)

const sendJson = (res: Http.ServerResponse, value: unknown): void => {
  const body = JSON.stringify(value)
  res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) })
  res.end(body)
}

const handler: Http.RequestListener = (req, res) => {
  if (req.method === "GET" && req.url === "/hello") {
    res.writeHead(200, { "content-type": "text/plain", "content-length": helloLength })
    res.end(HELLO)
  } else if (req.method === "GET" && req.url === "/chunked") {
    // No Content-Length: node:http sends each write as a chunk.
    res.writeHead(200, { "content-type": "text/plain" })
    res.write(HELLO_PIECES[0])
    res.end(HELLO_PIECES[1])
  } else if (req.method === "POST" && req.url === "/upload") {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const body = String(Buffer.concat(chunks).length)
      res.writeHead(200, { "content-type": "text/plain", "content-length": String(Buffer.byteLength(body)) })
      res.end(body)
    })
  } else if (req.method === "GET" && req.url === "/json-small") {
    sendJson(res, smallJson)
  } else if (req.method === "POST" && req.url === "/echo-json") {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      let value: unknown
      try {
        value = JSON.parse(Buffer.concat(chunks).toString("utf8"))
      } catch {
        res.writeHead(400, { "content-type": "text/plain", "content-length": "12" })
        res.end("invalid JSON")
        return
      }
      sendJson(res, value)
    })
  } else if (req.method === "GET" && req.url === "/large") {
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": largeLength })
    res.end(large)
  } else {
    res.writeHead(404, { "content-type": "text/plain", "content-length": "9" })
    res.end("Not Found")
  }
}

const cert = process.env["BENCH_TLS_CERT"]
const key = process.env["BENCH_TLS_KEY"]
const server = cert !== undefined && key !== undefined
  ? Https.createServer(
    { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, cert: Fs.readFileSync(cert), key: Fs.readFileSync(key) },
    handler
  )
  : Http.createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, handler)

server.listen(portFromArgs(), "127.0.0.1", () => {
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("unexpected server address")
  announce(address.port)
})
