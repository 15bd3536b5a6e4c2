/**
 * The "physical limit" row: a canned responder on the same I/O path as ours
 * (accepted paused, read into the shared buffer of src/Accept/SharedReadBuffer.ts,
 * one socket write per read) that does no HTTP work. It finds request ends
 * (`\r\n\r\n`), tells the routes apart by a byte or two, skips a POST's
 * `Content-Length` bytes, and answers with ready-made responses (for
 * `/json-small` and `/echo-json`, the bytes the other servers serialize per
 * request; for `/chunked`, the head and both chunks of the others' streamed
 * answer). What it costs is what the socket I/O and the event loop cost;
 * what ours costs on top of it is HTTP work (parsing, the request object,
 * the handler, the serializer).
 *
 * It is no HTTP server: it serves wrk's and the runner's requests only.
 */
import * as Net from "node:net"
import { readIntoSharedBuffer } from "../../src/Accept/SharedReadBuffer.ts"
import { announce, ECHO_JSON_BODY, HELLO, HELLO_PIECES, makeLargeBody, makeSmallJsonValue, portFromArgs } from "./common.ts"

const HEAD_END = Buffer.from("\r\n\r\n", "latin1")
// As wrk and curl write it, and as the runner's node:http client does.
const CONTENT_LENGTH = [Buffer.from("Content-Length: ", "latin1"), Buffer.from("content-length: ", "latin1")]
const CONNECTION_CLOSE = Buffer.from("onnection: close", "latin1")
const MAX_BATCH = 64

const large = makeLargeBody()
const smallJson = JSON.stringify(makeSmallJsonValue())

let date = new Date().toUTCString()
setInterval(() => {
  date = new Date().toUTCString()
  helloBatches.clear()
  chunkedBatches.clear()
  largeHead = makeLargeHead()
  jsonSmallResponse = makeJsonResponse(smallJson)
  echoJsonResponse = makeJsonResponse(ECHO_JSON_BODY)
}, 1000).unref()

const response = (contentType: string, body: string | number, close = false): string =>
  `HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\nContent-Length: ${typeof body === "string" ? Buffer.byteLength(body) : body}\r\n` +
  `${close ? "Connection: close\r\n" : ""}Date: ${date}\r\n\r\n${typeof body === "string" ? body : ""}`

/** `/chunked`'s answer: `HELLO_PIECES` as two chunks and the last, empty one (RFC 9112 section 7.1). */
const chunkedResponse = (): string =>
  `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nDate: ${date}\r\n\r\n` +
  HELLO_PIECES.map((piece) => `${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`).join("") + "0\r\n\r\n"

/** One response repeated: `batch(n)` is n of them back to back, made when first needed (and again each second for the Date). */
interface RepeatedResponse {
  readonly batch: (n: number) => Buffer
  readonly clear: () => void
}

const repeatedResponse = (make: () => string): RepeatedResponse => {
  const batches: Array<Buffer> = []
  return {
    batch: (n) => {
      let batch = batches[n]
      if (batch === undefined) {
        batch = Buffer.from(make().repeat(n), "latin1")
        batches[n] = batch
      }
      return batch
    },
    clear: () => {
      batches.length = 0
    }
  }
}

const helloBatches = repeatedResponse(() => response("text/plain", HELLO))
const chunkedBatches = repeatedResponse(chunkedResponse)
const makeLargeHead = (): Buffer => Buffer.from(response("application/octet-stream", large.length), "latin1")
let largeHead = makeLargeHead()
const makeJsonResponse = (json: string): Buffer => Buffer.from(response("application/json", json), "utf8")
let jsonSmallResponse = makeJsonResponse(smallJson)
let echoJsonResponse = makeJsonResponse(ECHO_JSON_BODY)

