/**
 * The WebSocket examples, run as a user would (`node examples/...` in a
 * child process): an echo and a chat room, on a core handler with
 * `request.detach` and on an `effect/http` app through the adapter.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { listeningLine, spawnProcess } from "../support/Processes.ts"
import * as WsClient from "../support/WsClient.ts"

const examples = ["examples/websocket-detach.ts", "examples/websocket-chat.ts"]

for (const example of examples) {
  describe(example, () => {
    it.live("/echo echoes; /chat sends each message to everyone in the room", () =>
      Effect.gen(function*() {
        const server = yield* spawnProcess(process.execPath, [example], { env: { PORT: "0" } })
        const line = yield* listeningLine(server)
        const url = line.replace(/^listening on http:\/\/(\[[^\]]+\]|[^/:]+)/, "ws://127.0.0.1")

        const echo = yield* WsClient.connect(`${url}/echo`, { perMessageDeflate: true })
        expect(yield* echo.roundTrip("hello")).toEqual({ data: "hello", binary: false })
        expect(yield* echo.roundTrip(Buffer.from([7, 8]))).toEqual({ data: Buffer.from([7, 8]), binary: true })

        // A member hearing its own message is in the room (it listens before it speaks).
        const ada = yield* WsClient.connect(`${url}/chat`)
        expect((yield* ada.roundTrip("Ada joined")).data).toBe("Ada joined")
        const bob = yield* WsClient.connect(`${url}/chat`)
        expect((yield* bob.roundTrip("Bob joined")).data).toBe("Bob joined")
        expect((yield* ada.next()).data).toBe("Bob joined")
        yield* ada.send("hello Bob")
        expect((yield* ada.next()).data).toBe("hello Bob")
        expect((yield* bob.next()).data).toBe("hello Bob")
        expect(yield* bob.close(1000)).toBe(1000)
      }), 30_000)
  })
}
