/**
 * What the rolling-restart tests share: demo instances that can be
 * restarted (SIGTERM, wait for the exit, start again on the same port), a
 * real HAProxy in front of them (its state read from its stats socket), and
 * a load client that counts every request that did not get a 2xx.
 *
 * Everything is on loopback; HAProxy runs in the foreground (`-db`) as the
 * test's child, its config and stats socket in a temporary directory.
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { Effect, Exit, Fiber, Scope } from "effect"
import { type DemoProcess, kill, startDemo } from "../../support/DemoProcess.ts"
import { chunkedRequest } from "../../support/LimitsClient.ts"
import { describeServer, spawnProcess, tempDir } from "../../support/Processes.ts"
import * as RawClient from "../../support/RawClient.ts"
import { waitForPort } from "./Nginx.ts"

// ---------------------------------------------------------------------------
// Instances

/** A demo instance on a fixed port, in a Scope of its own so that it can be restarted. */
export interface Instance {
  readonly port: number
  readonly args: ReadonlyArray<string>
  demo: DemoProcess
  scope: Scope.Closeable
}

const launch = (port: number, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const demo = yield* startDemo([...args, "--port", String(port)]).pipe(Scope.provide(scope))
    return { demo, scope }
  })

/** Starts the demo command on `port` (stopped when the test's Scope closes, whichever process runs then). */
export const startInstance = (port: number, args: ReadonlyArray<string>): Effect.Effect<Instance, never, Scope.Scope> =>
  Effect.gen(function*() {
    const instance: Instance = { port, args, ...(yield* launch(port, args)) }
    yield* Effect.addFinalizer(() => Scope.close(instance.scope, Exit.void))
    return instance
  })

/**
 * SIGTERM, then what happens between it and the exit (`during`, forked at
 * once: it sees the instance draining), then the instance is started again
 * on its port. The exit code, what `during` returned, and when the signal
 * was sent (`performance.now()`).
 */
export const restart = <A>(instance: Instance, during: Effect.Effect<A>) =>
  Effect.gen(function*() {
    const watching = yield* Effect.forkChild(during)
    const signalledAt = performance.now()
    instance.demo.child.kill("SIGTERM")
    const exitCode = yield* instance.demo.exited
    const seen = yield* Fiber.join(watching)
    yield* Scope.close(instance.scope, Exit.void)
    const started = yield* launch(instance.port, instance.args)
    instance.demo = started.demo
    instance.scope = started.scope
    return { exitCode, seen, signalledAt }
  })

// ---------------------------------------------------------------------------
// HAProxy