/** The digits after `Content-Length: ` in `head`, or 0. */
const contentLength = (head: Buffer): number => {
  let at = -1
  for (const name of CONTENT_LENGTH) {
    at = head.indexOf(name)
    if (at >= 0) {
      at += name.length
      break
    }
  }
  if (at < 0) return 0
  let n = 0
  for (let i = at; i < head.length; i++) {
    const digit = head[i]! - 0x30
    if (digit < 0 || digit > 9) break
    n = n * 10 + digit
  }
  return n
}

const serve = (accepted: Net.Socket): void => {
  /** A request head cut by the end of a read, copied out of the shared buffer. */
  let carry: Buffer | undefined
  /** Body bytes of the current POST still to come. */
  let skip = 0
  let uploadLength = 0
  /** The current POST is to `/echo-json` (else `/upload`). */
  let echo = false
  let closing = false
  const out: Array<Buffer> = []
  /** Answers to requests of one route in a row (hello or chunked), written as one batch. */
  let repeating = helloBatches
  let repeated = 0

  const flushRepeated = (): void => {
    while (repeated > 0) {
      const n = Math.min(repeated, MAX_BATCH)
      out.push(repeating.batch(n))
      repeated -= n
    }
  }

  const repeat = (response: RepeatedResponse): void => {
    if (response !== repeating) {
      flushRepeated()
      repeating = response
    }
    repeated++
  }

  /** A POST's body has all come: its answer (the echo is the one body every client sends). */
  const postAnswered = (): void => {
    flushRepeated()
    out.push(echo ? echoJsonResponse : Buffer.from(response("text/plain", String(uploadLength)), "latin1"))
  }

  const onRead = (bytes: Buffer): void => {
    if (closing) return
    let data = bytes
    if (carry !== undefined) {
      data = Buffer.concat([carry, bytes])
      carry = undefined
    }
    let pos = 0
    while (pos < data.length) {
      if (skip > 0) {
        const n = Math.min(skip, data.length - pos)
        skip -= n
        pos += n
        if (skip === 0) postAnswered()
        continue
      }
      const end = data.indexOf(HEAD_END, pos)
      if (end < 0) {
        carry = Buffer.from(data.subarray(pos))
        break
      }
      // Searches look at this head only, never at what follows it.
      const head = data.subarray(pos, end)
      if (data[pos] === 0x50) { // "POST /upload" or "POST /echo-json"
        echo = data[pos + 6] === 0x65
        uploadLength = contentLength(head)
        skip = uploadLength
        if (skip === 0) postAnswered()
      } else if (data[pos + 5] === 0x6a) { // "GET /json-small"
        flushRepeated()
        out.push(jsonSmallResponse)
      } else if (data[pos + 5] === 0x63) { // "GET /chunked"
        repeat(chunkedBatches)
      } else if (data[pos + 5] === 0x6c) { // "GET /large"
        flushRepeated()
        out.push(largeHead, large)
      } else if (head.indexOf(CONNECTION_CLOSE) >= 0) {
        // The client learns from the answer that the connection ends (RFC 9112 section 9.6).
        flushRepeated()
        out.push(Buffer.from(response("text/plain", HELLO, true), "latin1"))
        closing = true
        break
      } else {
        repeat(helloBatches)
      }
      pos = end + 4
    }
    flushRepeated()
    if (out.length === 1) socket.write(out[0]!)
    else if (out.length > 1) {
      socket.cork()
      for (const chunk of out) socket.write(chunk)
      socket.uncork()
    }
    out.length = 0
    if (closing) socket.end()
  }

  // Half-open allowed, as ours: after a `Connection: close` answer the client closes first.
  const socket = readIntoSharedBuffer(accepted, true, onRead) ?? accepted
  if (socket === accepted) accepted.on("data", onRead).resume()
  socket.on("end", () => socket.end())
  socket.on("error", () => socket.destroy())
}

const server = Net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, serve)
server.listen(portFromArgs(), "127.0.0.1", () => {
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("unexpected server address")
  announce(address.port)
})
