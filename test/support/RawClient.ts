/**
 * A tiny raw-socket HTTP/1.x client for tests: writes exact bytes, reads
 * responses incrementally with a minimal parser, and notices when the server
 * closes the connection. Everything it does is an Effect; the socket is
 * destroyed when the Scope that opened it closes.
 *
 * ```ts
 * const client = yield* RawClient.connect(port)
 * yield* client.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
 * const response = yield* client.readResponse()
 * expect(response.status).toBe(200)
 * ```
 */
import * as Net from "node:net"
import * as Tls from "node:tls"
import { Effect, type Scope } from "effect"

/** A parsed response. */
export interface RawResponse {
  /** `HTTP/1.1` */
  readonly version: string
  readonly status: number
  readonly reason: string
  /** Header fields in the order received, names as sent. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** The body, chunked framing removed. */
  readonly body: Buffer
  /** How the body was delimited. */
  readonly framing: "none" | "content-length" | "chunked" | "close"
  /** The data sizes of the chunks of a chunked body, in order. */
  readonly chunkSizes: ReadonlyArray<number>
  /** Every byte of this response as received (head and framed body). */
  readonly raw: Buffer
  /** The first value of a header field (case-insensitive name). */
  header(name: string): string | undefined
  /** Every value of a header field (case-insensitive name). */
  headerAll(name: string): Array<string>
  /** The body decoded as UTF-8. */
  readonly text: string
  /** The body parsed as JSON. */
  json<A = any>(): A
}

export interface ReadOptions {
  /** The response answers a HEAD request: no body, whatever the head says. */
  readonly head?: boolean
  /** Give up (the Effect dies) after this long. Default 2000 ms. */
  readonly timeoutMillis?: number
}

export interface ConnectOptions {
  readonly host?: string
  /** The local address to connect from (e.g. `127.0.0.2`, to be told apart from a proxy on 127.0.0.1). */
  readonly localAddress?: string
  /** Connect with TLS (any certificate accepted). */
  readonly tls?: boolean
  /** More options of the TLS client (`servername`, `ALPNProtocols`, `maxVersion`, ...). */
  readonly tlsOptions?: Tls.ConnectionOptions
}

const DEFAULT_TIMEOUT = 2000

/** Why a parse could not complete yet. */
const INCOMPLETE = Symbol("incomplete")

const CRLF = Buffer.from("\r\n")
const HEAD_END = Buffer.from("\r\n\r\n")

const statusHasNoBody = (status: number) => status < 200 || status === 204 || status === 304

/**
 * Parses one response at the start of `buffer`; `INCOMPLETE` when more bytes
 * are needed. `closed` says that no more bytes will come (a body delimited by
 * the close is then whole). Throws on bytes that are not a response.
 */
