/**
 * The draining signal: a health route that answers 503 once shutdown has
 * begun, and Server-Sent Events that send a last event and end at SIGTERM,
 * so the process exits in milliseconds instead of at `shutdownTimeout`.
 * Run: `npx node examples/draining.ts`, then `curl -N localhost:8888/events`
 * and stop the server (Ctrl-C): the stream ends with `event: shutdown`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Duration, Effect, Layer, Schedule, Stream } from "effect"
import { HTTPServer, Response } from "../src/index.ts"

const encoder = new TextEncoder()

const app = (request: HTTPServer.Request) =>
  Effect.gen(function*() {
    // The server running this handler, as a service.
    const server = yield* HTTPServer.HTTPServer
    switch (request.path) {
      case "/health":
        return server.isDraining() ? Response.text("draining", { status: 503 }) : Response.text("ok")
      case "/events": {
        const events = Stream.fromSchedule(Schedule.spaced(Duration.seconds(1))).pipe(
          Stream.map((n) => `data: ${n}\n\n`),
          Stream.interruptWhen(server.draining),
          Stream.concat(Stream.make("event: shutdown\ndata:\n\n")),
          Stream.map((text) => encoder.encode(text))
        )
        return Response.stream(events, { contentType: "text/event-stream" })
      }
      default:
        return Response.text("not found", { status: 404 })
    }
  })

HTTPServer.layer(app, { port: 8888 }).pipe(Layer.launch, NodeRuntime.runMain)
