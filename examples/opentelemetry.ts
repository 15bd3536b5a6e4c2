/**
 * Tracing, metrics and the access log with OpenTelemetry: spans printed to
 * the console, metrics on a Prometheus scrape endpoint.
 *
 * Run: `npx node examples/opentelemetry.ts`, then
 * `curl localhost:8888/hello` (an access line on the console now, the spans
 * within 5 s) and `curl localhost:9464/metrics` (`http_server_requests_total`,
 * `http_server_request_duration_bucket`, ...). The options come from the
 * environment too: `HTTP_PORT=9000 npx node examples/opentelemetry.ts`.
 *
 * Needs `@effect/opentelemetry` and the OpenTelemetry SDK
 * (`@opentelemetry/sdk-trace-base`, `@opentelemetry/sdk-metrics`,
 * `@opentelemetry/exporter-prometheus`, ...): dev dependencies here.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus"
import { BatchSpanProcessor, ConsoleSpanExporter } from "@opentelemetry/sdk-trace-base"
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { HTTPServer, Response, ServerMetrics } from "../src/index.ts"

const app = (request: HTTPServer.Request) =>
  Effect.gen(function*() {
    if (request.path === "/hello") {
      // A span of the handler's own, a child of the request's span.
      yield* Effect.sleep("5 millis").pipe(Effect.withSpan("prepare greeting"))
      return Response.text("Hello world")
    }
    return Response.text("not found", { status: 404 })
  })

const Telemetry = NodeSdk.layer(() => ({
  resource: { serviceName: "effect-httpserver-example" },
  spanProcessor: new BatchSpanProcessor(new ConsoleSpanExporter()),
  metricReader: new PrometheusExporter({ port: Number(process.env["METRICS_PORT"] ?? 9464) })
}))

const ServerLive = HTTPServer.layerConfig(app, { port: 8888, accessLog: true }).pipe(
  Layer.provide(ServerMetrics.layer),
  Layer.provide(Telemetry)
)

NodeRuntime.runMain(Layer.launch(ServerLive))
