/**
 * `HTTPServer.layerConfig` and `EffectHttpAdapter.layerConfig`: a server
 * whose options come from the environment (through the current
 * `ConfigProvider`), over real sockets.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer } from "effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as EffectHttpAdapter from "../../src/EffectHttp/EffectHttpAdapter.ts"
import * as HTTPServer from "../../src/Server/HTTPServer.ts"
import * as Response from "../../src/Response/Response.ts"
import * as RawClient from "../support/RawClient.ts"

const env = (variables: Record<string, string>) =>
  Layer.succeed(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: variables }))

const ENV = { HTTP_HOST: "127.0.0.1", HTTP_PORT: "0", HTTP_MAX_BODY_SIZE: "16", HTTP_SHUTDOWN_TIMEOUT: "1" }

const upload: HTTPServer.Handler<unknown> = (request) =>
  Effect.map(request.body, (body) => Response.text(`got ${body.byteLength}`))

/** POSTs `size` bytes on a fresh connection; the status and body. */
const post = (port: number, size: number) =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* RawClient.connect(port)
    yield* client.write(RawClient.withBody("POST", "/upload", "x".repeat(size), "Connection: close"))
    const response = yield* client.readResponse({ timeoutMillis: 5000 })
    return `${response.status} ${response.status === 200 ? response.text : ""}`.trim()
  }))

describe("HTTPServer.layerConfig", () => {
  it.effect("listens where the environment says, under its limits", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(HTTPServer.layerConfig(upload).pipe(Layer.provide(env(ENV))))
      const server = Context.get(context, HTTPServer.HTTPServer)
      expect(server.address).toMatchObject({ _tag: "TcpAddress", hostname: "127.0.0.1" })
      const port = server.address._tag === "TcpAddress" ? server.address.port : 0
      expect(yield* post(port, 16)).toBe("200 got 16")
      expect(yield* post(port, 17)).toBe("413")
    }))

  it.effect("a bad variable fails the layer with a ConfigError naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(HTTPServer.layerConfig(upload).pipe(Layer.provide(env({ ...ENV, HTTP_PORT: "70000" }))))
      )
      expect(error._tag).toBe("ConfigError")
      expect(error.message).toBe("HTTP_PORT: must be an integer from 0 to 65535, got 70000")
    }))
})

describe("EffectHttpAdapter.layerConfig", () => {
  const routes = HttpRouter.add(
    "POST",
    "/upload",
    Effect.map(
      Effect.flatMap(Effect.service(HttpServerRequest.HttpServerRequest), (request) => request.text),
      (text) => HttpServerResponse.text(`got ${text.length}`)
    )
  )

  it.effect("serves an effect/http app with the environment's options", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        HttpRouter.serve(routes, { disableListenLog: true, disableLogger: true }).pipe(
          Layer.provideMerge(EffectHttpAdapter.layerConfig()),
          Layer.provide(env(ENV))
        )
      )
      const address = Context.get(context, HttpServer.HttpServer)
      const port = address.address._tag === "UnixPathAddress" ? 0 : address.address.port
      expect(yield* post(port, 16)).toBe("200 got 16")
      expect(yield* post(port, 17)).toBe("413")
    }))
})
