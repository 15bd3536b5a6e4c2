/**
 * Behind a real nginx (`npm run test:integration`, in CI): nginx on
 * loopback in front of two instances of the demo command, with X-Real-IP,
 * X-Forwarded-For, X-Forwarded-Proto and Forwarded set; TLS at nginx and
 * TLS from nginx to us; a rolling restart under load loses nothing.
 *
 * The client connects from 127.0.0.2 (loopback too) so that its address is
 * told apart from nginx's 127.0.0.1: `/echo` reporting 127.0.0.2 proves the
 * proxy headers were read. One instance trusts the X- headers
 * (`--xheaders`), the other `Forwarded` (`--forwarded`): both must agree.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { type DemoProcess, startDemo } from "../support/DemoProcess.ts"
import { chunkedRequest } from "../support/LimitsClient.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeTlsMaterial } from "../support/TlsMaterial.ts"
import { freePort, startNginx, waitForPort } from "./support/Nginx.ts"
import { setUpOnce } from "./support/SetUpOnce.ts"

const tls = makeTlsMaterial()
afterAll(() => tls.cleanup())

const CLIENT = "127.0.0.2"

/**
 * The `http { }` body the test runs nginx with; README "Running behind
 * nginx" shows the same (ports and paths aside).
 */
const nginxConfig = (ports: {
  readonly app: ReadonlyArray<number>
  readonly appTls: number
  readonly plain: number
  readonly secure: number
}) => `
  # Forwarded wants IPv6 node names quoted and bracketed (RFC 7239 section 6).
  map $remote_addr $forwarded_for {
    ~:      "\\"[$remote_addr]\\"";
    default $remote_addr;
  }

  upstream app {
    ${ports.app.map((port) => `server 127.0.0.1:${port} max_fails=0;`).join("\n    ")}
    keepalive 32;
  }

  upstream app_tls {
    server 127.0.0.1:${ports.appTls} max_fails=0;
    keepalive 8;
  }

  server {
    listen 127.0.0.1:${ports.plain};
    listen 127.0.0.1:${ports.secure} ssl;
    ssl_certificate     ${tls.certFile};
    ssl_certificate_key ${tls.keyFile};
    client_max_body_size 16m;

    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $http_host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header Forwarded "for=$forwarded_for;proto=$scheme;host=\\"$http_host\\"";
    # A request that meets a draining or restarting instance goes to the
    # next one (the body is buffered by nginx, so POSTs can be retried too).
    proxy_next_upstream error timeout non_idempotent;

    location / {
      proxy_pass http://app;
    }

    location /tls/ {
      proxy_pass https://app_tls/;
      proxy_ssl_server_name on;
      proxy_ssl_name localhost;
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate ${tls.certFile};
      proxy_ssl_session_reuse on;
    }
  }
`

/** The demo app's arguments: one instance per way of trusting the proxy. */
const INSTANCE_ARGS: ReadonlyArray<ReadonlyArray<string>> = [
  ["--xheaders", "--max-body-size", "1MiB"],
  ["--forwarded", "--max-body-size", "1MiB"]
]

interface Instance {
  readonly port: number
  readonly args: ReadonlyArray<string>
  demo: DemoProcess
  scope: Scope.Closeable
}

/** Starts the demo command on `port` in a scope of its own (so that it can be restarted). */
const startInstance = (port: number, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const demo = yield* startDemo([...args, "--port", String(port)]).pipe(Scope.provide(scope))
    return { demo, scope }
  })

interface Setup {
  readonly instances: ReadonlyArray<Instance>
  readonly plain: number
  readonly secure: number
}

