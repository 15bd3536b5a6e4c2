/**
 * Node's `http2` client for tests: a session to a test server (clear, prior
 * knowledge, or TLS with ALPN `h2`), requests on it, and the answers read
 * whole; closed with the test's Scope.
 */
import * as Http2 from "node:http2"
import { Effect, type Scope } from "effect"

export interface Http2Answer {
  readonly status: number
  readonly headers: Http2.IncomingHttpHeaders
  readonly body: Buffer
  /** The stream's RST_STREAM code (0: closed normally). */
  readonly rstCode: number
  readonly text: string
  readonly json: () => any
}

export interface Http2RequestOptions {
  readonly method?: string | undefined
  readonly path?: string | undefined
  readonly headers?: Http2.OutgoingHttpHeaders | undefined
  readonly body?: string | Uint8Array | undefined
}

/** A session to `127.0.0.1:port` that has the server's SETTINGS, closed (destroyed) with the Scope. */
export const connect = (
  port: number,
  options: { readonly tls?: boolean; readonly settings?: Http2.Settings } = {}
): Effect.Effect<Http2.ClientHttp2Session, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<Http2.ClientHttp2Session, Error>((resume) => {
      const session = Http2.connect(`${options.tls ? "https" : "http"}://127.0.0.1:${port}`, {
        rejectUnauthorized: false,
        settings: options.settings
      })
      // Once the server's SETTINGS are in (its maxConcurrentStreams, ...).
      session.once("remoteSettings", () => resume(Effect.succeed(session)))
      session.once("error", (error) => resume(Effect.fail(error)))
    }),
    (session) => Effect.sync(() => session.destroy())
  )

/** One request on `session`, its answer read whole (a reset stream gives its code, status 0). */
export const request = (
  session: Http2.ClientHttp2Session,
  options: Http2RequestOptions = {}
): Effect.Effect<Http2Answer> =>
  Effect.callback<Http2Answer>((resume) => {
    const stream = session.request({
      ":method": options.method ?? "GET",
      ":path": options.path ?? "/",
      ...options.headers
    })
    let headers: Http2.IncomingHttpHeaders = {}
    const chunks: Array<Buffer> = []
    stream.on("response", (h) => {
      headers = h
    })
    stream.on("data", (chunk: Buffer) => chunks.push(chunk))
    stream.on("error", () => {})
    stream.on("close", () => {
      const body = Buffer.concat(chunks)
      const text = body.toString("utf8")
      resume(Effect.succeed({
        status: Number(headers[":status"] ?? 0),
        headers,
        body,
        rstCode: stream.rstCode ?? 0,
        text,
        json: () => JSON.parse(text)
      }))
    })
    if (options.body !== undefined) stream.end(options.body)
    else stream.end()
  })
