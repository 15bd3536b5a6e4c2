/**
 * Our server, through the public API of src/index.ts, with its default
 * config; serving TLS with BENCH_TLS_CERT / BENCH_TLS_KEY (the TLS scenarios),
 * its handler wrapped in `ResponseCompression.middleware` with BENCH_COMPRESS
 * (the compressed-JSON scenario), with `proxyProtocol` on with
 * BENCH_PROXY_PROTOCOL (every connection begins with a PROXY header: the
 * PROXY scenarios), with `http2` on given BENCH_HTTP2 (the HTTP/2
 * scenarios).
 */
import { Cause, Effect, Stream } from "effect"
import { HTTPServer, Response, ResponseCompression } from "../../src/index.ts"
import { announce, HELLO, makeHelloPieceBytes, makeJsonValue, makeLargeBody, makeSmallJsonValue, portFromArgs } from "./common.ts"

const large = makeLargeBody()
const json = makeJsonValue()
const smallJson = makeSmallJsonValue()
const [firstPiece, secondPiece] = makeHelloPieceBytes()
// The same Content-Type as the peers send (ours would add `; charset=utf-8` by default).
const textPlain = { "content-type": "text/plain" }
// As node:http, uWebSockets.js and NodeHttpServer send it (ours would add `; charset=utf-8`).
const applicationJson = { "content-type": "application/json" }

const handler = (request: HTTPServer.Request): Effect.Effect<Response.Response, unknown> => {
  if (request.method === "GET" && request.path === "/hello") {
    return Effect.succeed(Response.text(HELLO, { headers: textPlain }))
  }
  if (request.method === "GET" && request.path === "/chunked") {
    // A stream of two ready chunks, without a length: sent chunked.
    return Effect.succeed(Response.stream(Stream.make(firstPiece, secondPiece), { headers: textPlain }))
  }
  if (request.method === "POST" && request.path === "/upload") {
    // Lent: the body is used only while answering (see `HTTPServerRequest.lentBody`).
    return Effect.map(request.lentBody, (body) => Response.text(String(body.length), { headers: textPlain }))
  }
  if (request.method === "GET" && request.path === "/large") {
    return Effect.succeed(Response.bytes(large))
  }
  if (request.method === "GET" && request.path === "/json") {
    return Effect.succeed(Response.json(json))
  }
  if (request.method === "GET" && request.path === "/json-small") {
    return Effect.succeed(Response.json(smallJson, { headers: applicationJson }))
  }
  if (request.method === "POST" && request.path === "/echo-json") {
    return request.json.pipe(
      Effect.map((value) => Response.json(value, { headers: applicationJson })),
      Effect.orElseSucceed(() => Response.text("invalid JSON", { status: 400, headers: textPlain }))
    )
  }
  return Effect.succeed(Response.text("Not Found", { status: 404 }))
}

const port = portFromArgs()

Effect.runFork(Effect.scoped(Effect.gen(function*() {
  const cert = process.env["BENCH_TLS_CERT"]
  const key = process.env["BENCH_TLS_KEY"]
  const ssl = cert !== undefined && key !== undefined ? { ssl: { cert, key } } : {}
  const served = process.env["BENCH_COMPRESS"] === undefined ? handler : ResponseCompression.middleware()(handler)
  const proxyProtocol = process.env["BENCH_PROXY_PROTOCOL"] === undefined ? {} : { proxyProtocol: true }
  const http2 = process.env["BENCH_HTTP2"] === undefined ? {} : { http2: true }
  const server = yield* HTTPServer.listen(served, { host: "127.0.0.1", port, ...ssl, ...proxyProtocol, ...http2 })
  if (server.address._tag !== "TcpAddress") {
    return yield* Effect.die(new Error("unexpected unix socket address"))
  }
  announce(server.address.port)
  yield* Effect.never
}).pipe(
  Effect.tapCause((cause) =>
    Effect.sync(() => {
      console.error(Cause.pretty(cause))
      process.exit(1)
    })
  )
)))
