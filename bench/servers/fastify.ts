/**
 * Peer: fastify 5 with its defaults (no logger); with BENCH_COMPRESS,
 * `@fastify/compress` with its defaults (the compressed-JSON scenario).
 */
import FastifyCompress from "@fastify/compress"
import Fastify from "fastify"
import { Readable } from "node:stream"
import { announce, HELLO, HELLO_PIECES, KEEP_ALIVE_TIMEOUT_MS, makeJsonValue, makeLargeBody, makeSmallJsonValue, portFromArgs } from "./common.ts"

const large = makeLargeBody()
const json = makeJsonValue()
const smallJson = makeSmallJsonValue()

const app = Fastify({ logger: false, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS })

if (process.env["BENCH_COMPRESS"] !== undefined) await app.register(FastifyCompress)

// Fastify only parses JSON and text bodies out of the box; buffer every other body whole.
app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => {
  done(null, body)
})

app.get("/hello", (_request, reply) => {
  reply.type("text/plain").send(HELLO)
})

// A stream as the reply: fastify pipes it to the response, one chunk per piece.
app.get("/chunked", (_request, reply) => {
  reply.type("text/plain").send(Readable.from(HELLO_PIECES))
})

app.post("/upload", (request, reply) => {
  const body = request.body
  const length = Buffer.isBuffer(body) ? body.length : typeof body === "string" ? Buffer.byteLength(body) : 0
  reply.type("text/plain").send(String(length))
})

app.get("/large", (_request, reply) => {
  reply.type("application/octet-stream").header("content-length", large.length).send(large)
})

app.get("/json", (_request, reply) => {
  reply.send(json)
})

app.get("/json-small", (_request, reply) => {
  reply.send(smallJson)
})

// Fastify's own parser reads `application/json` bodies (the catch-all parser above leaves them to it).
app.post("/echo-json", (request, reply) => {
  reply.send(request.body)
})

const port = portFromArgs()
await app.listen({ host: "127.0.0.1", port })
const address = app.server.address()
if (address === null || typeof address === "string") throw new Error("unexpected server address")
announce(address.port)
