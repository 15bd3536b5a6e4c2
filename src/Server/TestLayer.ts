/**
 * What the test layers of `HTTPServer` and `EffectHttpAdapter` share: the
 * config a test server runs with, and an `effect/http` `HttpClient` whose
 * relative URLs go to that server.
 *
 * The client has its own connection pool (an undici `Agent`), made when the
 * layer is built and destroyed when its scope closes, so that a test leaves
 * no socket behind: not the pool of `fetch`, which is global and keeps idle
 * connections open for seconds after the test.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type { ServerConfigInput } from "../Config/ServerConfig.ts"

/**
 * The config of a test server: loopback, a free port, and a short
 * `shutdownTimeout` (2 s) so that a test that leaves a request in flight does
 * not hold its scope for 30 s; every field can be overridden.
 *
 * @since 0.1.0
 * @category testing
 */
export const testServerConfig = (config?: ServerConfigInput): ServerConfigInput => ({
  host: "127.0.0.1",
  port: 0,
  shutdownTimeout: "2 seconds",
  ...config
})

/**
 * An `HttpClient` that sends relative URLs to `baseUrl` (absolute ones go
 * where they say), over a connection pool of its own that lives as long as
 * the layer. For an `https` base URL it accepts the server's certificate
 * whoever signed it (a test server's certificate is self-signed).
 *
 * @since 0.1.0
 * @category testing
 */
export const layerClient = (baseUrl: string): Layer.Layer<HttpClient.HttpClient> => {
  const dispatcher = NodeHttpClient.layerDispatcherOptions(
    baseUrl.startsWith("https:") ? { connect: { rejectUnauthorized: false } } : undefined
  )
  const prefixed = Layer.effect(HttpClient.HttpClient)(
    Effect.map(Effect.service(HttpClient.HttpClient), (client) =>
      HttpClient.mapRequest(client, HttpClientRequest.prependUrl(baseUrl)))
  )
  return prefixed.pipe(Layer.provide(NodeHttpClient.layerUndiciNoDispatcher), Layer.provide(Layer.fresh(dispatcher)))
}