export const parseResponse = (
  buffer: Buffer,
  closed: boolean,
  options: ReadOptions = {}
): { readonly response: RawResponse; readonly consumed: number } | typeof INCOMPLETE => {
  const headEnd = buffer.indexOf(HEAD_END)
  if (headEnd === -1) return INCOMPLETE
  const lines = buffer.toString("latin1", 0, headEnd).split("\r\n")
  const statusLine = lines[0] ?? ""
  const match = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine)
  if (match === null) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`)
  const headers: Array<readonly [string, string]> = []
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":")
    if (colon <= 0) throw new Error(`not a header line: ${JSON.stringify(line)}`)
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()])
  }
  const headerAll = (name: string) =>
    headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v)
  const header = (name: string) => headerAll(name)[0]
  const status = Number(match[2])
  const bodyStart = headEnd + HEAD_END.length

  let body: Buffer
  let end: number
  let framing: RawResponse["framing"]
  const chunkSizes: Array<number> = []
  const transferEncoding = header("Transfer-Encoding")
  const contentLength = header("Content-Length")
  if (options.head === true || statusHasNoBody(status)) {
    framing = "none"
    body = Buffer.alloc(0)
    end = bodyStart
  } else if (transferEncoding !== undefined && transferEncoding.toLowerCase() === "chunked") {
    framing = "chunked"
    const pieces: Array<Buffer> = []
    let i = bodyStart
    for (;;) {
      const lineEnd = buffer.indexOf(CRLF, i)
      if (lineEnd === -1) return INCOMPLETE
      const sizeText = buffer.toString("latin1", i, lineEnd).split(";")[0]?.trim() ?? ""
      if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`bad chunk size line: ${JSON.stringify(sizeText)}`)
      const size = parseInt(sizeText, 16)
      i = lineEnd + 2
      if (size === 0) {
        // Trailer section: lines up to an empty one.
        for (;;) {
          const trailerEnd = buffer.indexOf(CRLF, i)
          if (trailerEnd === -1) return INCOMPLETE
          const empty = trailerEnd === i
          i = trailerEnd + 2
          if (empty) break
        }
        break
      }
      if (buffer.length < i + size + 2) return INCOMPLETE
      if (buffer[i + size] !== 0x0d || buffer[i + size + 1] !== 0x0a) throw new Error("chunk data not followed by CRLF")
      pieces.push(buffer.subarray(i, i + size))
      chunkSizes.push(size)
      i += size + 2
    }
    body = Buffer.concat(pieces)
    end = i
  } else if (contentLength !== undefined) {
    framing = "content-length"
    const length = Number(contentLength)
    if (!Number.isSafeInteger(length) || length < 0) throw new Error(`bad Content-Length: ${contentLength}`)
    if (buffer.length < bodyStart + length) return INCOMPLETE
    body = Buffer.from(buffer.subarray(bodyStart, bodyStart + length))
    end = bodyStart + length
  } else {
    framing = "close"
    if (!closed) return INCOMPLETE
    body = Buffer.from(buffer.subarray(bodyStart))
    end = buffer.length
  }
  const response: RawResponse = {
    version: match[1] as string,
    status,
    reason: match[3] ?? "",
    headers,
    body,
    framing,
    chunkSizes,
    raw: Buffer.from(buffer.subarray(0, end)),
    header,
    headerAll,
    get text() {
      return body.toString("utf8")
    },
    json: () => JSON.parse(body.toString("utf8"))
  }
  return { response, consumed: end }
}

/** Parses every whole response in `bytes` (as received until the close). */
export const parseAllResponses = (bytes: Buffer, options: ReadOptions = {}): Array<RawResponse> => {
  const responses: Array<RawResponse> = []
  let rest = bytes
  while (rest.length > 0) {
    const parsed = parseResponse(rest, true, options)
    if (parsed === INCOMPLETE) throw new Error(`truncated response: ${JSON.stringify(rest.toString("latin1"))}`)
    responses.push(parsed.response)
    rest = rest.subarray(parsed.consumed)
  }
  return responses
}

/** A connection to a server. */
export class RawConnection {
  readonly socket: Net.Socket
  private buffer: Buffer = Buffer.alloc(0)
  /** The growable storage `buffer` is a view of, when it is one; written up to `used`. */
  private storage: Buffer = Buffer.alloc(0)
  private used = 0
  private closedByPeer = false
  private readonly waiters = new Set<() => void>()
  /** The sizes of the `data` events received, in order. */
  readonly reads: Array<number> = []

  constructor(socket: Net.Socket) {
    this.socket = socket
    socket.on("data", (chunk: Buffer) => {
      this.reads.push(chunk.length)
      this.append(chunk)
      this.notify()
    })
    const onClosed = () => {
      this.closedByPeer = true
      this.notify()
    }
    socket.on("end", onClosed)
    socket.on("close", onClosed)
    socket.on("error", () => {}) // ECONNRESET and the like: "close" follows
  }

  /**
   * Adds received bytes after those unread. The unread bytes live in a
   * buffer that grows by doubling, so that a response of many megabytes
   * costs linear copying, not a copy of all so far per `data` event (which
   * would hold up the event loop the server shares with the test).
   */
  private append(chunk: Buffer): void {
    const live = this.buffer
    if (live.length === 0) {
      this.buffer = chunk
      return
    }
    const storage = this.storage
    const liveStart = live.byteOffset - storage.byteOffset
    const inStorage = live.buffer === storage.buffer && liveStart >= 0 && liveStart + live.length === this.used
    if (inStorage && this.used + chunk.length <= storage.length) {
      chunk.copy(storage, this.used)
      this.used += chunk.length
      this.buffer = storage.subarray(liveStart, this.used)
      return
    }
    const size = live.length + chunk.length
    const grown = Buffer.allocUnsafeSlow(Math.max(2 * size, 16 * 1024))
    live.copy(grown, 0)
    chunk.copy(grown, live.length)
    this.storage = grown
    this.used = size
    this.buffer = grown.subarray(0, size)
  }

  /** Whether the server ended the connection (FIN or reset). */
  get isClosed(): boolean {
    return this.closedByPeer
  }

  /** Bytes received and not yet consumed by a read. */
  get pending(): Buffer {
    return this.buffer
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter()
  }

  /**
   * Waits until `attempt` returns something other than `INCOMPLETE`; it is
   * retried on every arrival of bytes and on close.
   */
  private waitFor<A>(what: string, timeoutMillis: number, attempt: () => A | typeof INCOMPLETE): Effect.Effect<A> {
    return Effect.callback<A>((resume) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const finish = (effect: Effect.Effect<A>) => {
        this.waiters.delete(check)
        if (timer !== undefined) clearTimeout(timer)
        resume(effect)
      }
      const check = () => {
        let result: A | typeof INCOMPLETE
        try {
          result = attempt()
        } catch (error) {
          finish(Effect.die(error))
          return
        }
        if (result !== INCOMPLETE) finish(Effect.succeed(result))
        else if (this.closedByPeer) {
          finish(Effect.die(new Error(`${what}: the server closed the connection; received ${this.describe()}`)))
        }
      }
      this.waiters.add(check)
      timer = setTimeout(
        () => finish(Effect.die(new Error(`${what}: nothing after ${timeoutMillis} ms; received ${this.describe()}`))),
        timeoutMillis
      )
      check()
      return Effect.sync(() => {
        this.waiters.delete(check)
        if (timer !== undefined) clearTimeout(timer)
      })
    })
  }

  private describe(): string {
    const text = this.buffer.toString("latin1")
    return JSON.stringify(text.length > 400 ? text.slice(0, 400) + "..." : text)
  }

  /**
   * Writes bytes (a string is Latin-1), resolving once handed to the kernel.
   * Once the server has closed the connection, writes are dropped: the
   * reads that follow report what the server answered, which says more.
   */
  write(data: string | Uint8Array): Effect.Effect<void> {
    const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data
    return Effect.callback<void>((resume) => {
      if (this.closedByPeer || this.socket.destroyed) {
        resume(Effect.void)
        return
      }
      this.socket.write(bytes, (error) => resume(error && !this.closedByPeer ? Effect.die(error) : Effect.void))
    })
  }

  /** Writes bytes in pieces of `pieceSize`, pausing `delayMillis` between them. */
  writeInPieces(data: string | Uint8Array, pieceSize: number, delayMillis = 1): Effect.Effect<void> {
    const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : Buffer.from(data)
    const self = this
    return Effect.gen(function*() {
      for (let i = 0; i < bytes.length; i += pieceSize) {
        if (i > 0) yield* sleepReal(delayMillis)
        yield* self.write(bytes.subarray(i, i + pieceSize))
      }
    })
  }

  /** Reads exactly one response (an interim `100 Continue` is one too). */
  readResponse(options: ReadOptions = {}): Effect.Effect<RawResponse> {
    return this.waitFor("reading a response", options.timeoutMillis ?? DEFAULT_TIMEOUT, () => {
      const parsed = parseResponse(this.buffer, this.closedByPeer, options)
      if (parsed === INCOMPLETE) return INCOMPLETE
      this.buffer = this.buffer.subarray(parsed.consumed)
      return parsed.response
    })
  }

  /** Reads until the bytes received contain `marker`; returns them up to and including it. */
  readUntil(marker: string, timeoutMillis = DEFAULT_TIMEOUT): Effect.Effect<Buffer> {
    const needle = Buffer.from(marker, "latin1")
    return this.waitFor(`reading up to ${JSON.stringify(marker)}`, timeoutMillis, () => {
      const at = this.buffer.indexOf(needle)
      if (at === -1) return INCOMPLETE
      const result = Buffer.from(this.buffer.subarray(0, at + needle.length))
      this.buffer = this.buffer.subarray(at + needle.length)
      return result
    })
  }

  /** Waits for the server to close the connection; returns what was still unread. */
  readUntilClose(timeoutMillis = DEFAULT_TIMEOUT): Effect.Effect<Buffer> {
    return Effect.callback<Buffer>((resume) => {
      const check = () => {
        if (!this.closedByPeer) return
        this.waiters.delete(check)
        clearTimeout(timer)
        const rest = this.buffer
        this.buffer = Buffer.alloc(0)
        resume(Effect.succeed(rest))
      }
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        resume(
          Effect.die(new Error(`waiting for the server to close: still open after ${timeoutMillis} ms; received ${this.describe()}`))
        )
      }, timeoutMillis)
      this.waiters.add(check)
      check()
      return Effect.sync(() => {
        this.waiters.delete(check)
        clearTimeout(timer)
      })
    })
  }

  /**
   * Whether the server closes the connection within `millis`: `false` if it
   * is still open then (for asserting that a connection stays open).
   */
  closesWithin(millis: number): Effect.Effect<boolean> {
    return Effect.map(
      Effect.timeoutOption(this.readUntilClose(millis + 1000), millis),
      (option) => option._tag === "Some"
    )
  }

  /**
   * Reads in bursts from now on: after every `burst` bytes received, reads
   * nothing for `pauseMillis` (the kernel's buffers fill meanwhile and the
   * server meets backpressure), then reads on.
   */
  readSlowly(burst: number, pauseMillis: number): Effect.Effect<void> {
    return Effect.sync(() => {
      let sinceLastPause = 0
      this.socket.on("data", (chunk: Buffer) => {
        sinceLastPause += chunk.length
        if (sinceLastPause < burst) return
        sinceLastPause = 0
        this.socket.pause()
        setTimeout(() => this.socket.resume(), pauseMillis).unref()
      })
    })
  }

  /** Half-closes: the server sees the end of input. */
  end(): Effect.Effect<void> {
    return Effect.sync(() => {
      this.socket.end()
    })
  }

  /** Aborts the connection with a TCP reset (RST) instead of a normal close. */
  reset(): Effect.Effect<void> {
    return Effect.sync(() => {
      if (this.socket instanceof Tls.TLSSocket) this.socket.destroy()
      else this.socket.resetAndDestroy()
    })
  }

  /** Closes the socket at once (a normal close: FIN). */
  destroy(): Effect.Effect<void> {
    return Effect.sync(() => {
      this.socket.destroy()
    })
  }
}

/** Sleeps on the real clock (whatever Clock the test provides). */
export const sleepReal = (millis: number): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), millis)
    return Effect.sync(() => clearTimeout(timer))
  })

/**
 * Waits on the real clock until `condition` holds, checking it every
 * `intervalMillis`; whether it held within `millis` (a test asserts it).
 * What a test waits for instead of a fixed sleep.
 */
export const eventually = (condition: () => boolean, millis = 2000, intervalMillis = 5): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const deadline = performance.now() + millis
    while (!condition()) {
      if (performance.now() > deadline) return false
      yield* sleepReal(intervalMillis)
    }
    return true
  })

/** Where to connect: a TCP port on 127.0.0.1 (or `host`), or a Unix socket path. */
export type Target = number | { readonly path: string }

const open = (
  target: Target,
  options: ConnectOptions,
  onConnect: () => void
): Net.Socket => {
  if (typeof target !== "number") return Net.connect({ path: target.path }, onConnect)
  const host = options.host ?? "127.0.0.1"
  return options.tls === true
    ? Tls.connect(
      {
        host,
        port: target,
        rejectUnauthorized: false,
        servername: "localhost",
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
        ...options.tlsOptions
      },
      onConnect
    )
    : Net.connect({
      host,
      port: target,
      noDelay: true,
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress })
    }, onConnect)
}

/**
 * Connects; the outcome is the connection, or the error that refused it
 * (`ECONNREFUSED`, a TLS failure, ...). The socket is destroyed when the
 * Scope closes.
 */
export const tryConnect = (
  target: Target,
  options: ConnectOptions = {}
): Effect.Effect<RawConnection | Error, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<RawConnection | Error>((resume) => {
      let connection: RawConnection | undefined = undefined
      const socket = open(target, options, () => {
        socket.off("error", onError)
        connection = new RawConnection(socket)
        resume(Effect.succeed(connection))
      })
      const onError = (error: Error) => {
        socket.destroy()
        resume(Effect.succeed(error))
      }
      socket.once("error", onError)
      return Effect.sync(() => socket.destroy())
    }),
    (outcome) => outcome instanceof RawConnection ? outcome.destroy() : Effect.void
  )

/** Connects (the Effect dies if it cannot); the socket is destroyed when the Scope closes. */
export const connect = (target: Target, options: ConnectOptions = {}): Effect.Effect<RawConnection, never, Scope.Scope> =>
  Effect.flatMap(tryConnect(target, options), (outcome) =>
    outcome instanceof RawConnection
      ? Effect.succeed(outcome)
      : Effect.die(new Error(`cannot connect to ${JSON.stringify(target)}: ${outcome.message}`)))

/** One request on a fresh connection (destroyed when the Scope closes): its response. */
export const requestOnce = (
  target: Target,
  bytes: string | Uint8Array,
  options?: ReadOptions
): Effect.Effect<RawResponse, never, Scope.Scope> =>
  Effect.flatMap(connect(target), (client) => Effect.flatMap(client.write(bytes), () => client.readResponse(options)))

/** `GET path` on HTTP/1.1 with a Host header, plus any extra header lines. */
export const get = (path: string, ...headerLines: Array<string>): string =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headerLines.map((line) => line + "\r\n").join("")}\r\n`

/** A request with a Content-Length body, on HTTP/1.1 with a Host header. */
export const withBody = (method: string, path: string, body: string | Buffer, ...headerLines: Array<string>): Buffer => {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body
  const head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${
    headerLines.map((line) => line + "\r\n").join("")
  }Content-Length: ${bytes.length}\r\n\r\n`
  return Buffer.concat([Buffer.from(head, "latin1"), bytes])
}
