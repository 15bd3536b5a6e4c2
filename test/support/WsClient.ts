/**
 * A WebSocket client for tests, on the `ws` package: connect (ws:// or
 * wss://, any certificate accepted), send, await the next message, close.
 * Everything is an Effect; the socket is terminated when the Scope that
 * opened it closes.
 *
 * ```ts
 * const ws = yield* WsClient.connect(`ws://127.0.0.1:${port}/ws`)
 * expect(yield* ws.roundTrip("hello")).toEqual({ data: "hello", binary: false })
 * ```
 */
import { Effect, type Scope } from "effect"
import WebSocket from "ws"

/** A message received: text as a string, binary as a Buffer. */
export interface Message {
  readonly data: string | Buffer
  readonly binary: boolean
}

export interface ConnectOptions {
  /** Offer permessage-deflate (default: no). */
  readonly perMessageDeflate?: boolean
  /** Subprotocols to offer (`Sec-WebSocket-Protocol`). */
  readonly protocols?: ReadonlyArray<string>
  /** Give up (the Effect dies) after this long. Default 2000 ms. */
  readonly timeoutMillis?: number
}

const DEFAULT_TIMEOUT = 2000

export class WsConnection {
  readonly socket: WebSocket
  private readonly inbox: Array<Message> = []
  private readonly waiters = new Set<() => void>()
  private closeCode: number | undefined = undefined

  constructor(socket: WebSocket) {
    this.socket = socket
    socket.on("message", (data: Buffer, binary: boolean) => {
      this.inbox.push({ data: binary ? Buffer.from(data) : data.toString("utf8"), binary })
      this.notify()
    })
    socket.on("close", (code: number) => {
      this.closeCode = code
      this.notify()
    })
    socket.on("error", () => {}) // "close" follows
  }

  /** The extensions the server accepted (`Sec-WebSocket-Extensions`), `""` for none. */
  get extensions(): string {
    return this.socket.extensions
  }

  /** The subprotocol the server chose (`Sec-WebSocket-Protocol`), `""` for none. */
  get protocol(): string {
    return this.socket.protocol
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter()
  }

  private waitFor<A>(what: string, attempt: () => A | undefined, timeoutMillis = DEFAULT_TIMEOUT): Effect.Effect<A> {
    return Effect.callback<A>((resume) => {
      const check = () => {
        const result = attempt()
        if (result !== undefined) {
          finish()
          resume(Effect.succeed(result))
        } else if (this.closeCode !== undefined) {
          finish()
          resume(Effect.die(new Error(`${what}: the connection closed (code ${this.closeCode})`)))
        }
      }
      const timer = setTimeout(() => {
        finish()
        resume(Effect.die(new Error(`${what}: nothing after ${timeoutMillis} ms`)))
      }, timeoutMillis)
      const finish = () => {
        this.waiters.delete(check)
        clearTimeout(timer)
      }
      this.waiters.add(check)
      check()
      return Effect.sync(finish)
    })
  }

  send(data: string | Uint8Array): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      this.socket.send(data, { binary: typeof data !== "string" }, (error) =>
        resume(error === undefined || error === null ? Effect.void : Effect.die(error)))
    })
  }

  /** The next message received. */
  next(timeoutMillis?: number): Effect.Effect<Message> {
    return this.waitFor("waiting for a message", () => this.inbox.shift(), timeoutMillis)
  }

  /** Sends one message and waits for the next one received. */
  roundTrip(data: string | Uint8Array): Effect.Effect<Message> {
    return Effect.andThen(this.send(data), this.next())
  }

  /** Starts the closing handshake; the close code the server answered with. */
  close(code = 1000): Effect.Effect<number> {
    return Effect.suspend(() => {
      if (this.closeCode === undefined) this.socket.close(code)
      return this.waitFor("closing", () => this.closeCode)
    })
  }

  /** Waits for the server to close the connection; its close code (1006 without a close frame). */
  closed(timeoutMillis?: number): Effect.Effect<number> {
    return this.waitFor("waiting for the close", () => this.closeCode, timeoutMillis)
  }
}

/** Connects (the Effect dies if the handshake fails); terminated when the Scope closes. */
export const connect = (url: string, options: ConnectOptions = {}): Effect.Effect<WsConnection, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<WsConnection>((resume) => {
      const socket = new WebSocket(url, [...(options.protocols ?? [])], {
        perMessageDeflate: options.perMessageDeflate ?? false,
        rejectUnauthorized: false,
        handshakeTimeout: options.timeoutMillis ?? DEFAULT_TIMEOUT
      })
      const connection = new WsConnection(socket)
      const onError = (error: Error) => resume(Effect.die(new Error(`cannot open ${url}: ${error.message}`)))
      socket.once("error", onError)
      socket.once("open", () => {
        socket.off("error", onError)
        resume(Effect.succeed(connection))
      })
      return Effect.sync(() => socket.terminate())
    }),
    (connection) => Effect.sync(() => connection.socket.terminate())
  )