/** The HAProxy binary: `$HAPROXY`, else Debian's `/usr/sbin/haproxy`, else `haproxy` on the PATH. */
export const haproxyBinary = (): string =>
  process.env["HAPROXY"] ?? (Fs.existsSync("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : "haproxy")

export interface HAProxy {
  /** HAProxy's view of the backend server on `port`: `UP`, `DOWN`, `MAINT`, `UP 1/2`, ... */
  readonly status: (port: number) => Effect.Effect<string>
}

/** Sends one command to the stats socket; the whole answer. */
const statsCommand = (socket: string, command: string): Effect.Effect<string> =>
  Effect.callback<string>((resume) => {
    let answer = ""
    const client = Net.connect({ path: socket }, () => client.end(`${command}\n`))
    client.setEncoding("utf8")
    client.on("data", (text: string) => answer += text)
    client.on("close", () => resume(Effect.succeed(answer)))
    client.on("error", () => {}) // "close" follows
    return Effect.sync(() => client.destroy())
  })

/** The `status` column of `show stat` for the server named `name`. */
const statusIn = (csv: string, name: string): string => {
  const [header = "", ...rows] = csv.split("\n")
  const columns = header.replace(/^# /, "").split(",")
  const svname = columns.indexOf("svname")
  const status = columns.indexOf("status")
  const row = rows.map((line) => line.split(",")).find((fields) => fields[svname] === name)
  return row?.[status] ?? "unknown"
}

const serverName = (port: number) => `app${port}`

/**
 * HAProxy on `port` in front of `backends`, as the test asks:
 * HTTP mode, keep-alive to the backends, `option httpchk GET /health` every
 * 100 ms (down after 2 failures, up after 2 successes), `retries 0`, no
 * `option redispatch`: a request that meets a stopped instance is an error
 * for its client. Waits until every backend is UP.
 */
export const startHAProxy = (port: number, backends: ReadonlyArray<number>): Effect.Effect<HAProxy, never, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = yield* tempDir("effect-httpserver-haproxy-")
    const socket = Path.join(dir, "stats.sock")
    const config = [
      "global",
      `  stats socket ${socket} mode 600 level admin`,
      "  maxconn 2000",
      "defaults",
      "  mode http",
      "  option http-keep-alive",
      "  http-reuse safe",
      "  retries 0",
      "  timeout connect 2s",
      "  timeout client 30s",
      "  timeout server 30s",
      "frontend front",
      `  bind 127.0.0.1:${port}`,
      "  default_backend app",
      "backend app",
      "  balance roundrobin",
      "  option httpchk GET /health",
      "  default-server inter 100ms fall 2 rise 2",
      ...backends.map((backend) => `  server ${serverName(backend)} 127.0.0.1:${backend} check`),
      ""
    ].join("\n")
    Fs.writeFileSync(Path.join(dir, "haproxy.cfg"), config)
    const haproxy = yield* spawnProcess(haproxyBinary(), ["-db", "-f", Path.join(dir, "haproxy.cfg")])
    yield* Effect.addFinalizer(() => kill(haproxy.child))
    if (!(yield* waitForPort(port))) {
      return yield* Effect.die(new Error(`haproxy did not listen on ${port}: ${describeServer(haproxy)}`))
    }
    const status = (backend: number) => Effect.map(statsCommand(socket, "show stat"), (csv) => statusIn(csv, serverName(backend)))
    for (const backend of backends) yield* waitForStatus(status, backend, "UP")
    return { status }
  })

/** Waits (up to 20 s) until HAProxy's status of the backend on `port` is `wanted`. */
export const waitForStatus = (status: HAProxy["status"], port: number, wanted: string): Effect.Effect<void> =>
  Effect.gen(function*() {
    const deadline = performance.now() + 20_000
    let last = ""
    while (performance.now() < deadline) {
      last = yield* status(port)
      if (last === wanted) return
      yield* RawClient.sleepReal(20)
    }
    return yield* Effect.die(new Error(`HAProxy never saw 127.0.0.1:${port} ${wanted} (last: ${last})`))
  })

// ---------------------------------------------------------------------------
// Load

export interface LoadOptions {
  /** Keep-alive client connections, each with one request in flight. */
  readonly clients: number
  /** The load stops by itself after this many requests... */
  readonly maxRequests: number
  /** ...or this long. */
  readonly maxMillis: number
}

export interface Load {
  /** Requests answered or failed so far. */
  readonly count: () => number
  /** Stops the load (the requests in flight finish): what it saw. */
  readonly stop: Effect.Effect<LoadResult>
}

export interface LoadResult {
  readonly requests: number
  /** The requests that got no response or a status other than 2xx. */
  readonly failures: ReadonlyArray<Failure>
}

export interface Failure {
  /** When the request was sent (`performance.now()`). */
  readonly sentAt: number
  /** The status it got, if any. */
  readonly status: number | undefined
  readonly what: string
}

const upload = Buffer.alloc(32 * 1024, 0x63)

/** The mix each client cycles through: small and large, bodies by length and chunked. */
const REQUESTS: ReadonlyArray<() => string | Buffer> = [
  () => RawClient.get("/hello"),
  () => RawClient.get("/echo?load=1"),
  () => RawClient.withBody("POST", "/echo", upload),
  () => chunkedRequest("POST", "/stream", [upload, upload])
]

/**
 * Keep-alive clients on 127.0.0.1 sending requests to `port` in turn, until
 * stopped or a bound is reached. A failure is a request without a response
 * (a reset, a close, 10 s of silence) or one answered with other than 2xx;
 * the client then reconnects. A client also reconnects when a response says
 * `Connection: close`.
 */
export const startLoad = (port: number, options: LoadOptions): Effect.Effect<Load, never, Scope.Scope> =>
  Effect.gen(function*() {
    let stopped = false
    let requests = 0
    const failures: Array<Failure> = []
    const started = performance.now()
    const going = () => !stopped && requests < options.maxRequests && performance.now() - started < options.maxMillis

    const client = (id: number) =>
      Effect.scoped(Effect.gen(function*() {
        let connection = yield* RawClient.connect(port)
        const reconnect = Effect.gen(function*() {
          yield* connection.destroy()
          connection = yield* RawClient.connect(port)
        })
        for (let n = id; going(); n++) {
          const sentAt = performance.now()
          const exit = yield* Effect.exit(Effect.gen(function*() {
            yield* connection.write((REQUESTS[n % REQUESTS.length] as () => string | Buffer)())
            return yield* connection.readResponse({ timeoutMillis: 10_000 })
          }))
          requests++
          if (Exit.isFailure(exit)) {
            failures.push({ sentAt, status: undefined, what: `client ${id}, request ${n}: no response` })
            yield* reconnect
            continue
          }
          const response = exit.value
          if (response.status < 200 || response.status > 299) {
            failures.push({
              sentAt,
              status: response.status,
              what: `client ${id}, request ${n}: ${response.status} ${response.text.slice(0, 200)}`
            })
          }
          if (response.header("Connection")?.toLowerCase() === "close") yield* reconnect
        }
      }))

    const fiber = yield* Effect.forkScoped(
      Effect.forEach(Array.from({ length: options.clients }, (_, id) => id), client, {
        concurrency: "unbounded",
        discard: true
      })
    )
    return {
      count: () => requests,
      stop: Effect.gen(function*() {
        stopped = true
        yield* Fiber.join(fiber)
        return { requests, failures }
      })
    }
  })

/** Waits (real clock) until the load has made `more` requests past what it had made when called. */
export const moreRequests = (load: Load, more: number): Effect.Effect<boolean> =>
  Effect.suspend(() => {
    const target = load.count() + more
    return RawClient.eventually(() => load.count() >= target, 20_000, 10)
  })

/**
 * Waits (up to 30 s) until a request through the balancer on `port` is
 * answered by the process `pid` (the demo's `/echo` says which served it).
 */
export const servedBy = (port: number, pid: number): Effect.Effect<boolean> =>
  Effect.scoped(Effect.gen(function*() {
    const deadline = performance.now() + 30_000
    while (performance.now() < deadline) {
      const client = yield* RawClient.connect(port)
      yield* client.write(RawClient.get("/echo"))
      const response = yield* client.readResponse({ timeoutMillis: 10_000 })
      yield* client.destroy()
      if (response.status === 200 && response.json<{ pid: number }>().pid === pid) return true
      yield* RawClient.sleepReal(50)
    }
    return false
  }))
