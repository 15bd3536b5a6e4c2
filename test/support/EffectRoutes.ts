/**
 * Routes that the adapter's own tests and the NodeHttpServer parity table
 * both serve: one definition each, so that the two suites test the same app.
 */
import { Deferred, Effect, Schema, Stream } from "effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import { ClientAbort } from "effect/http/HttpServerError"
import * as HttpServerResponse from "effect/http/HttpServerResponse"

const encoder = new TextEncoder()

const Person = Schema.Struct({ name: Schema.String, age: Schema.Number })

/** `GET /hello`: `Hello world`. */
export const hello = HttpRouter.add("GET", "/hello", HttpServerResponse.text("Hello world"))

/** `GET /users/:id`: the path parameter as JSON. */
export const userById = HttpRouter.add(
  "GET",
  "/users/:id",
  Effect.map(HttpRouter.params, (params) => HttpServerResponse.jsonUnsafe({ id: params["id"] }))
)

/** `GET /whoami`: the client's address, the request's cookies and URL. */
export const whoami = HttpRouter.add(
  "GET",
  "/whoami",
  Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
    HttpServerResponse.jsonUnsafe({
      remoteAddress: request.remoteAddress._tag === "Some" ? request.remoteAddress.value : null,
      cookies: request.cookies,
      url: request.url
    }))
)

/** `POST /people`: a Schema-decoded JSON body, answered 201. */
export const people = HttpRouter.add(
  "POST",
  "/people",
  Effect.map(HttpServerRequest.schemaBodyJson(Person), (person) =>
    HttpServerResponse.jsonUnsafe({ greeting: `Hello ${person.name}`, nextAge: person.age + 1 }, { status: 201 }))
)

/** `POST /form`: the urlencoded body's parameters as JSON. */
export const form = HttpRouter.add(
  "POST",
  "/form",
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Effect.map(request.urlParamsBody, (params) => HttpServerResponse.jsonUnsafe(params.params)))
)

/** `GET /stream`: `one two three`, streamed in three pieces 5 ms apart. */
export const stream = HttpRouter.add(
  "GET",
  "/stream",
  HttpServerResponse.stream(
    Stream.fromIterable(["one ", "two ", "three"]).pipe(
      Stream.tap(() => Effect.sleep("5 millis")),
      Stream.map((piece) => encoder.encode(piece))
    ),
    { contentType: "text/plain" }
  )
)

/** `GET /cookies`: two `Set-Cookie` lines. */
export const cookies = HttpRouter.add(
  "GET",
  "/cookies",
  HttpServerResponse.text("cookies set").pipe(
    HttpServerResponse.setCookieUnsafe("session", "abc123", { httpOnly: true, path: "/" }),
    HttpServerResponse.setCookieUnsafe("theme", "dark")
  )
)

/** `GET /hang`: never answers; `interrupted` says whether its interruption was a client abort. */
export const hang = (interrupted: Deferred.Deferred<boolean>) =>
  HttpRouter.add(
    "GET",
    "/hang",
    Effect.never.pipe(
      Effect.onError((cause) =>
        Deferred.succeed(
          interrupted,
          cause.reasons.some((reason) => reason._tag === "Interrupt" && reason.annotations.has(ClientAbort.key))
        )
      ),
      Effect.as(HttpServerResponse.text("never"))
    )
  )

/** A WebSocket route's handler: echoes every frame as it came until the peer closes. */
export const echoWebSocket = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const socket = yield* request.upgrade
  yield* Effect.scoped(Effect.gen(function*() {
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    while (true) yield* writer.writeAll(yield* reader.pull)
  })).pipe(Effect.catchTag("SocketError", () => Effect.void))
  return HttpServerResponse.empty()
})

/** A multipart upload both suites send: a field `title` and a file `a.txt` of 10 bytes. */
export const multipartUpload = (() => {
  const boundary = "XyZ"
  const body = [
    `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nhello\r\n`,
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n`,
    `Content-Type: text/plain\r\n\r\n0123456789\r\n--${boundary}--\r\n`
  ].join("")
  return { body, contentType: `Content-Type: multipart/form-data; boundary=${boundary}` }
})()
