/**
 * What a handler sees of a request: arguments from the query and from form
 * bodies, uploaded files, headers, cookies, the path (Tornado's
 * HTTPServerTest, HTTPConnectionTest.test_multipart_form), through the demo
 * app's `/echo`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as RawClient from "../support/RawClient.ts"
import { serveDemo } from "../support/TestServer.ts"

const FORM = "Content-Type: application/x-www-form-urlencoded"

/** Sends one request to the demo app, returns the `/echo` JSON. */
const echo = (request: string | Buffer) =>
  Effect.gen(function*() {
    const { port } = yield* serveDemo()
    const client = yield* RawClient.connect(port)
    yield* client.write(request)
    const response = yield* client.readResponse()
    expect(response.status).toBe(200)
    expect(response.header("Content-Type")).toBe("application/json; charset=utf-8")
    return response.json()
  })

describe("multipart/form-data", () => {
  it.live("Tornado's test_multipart_form: Latin-1 header, UTF-8 argument, filename and file body", () =>
    Effect.gen(function*() {
      const body = Buffer.concat([
        Buffer.from("Content-Disposition: form-data; name=argument\r\n\r\n"),
        Buffer.from("\u00e1", "utf8"),
        Buffer.from("\r\n--1234567890\r\n"),
        Buffer.from("Content-Disposition: form-data; name=\"files\"; filename=\"\u00f3\"\r\n\r\n", "utf8"),
        Buffer.from("\u00fa", "utf8"),
        Buffer.from("\r\n--1234567890--\r\n")
      ])
      const head = Buffer.concat([
        Buffer.from("POST /echo HTTP/1.0\r\nContent-Type: multipart/form-data; boundary=1234567890\r\n"),
        Buffer.from([...Buffer.from("X-Header-encoding-test: "), 0xe9, 0x0d, 0x0a]),
        Buffer.from(`Content-Length: ${body.length}\r\n\r\n`)
      ])
      const data = yield* echo(Buffer.concat([head, body]))
      expect(data.headers).toContainEqual(["X-Header-encoding-test", "\u00e9"])
      expect(data.bodyArguments).toEqual({ argument: ["\u00e1"] })
      expect(data.arguments).toEqual({ argument: ["\u00e1"] })
      expect(data.files).toEqual({
        files: [{ filename: "\u00f3", contentType: "application/unknown", body: "\u00fa" }]
      })
    }))

  it.live("a well-formed upload with a content type, a field, and a query argument", () =>
    Effect.gen(function*() {
      const body = [
        "--XyZ",
        "Content-Disposition: form-data; name=\"field\"",
        "",
        "value",
        "--XyZ",
        "Content-Disposition: form-data; name=\"upload\"; filename=\"notes.txt\"",
        "Content-Type: text/plain",
        "",
        "line 1\r\nline 2",
        "--XyZ--",
        ""
      ].join("\r\n")
      const data = yield* echo(
        RawClient.withBody("POST", "/echo?field=q", body, "Content-Type: multipart/form-data; boundary=XyZ")
      )
      expect(data.arguments).toEqual({ field: ["q", "value"] })
      expect(data.queryArguments).toEqual({ field: ["q"] })
      expect(data.bodyArguments).toEqual({ field: ["value"] })
      expect(data.files).toEqual({
        upload: [{ filename: "notes.txt", contentType: "text/plain", body: "line 1\r\nline 2" }]
      })
    }))
})

describe("urlencoded bodies", () => {
  it.live("are body arguments, merged after the query arguments", () =>
    Effect.gen(function*() {
      const data = yield* echo(RawClient.withBody("POST", "/echo?a=1", "a=2&foo=bar", FORM))
      expect(data.queryArguments).toEqual({ a: ["1"] })
      expect(data.bodyArguments).toEqual({ a: ["2"], foo: ["bar"] })
      expect(data.arguments).toEqual({ a: ["1", "2"], foo: ["bar"] })
      expect(data.bodyLength).toBe(11)
    }))

  it.live("empty values are kept (Tornado's test_empty_post_parameters)", () =>
    Effect.gen(function*() {
      const data = yield* echo(RawClient.withBody("POST", "/echo", "foo=&bar=", FORM))
      expect(data.bodyArguments).toEqual({ foo: [""], bar: [""] })
    }))

  it.live("UTF-8, raw or percent-encoded (Tornado's test_post_encodings, utf8)", () =>
    Effect.gen(function*() {
      const text = "chinese: \u5f20\u4e09"
      const raw = yield* echo(RawClient.withBody("POST", "/echo", Buffer.from(`data=${text}`, "utf8"), FORM))
      expect(raw.bodyArguments).toEqual({ data: [text] })
      const quoted = yield* echo(RawClient.withBody("POST", "/echo", `data=${encodeURIComponent(text)}`, FORM))
      expect(quoted.bodyArguments).toEqual({ data: [text] })
    }))

  it.live("a body that is not a form is not parsed into arguments", () =>
    Effect.gen(function*() {
      const data = yield* echo(RawClient.withBody("POST", "/echo", "foo=bar", "Content-Type: text/plain"))
      expect(data.bodyArguments).toEqual({})
      expect(data.bodyLength).toBe(7)
    }))
})

