/**
 * The demo app the `effect-httpserver` command serves: one route per
 * feature of the server, as `shared/spec/demo-server.md` describes.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Result, Stream } from "effect"
import { parseByteSize } from "../Config/ByteSizeText.ts"
import { parseSeconds } from "../Config/SecondsText.ts"
import type { BodyError, InvalidBody } from "../Wire/HttpErrors.ts"
import type { HTTPServerRequest } from "../Request/HTTPServerRequest.ts"
import * as Response from "../Response/Response.ts"
import { HTTPServer } from "../Server/HTTPServer.ts"
import { events, webSocket } from "./DemoLongLived.ts"

const hello = Response.text("Hello world")
const notFound = Response.text("404 Not Found", { status: 404 })
const encoder = new TextEncoder()

const badRequest = (reason: string) => Response.text(`400 Bad Request: ${reason}\n`, { status: 400 })

/** `/echo`: the request as JSON, body read and parsed. */
const echo = (request: HTTPServerRequest): Effect.Effect<Response.Response, BodyError> =>
  Effect.gen(function*() {
    const body = yield* request.body
    const bodyArguments = yield* request.bodyArguments
    const args = yield* request.arguments
    const files = yield* request.files
    const filesJson: Record<string, Array<{ filename: string; contentType: string; body: string }>> = {}
    for (const name in files) {
      filesJson[name] = (files[name] ?? []).map((file) => ({
        filename: file.filename,
        contentType: file.contentType,
        body: Buffer.from(file.body.buffer, file.body.byteOffset, file.body.byteLength).toString("utf8")
      }))
    }
    return Response.json({
      method: request.method,
      uri: request.uri,
      path: request.path,
      query: request.query,
      version: request.version,
      remoteIp: request.remoteIp,
      protocol: request.protocol,
      host: request.host,
      headers: request.headers.entries(),
      arguments: args,
      queryArguments: request.queryArguments,
      bodyArguments,
      files: filesJson,
      cookies: request.cookies,
      bodyLength: body.byteLength,
      pid: process.pid
    })
  })

/**
 * `/stream`: reads the body as a stream, reporting the size of each piece.
 * `max_body_size` and `body_timeout` set this request's limits.
 */
const streamBody = (request: HTTPServerRequest): Effect.Effect<Response.Response, BodyError> =>
  Effect.gen(function*() {
    const maxBodySize = request.queryArguments["max_body_size"]?.[0]
    if (maxBodySize !== undefined) {
      const parsed = parseByteSize(maxBodySize)
      if (Result.isFailure(parsed)) return badRequest(`max_body_size: ${parsed.failure}`)
      yield* request.setMaxBodySize(parsed.success)
    }
    const bodyTimeout = request.queryArguments["body_timeout"]?.[0]
    if (bodyTimeout !== undefined) {
      const parsed = parseSeconds(bodyTimeout)
      if (Result.isFailure(parsed)) return badRequest(`body_timeout: ${parsed.failure}`)
      yield* request.setBodyTimeout(parsed.success)
    }
    const chunks: Array<number> = []
    let bodyLength = 0
    yield* Stream.runForEach(request.stream, (piece) =>
      Effect.sync(() => {
        chunks.push(piece.byteLength)
        bodyLength += piece.byteLength
      }))
    return Response.json({ chunks, bodyLength })
  })

/** `/large?size=N`: N bytes (default 512 KiB) with Content-Length. */
const large = (request: HTTPServerRequest): Response.Response => {
  const sizeText = request.queryArguments["size"]?.[0]
  const size = sizeText === undefined ? 524288 : Number(sizeText)
  if (!Number.isSafeInteger(size) || size < 0 || !/^\d+$/.test(sizeText ?? "0")) {
    return badRequest("size must be a non-negative integer")
  }
  return Response.bytes(Buffer.alloc(size, 0x61), { headers: { "Content-Type": "text/plain" } })
}

/** `/chunked`: `Hello world` in two chunks, with `Transfer-Encoding: chunked`. */
const chunked = Response.stream(Stream.make(encoder.encode("Hello "), encoder.encode("world")), {
  contentType: "text/plain; charset=utf-8"
})

/** `/slow?ms=N`: waits N milliseconds, then `done`. */
const slow = (request: HTTPServerRequest): Effect.Effect<Response.Response> => {
  const ms = Number(request.queryArguments["ms"]?.[0] ?? "0")
  if (!Number.isFinite(ms) || ms < 0) return Effect.succeed(badRequest("ms must be a non-negative number"))
  return Effect.as(Effect.sleep(Duration.millis(ms)), Response.text("done"))
}

/**
 * `/status?code=N&reason=TEXT`: status N (a final one, 200 to 599) with that
 * reason phrase (the standard one without `reason`), empty body.
 */
const status = (request: HTTPServerRequest): Response.Response => {
  const code = request.queryArguments["code"]?.[0] ?? ""
  if (!/^[2-5]\d\d$/.test(code)) return badRequest("code must be a status from 200 to 599")
  const reason = request.queryArguments["reason"]?.[0]
  if (reason !== undefined && !Response.isValidReasonPhrase(reason)) {
    return badRequest("reason must hold only tab, space, visible ASCII and Latin-1 characters")
  }
  return Response.empty({ status: Number(code), reason })
}

const healthy = Response.text("ok")
const draining = Response.text("draining", { status: 503 })

/** `/health`: 200 `ok` while serving, 503 `draining` once shutdown has begun. */
const health: Effect.Effect<Response.Response, never, HTTPServer> = Effect.map(
  Effect.service(HTTPServer),
  (server) => (server.isDraining() ? draining : healthy)
)

/**
 * The demo app's handler.
 *
 * @since 0.1.0
 * @category handlers
 */
export const handler = (
  request: HTTPServerRequest
): Effect.Effect<Response.Response, BodyError | InvalidBody, HTTPServer> => {
  const { method, path } = request
  switch (path) {
    case "/":
    case "/hello":
      return method === "GET" || method === "POST" ? Effect.succeed(hello) : Effect.succeed(notFound)
    case "/echo":
    case "//echo":
      return echo(request)
    case "/stream":
      return streamBody(request)
    case "/large":
      return Effect.succeed(method === "GET" ? large(request) : notFound)
    case "/chunked":
      return Effect.succeed(method === "GET" || method === "HEAD" ? chunked : notFound)
    case "/slow":
      return method === "GET" ? slow(request) : Effect.succeed(notFound)
    case "/fail":
      return method === "GET"
        ? Effect.die(new Error("the /fail route fails on purpose"))
        : Effect.succeed(notFound)
    case "/status":
      return Effect.succeed(method === "GET" ? status(request) : notFound)
    case "/health":
      return method === "GET" ? health : Effect.succeed(notFound)
    case "/events":
      return method === "GET" ? events : Effect.succeed(notFound)
    case "/ws":
      return method === "GET" ? webSocket(request) : Effect.succeed(notFound)
    default:
      return Effect.succeed(notFound)
  }
}
