/**
 * Peer of the HTTP/2 scenarios: node:http2's own server, no framework
 * (`http2.createServer`, h2c with prior knowledge; `createSecureServer` with
 * ALPN `h2` given BENCH_TLS_CERT / BENCH_TLS_KEY).
 */
import * as Fs from "node:fs"
import * as Http2 from "node:http2"
import { announce, HELLO, portFromArgs } from "./common.ts"

const helloLength = Buffer.byteLength(HELLO)

const onStream = (stream: Http2.ServerHttp2Stream, headers: Http2.IncomingHttpHeaders): void => {
  stream.on("error", () => {})
  if (headers[":method"] === "GET" && headers[":path"] === "/hello") {
    stream.respond({ ":status": 200, "content-type": "text/plain", "content-length": helloLength })
    stream.end(HELLO)
  } else {
    stream.respond({ ":status": 404, "content-type": "text/plain", "content-length": 9 })
    stream.end("Not Found")
  }
}

const cert = process.env["BENCH_TLS_CERT"]
const key = process.env["BENCH_TLS_KEY"]
const server = cert !== undefined && key !== undefined
  ? Http2.createSecureServer({ cert: Fs.readFileSync(cert), key: Fs.readFileSync(key) })
  : Http2.createServer()
server.on("stream", onStream)

server.listen(portFromArgs(), "127.0.0.1", () => {
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("unexpected server address")
  announce(address.port)
})