const current = setUpOnce<Setup>(
  Effect.gen(function*() {
    const appPorts = [yield* freePort(), yield* freePort()]
    const instances: Array<Instance> = []
    for (const [i, port] of appPorts.entries()) {
      const args = INSTANCE_ARGS[i] as ReadonlyArray<string>
      instances.push({ port, args, ...(yield* startInstance(port, args)) })
    }
    const tlsInstance = yield* startDemo(["--ssl-cert", tls.certFile, "--ssl-key", tls.keyFile])
    const plain = yield* freePort()
    const secure = yield* freePort()
    yield* startNginx(nginxConfig({ app: appPorts, appTls: tlsInstance.port, plain, secure }), [plain, secure])
    yield* Effect.addFinalizer(() =>
      Effect.forEach(instances, (instance) => Scope.close(instance.scope, Exit.void), { discard: true })
    )
    return { instances, plain, secure }
  })
)

interface Echo {
  readonly remoteIp: string
  readonly protocol: string
  readonly host: string
  readonly pid: number
  readonly bodyLength: number
  readonly headers: ReadonlyArray<readonly [string, string]>
}

const echo = (client: RawClient.RawConnection, path = "/echo") =>
  Effect.gen(function*() {
    yield* client.write(RawClient.get(path))
    const response = yield* client.readResponse({ timeoutMillis: 5000 })
    expect(response.status).toBe(200)
    return response.json<Echo>()
  })

const headerOf = (data: Echo, name: string) => data.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1]

describe("behind nginx", () => {
  it.live("/echo reports the client's address and scheme; both instances serve", () =>
    Effect.gen(function*() {
      const client = yield* RawClient.connect(current().plain, { localAddress: CLIENT })
      const pids = new Set<number>()
      for (let i = 0; i < 8; i++) {
        const data = yield* echo(client)
        expect(data).toMatchObject({ remoteIp: CLIENT, protocol: "http" })
        expect(headerOf(data, "X-Real-IP")).toBe(CLIENT)
        expect(headerOf(data, "X-Forwarded-For")).toBe(CLIENT)
        expect(headerOf(data, "X-Forwarded-Proto")).toBe("http")
        expect(headerOf(data, "Forwarded")).toBe(`for=${CLIENT};proto=http;host="127.0.0.1"`)
        pids.add(data.pid)
      }
      expect(pids).toEqual(new Set(current().instances.map((instance) => instance.demo.child.pid)))
    }))

  it.live("a client's own proxy headers do not get past nginx's", () =>
    Effect.gen(function*() {
      const client = yield* RawClient.connect(current().plain, { localAddress: CLIENT })
      for (let i = 0; i < 4; i++) {
        yield* client.write(RawClient.get("/echo", "Forwarded: for=6.6.6.6;proto=https", "X-Real-IP: 6.6.6.6"))
        const data = (yield* client.readResponse()).json<Echo>()
        expect(data).toMatchObject({ remoteIp: CLIENT, protocol: "http" })
      }
    }))

  it.live("TLS at nginx: the scheme is https", () =>
    Effect.gen(function*() {
      const client = yield* RawClient.connect(current().secure, { tls: true, localAddress: CLIENT })
      for (let i = 0; i < 4; i++) {
        const data = yield* echo(client)
        expect(data).toMatchObject({ remoteIp: CLIENT, protocol: "https" })
        expect(headerOf(data, "Forwarded")).toMatch(/proto=https/)
      }
    }))

  it.live("TLS from nginx to us (proxy_pass https://, certificate verified by nginx)", () =>
    Effect.gen(function*() {
      const client = yield* RawClient.connect(current().plain, { localAddress: CLIENT })
      // The TLS instance trusts no proxy header: what it reports is its own socket's.
      for (let i = 0; i < 3; i++) {
        const data = yield* echo(client, "/tls/echo")
        expect(data).toMatchObject({ protocol: "https", remoteIp: "127.0.0.1" })
      }
    }))

  it.live("a chunked upload passes through; a body over our limit is our 413", () =>
    Effect.gen(function*() {
      const client = yield* RawClient.connect(current().plain, { localAddress: CLIENT })
      const piece = Buffer.alloc(50_000, 0x61)
      yield* client.write(chunkedRequest("POST", "/echo", [piece, piece, "tail"], "Content-Type: application/octet-stream"))
      const uploaded = yield* client.readResponse({ timeoutMillis: 5000 })
      expect(uploaded.status).toBe(200)
      expect(uploaded.json<Echo>().bodyLength).toBe(100_004)

      const big = RawClient.withBody("POST", "/echo", Buffer.alloc(2 * 1024 * 1024, 0x62))
      for (let i = 0; i < 2; i++) {
        const over = yield* RawClient.connect(current().plain, { localAddress: CLIENT })
        yield* over.write(big)
        expect((yield* over.readResponse({ timeoutMillis: 10_000 })).status).toBe(413)
      }
    }))
})