describe("query strings", () => {
  it.live("UTF-8 percent-escapes (Tornado's test_query_string_encoding)", () =>
    Effect.gen(function*() {
      const data = yield* echo(RawClient.get("/echo?foo=%C3%A9"))
      expect(data.queryArguments).toEqual({ foo: ["\u00e9"] })
      expect(data.query).toBe("foo=%C3%A9")
    }))

  it.live("+ is a space", () =>
    Effect.gen(function*() {
      const data = yield* echo(RawClient.get("/echo?q=a+b%2Bc"))
      expect(data.queryArguments).toEqual({ q: ["a b+c"] })
    }))

  it.live("empty values are kept (Tornado's test_empty_query_string)", () =>
    Effect.gen(function*() {
      const data = yield* echo(RawClient.get("/echo?foo=&foo="))
      expect(data.queryArguments).toEqual({ foo: ["", ""] })
      expect(data.arguments).toEqual({ foo: ["", ""] })
    }))

  it.live("repeated names keep every value in order", () =>
    Effect.gen(function*() {
      const data = yield* echo(RawClient.get("/echo?x=1&y=2&x=3"))
      expect(data.queryArguments).toEqual({ x: ["1", "3"], y: ["2"] })
    }))
})

describe("the request line and head", () => {
  it.live("//echo is a path, not a protocol-relative URL (Tornado's test_double_slash)", () =>
    Effect.gen(function*() {
      const data = yield* echo(RawClient.get("//echo"))
      expect(data.path).toBe("//echo")
      expect(data.uri).toBe("//echo")
      expect(data.arguments).toEqual({})
    }))

  it.live("method, uri, path, query, version, host, remoteIp, protocol", () =>
    Effect.gen(function*() {
      const data = yield* echo("PUT /echo?a=1 HTTP/1.1\r\nHost: example.com:8080\r\nContent-Length: 0\r\n\r\n")
      expect(data).toMatchObject({
        method: "PUT",
        uri: "/echo?a=1",
        path: "/echo",
        query: "a=1",
        version: "HTTP/1.1",
        host: "example.com:8080",
        remoteIp: "127.0.0.1",
        protocol: "http",
        pid: process.pid
      })
    }))

  it.live("headers: in the order received, names as sent, values as Latin-1", () =>
    Effect.gen(function*() {
      const request = Buffer.concat([
        Buffer.from("GET /echo HTTP/1.1\r\nHost: h\r\nx-lower: 1\r\nX-Header: "),
        Buffer.from([0xe9]),
        Buffer.from("\r\nX-Multi: a\r\nX-MULTI: b\r\n\r\n")
      ])
      const data = yield* echo(request)
      expect(data.headers).toEqual([["Host", "h"], ["x-lower", "1"], ["X-Header", "\u00e9"], ["X-Multi", "a"], [
        "X-MULTI",
        "b"
      ]])
    }))

  it.live("cookies", () =>
    Effect.gen(function*() {
      const data = yield* echo(RawClient.get("/echo", "Cookie: session=abc; theme=dark"))
      expect(data.cookies).toEqual({ session: "abc", theme: "dark" })
    }))

  it.live("an absolute-form target: the path and the host come from it", () =>
    Effect.gen(function*() {
      const data = yield* echo("GET http://example.org/echo?z=9 HTTP/1.1\r\nHost: other\r\n\r\n")
      expect(data.path).toBe("/echo")
      expect(data.queryArguments).toEqual({ z: ["9"] })
      expect(data.host).toBe("example.org")
    }))
})
