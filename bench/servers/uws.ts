/**
 * Peer: uWebSockets.js (C++ under a JavaScript API), as its users write it.
 *
 * It runs under the Node of bench/peers/uws/ (the runner starts it there,
 * from the type-stripped build, with that folder as its working directory):
 * the `uwebsockets` package's binaries load on this machine only under
 * Node 20/21, and the project's own Node is 24. The module is loaded from the
 * working directory, so this file has no static import of it (the project's
 * typecheck and CI do not install the peer) and names the few parts of its
 * API it uses below.
 */
import { createRequire } from "node:module"
import * as Path from "node:path"
import { announce, HELLO, HELLO_PIECES, makeLargeBody, makeSmallJsonValue, portFromArgs } from "./common.ts"

interface HttpResponse {
  writeStatus(status: string): HttpResponse
  writeHeader(key: string, value: string): HttpResponse
  write(chunk: string | Uint8Array): boolean
  end(body?: string | Uint8Array): HttpResponse
  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): HttpResponse
  onAborted(handler: () => void): HttpResponse
  cork(callback: () => void): HttpResponse
}

type RouteHandler = (res: HttpResponse, req: unknown) => void

interface TemplatedApp {
  get(pattern: string, handler: RouteHandler): TemplatedApp
  post(pattern: string, handler: RouteHandler): TemplatedApp
  any(pattern: string, handler: RouteHandler): TemplatedApp
  listen(host: string, port: number, callback: (listenSocket: unknown) => void): TemplatedApp
}

interface UWS {
  App(): TemplatedApp
  us_socket_local_port(socket: unknown): number
}

const uws = createRequire(Path.join(process.cwd(), "package.json"))("uwebsockets") as UWS

const large = makeLargeBody()
const smallJson = makeSmallJsonValue()

/** Calls `done` with the whole request body, once its last chunk has come (and the client has not gone). */
const readBody = (res: HttpResponse, done: (body: Buffer) => void): void => {
  // The body arrives in chunks valid only during the callback: keep copies, join them at the end.
  const chunks: Array<Buffer> = []
  let aborted = false
  res.onAborted(() => {
    aborted = true
  })
  res.onData((chunk, isLast) => {
    chunks.push(Buffer.from(new Uint8Array(chunk)))
    if (isLast && !aborted) done(Buffer.concat(chunks))
  })
}

uws.App()
  .get("/hello", (res) => {
    res.writeStatus("200 OK").writeHeader("Content-Type", "text/plain").end(HELLO)
  })
  .get("/chunked", (res) => {
    // After a write uWebSockets.js sends the body chunked; the cork makes the head and both chunks one send.
    res.cork(() => {
      res.writeStatus("200 OK").writeHeader("Content-Type", "text/plain")
      res.write(HELLO_PIECES[0])
      res.end(HELLO_PIECES[1])
    })
  })
  .post("/upload", (res) => {
    readBody(res, (body) => {
      res.cork(() => {
        res.writeStatus("200 OK").writeHeader("Content-Type", "text/plain").end(String(body.length))
      })
    })
  })
  .get("/json-small", (res) => {
    res.writeStatus("200 OK").writeHeader("Content-Type", "application/json").end(JSON.stringify(smallJson))
  })
  .post("/echo-json", (res) => {
    readBody(res, (body) => {
      let value: unknown
      try {
        value = JSON.parse(body.toString("utf8"))
      } catch {
        res.cork(() => {
          res.writeStatus("400 Bad Request").writeHeader("Content-Type", "text/plain").end("invalid JSON")
        })
        return
      }
      res.cork(() => {
        res.writeStatus("200 OK").writeHeader("Content-Type", "application/json").end(JSON.stringify(value))
      })
    })
  })
  .get("/large", (res) => {
    res.writeStatus("200 OK").writeHeader("Content-Type", "application/octet-stream").end(large)
  })
  .any("/*", (res) => {
    res.writeStatus("404 Not Found").writeHeader("Content-Type", "text/plain").end("Not Found")
  })
  .listen("127.0.0.1", portFromArgs(), (listenSocket) => {
    if (listenSocket === false) {
      console.error("uWebSockets.js could not listen")
      process.exit(1)
    }
    announce(uws.us_socket_local_port(listenSocket))
  })