/** The outcome of one request of the load. */
type Outcome = { readonly ok: true } | { readonly ok: false; readonly what: string }

describe("a rolling restart behind nginx", () => {
  it.live("SIGTERM one instance, start it again, then the other, under load: every request gets a 2xx", () =>
    Effect.gen(function*() {
      const { instances, plain } = current()
      let stopped = false
      const outcomes: Array<Outcome> = []
      const upload = Buffer.alloc(32 * 1024, 0x63)
      const requests = [
        () => RawClient.get("/hello"),
        () => RawClient.get("/echo?load=1"),
        () => RawClient.withBody("POST", "/echo", upload),
        () => chunkedRequest("POST", "/stream", [upload, upload])
      ]

      /** One keep-alive client: requests in turn until told to stop. */
      const client = (id: number): Effect.Effect<void, never, Scope.Scope> =>
        Effect.gen(function*() {
          let connection = yield* RawClient.connect(plain, { localAddress: CLIENT })
          for (let n = id; !stopped; n++) {
            const exit = yield* Effect.exit(Effect.gen(function*() {
              yield* connection.write((requests[n % requests.length] as () => string | Buffer)())
              return yield* connection.readResponse({ timeoutMillis: 10_000 })
            }))
            if (Exit.isFailure(exit)) {
              outcomes.push({ ok: false, what: `client ${id}: no response` })
              connection = yield* RawClient.connect(plain, { localAddress: CLIENT })
              continue
            }
            const response = exit.value
            outcomes.push(
              response.status >= 200 && response.status < 300
                ? { ok: true }
                : { ok: false, what: `client ${id}: ${response.status} ${response.text.slice(0, 200)}` }
            )
            if (response.header("Connection")?.toLowerCase() === "close") {
              connection = yield* RawClient.connect(plain, { localAddress: CLIENT })
            }
          }
        })

      const load = yield* Effect.forkChild(
        Effect.forEach([0, 1, 2, 3, 4, 5], client, { concurrency: "unbounded", discard: true })
      )
      yield* RawClient.sleepReal(500)
      for (const instance of instances) {
        const before = outcomes.length
        instance.demo.child.kill("SIGTERM")
        expect(yield* instance.demo.exited).toBe(0)
        yield* Scope.close(instance.scope, Exit.void)
        yield* RawClient.sleepReal(300) // the other instance carries the load alone
        const restarted = yield* startInstance(instance.port, instance.args)
        instance.demo = restarted.demo
        instance.scope = restarted.scope
        expect(yield* waitForPort(instance.port)).toBe(true)
        yield* RawClient.sleepReal(500)
        expect(outcomes.length).toBeGreaterThan(before)
      }
      stopped = true
      yield* Fiber.join(load)

      const failures = outcomes.filter((outcome): outcome is Extract<Outcome, { ok: false }> => !outcome.ok)
      expect(failures.map((failure) => failure.what)).toEqual([])
      expect(outcomes.length).toBeGreaterThan(200)
      yield* Effect.log(`rolling restart: ${outcomes.length} requests through nginx, all 2xx`)
      // Both new instances serve.
      const check = yield* RawClient.connect(plain, { localAddress: CLIENT })
      const pids = new Set<number>()
      for (let i = 0; i < 6; i++) pids.add((yield* echo(check)).pid)
      expect(pids).toEqual(new Set(instances.map((instance) => instance.demo.child.pid)))
    }), 60_000)
})
