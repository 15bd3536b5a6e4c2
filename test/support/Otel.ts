/**
 * Real OpenTelemetry for tests: the SDK with in-memory span and metric
 * exporters, installed through `@effect/opentelemetry`'s `NodeSdk.layer`,
 * with a metric registry of the test's own (so tests do not see each
 * other's metrics).
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  type MetricData,
  PeriodicExportingMetricReader
} from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer, Metric } from "effect"

export interface Otel {
  readonly spans: () => ReadonlyArray<ReadableSpan>
  /** Collects the metrics now and returns the latest of each, by name. */
  readonly metrics: Effect.Effect<ReadonlyArray<MetricData>>
  /** Tracing and metrics to the exporters above, and a fresh metric registry. */
  readonly layer: Layer.Layer<never>
}

export const makeOtel = (): Otel => {
  const spanExporter = new InMemorySpanExporter()
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 })
  const sdk = NodeSdk.layer(() => ({
    resource: { serviceName: "effect-httpserver-test" },
    spanProcessor: new SimpleSpanProcessor(spanExporter),
    metricReader: reader
  }))
  return {
    spans: () => spanExporter.getFinishedSpans(),
    metrics: Effect.promise(async () => {
      metricExporter.reset()
      await reader.forceFlush()
      return metricExporter.getMetrics().flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics))
    }),
    layer: Layer.provideMerge(Layer.orDie(sdk), Layer.succeed(Metric.MetricRegistry, new Map()))
  }
}
