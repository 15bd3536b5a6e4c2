/**
 * Behind real layer-4 balancers (`npm run test:integration`, in CI): HAProxy
 * in `mode tcp` with `send-proxy` (v1) and `send-proxy-v2`, TLS passthrough
 * with `send-proxy-v2` to a TLS listener, HAProxy's health check with
 * `check` over `send-proxy-v2` (a `LOCAL` header, then `GET /health`), and
 * nginx `stream { proxy_protocol on; }` (v1), all in front of the demo
 * command with `--proxy-protocol`.
 *
 * The client connects from 127.0.0.2 and the balancers from 127.0.0.1:
 * `/echo` reporting 127.0.0.2 proves the header was read.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type DemoProcess, startDemo } from "../support/DemoProcess.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeTlsMaterial } from "../support/TlsMaterial.ts"
import { type HAProxy, serverStatus, startHAProxy } from "./support/HAProxy.ts"
import { freePort, startNginx } from "./support/Nginx.ts"
import { setUpOnce } from "./support/SetUpOnce.ts"

const tls = makeTlsMaterial()
afterAll(() => tls.cleanup())

const CLIENT = "127.0.0.2"

/**
 * HAProxy's frontends and backends as the test runs them; README "Behind a
 * layer-4 load balancer" shows the same (ports aside).
 */
const haproxyConfig = (ports: {
  readonly app: number
  readonly appTls: number
  readonly v1: number
  readonly v2: number
  readonly tls: number
}) => `
frontend v1
  bind 127.0.0.1:${ports.v1}
  default_backend app_v1

backend app_v1
  server app 127.0.0.1:${ports.app} send-proxy

frontend v2
  bind 127.0.0.1:${ports.v2}
  default_backend app_v2

# Health checks go over the PROXY protocol too: a v2 LOCAL header, then
# the HTTP check; the server is marked UP once /health answers 200.
backend app_v2
  option httpchk GET /health
  server app 127.0.0.1:${ports.app} send-proxy-v2 check inter 200ms

# TLS passthrough: HAProxy does not terminate TLS; the header precedes the
# client's ClientHello.
frontend tls
  bind 127.0.0.1:${ports.tls}
  default_backend app_tls

backend app_tls
  server app 127.0.0.1:${ports.appTls} send-proxy-v2
`

/** nginx's `stream { }` block as the test runs it (README shows the same). */
const nginxStream = (ports: { readonly app: number; readonly listen: number }) => `
  server {
    listen 127.0.0.1:${ports.listen};
    proxy_pass 127.0.0.1:${ports.app};
    proxy_protocol on;
  }
`

interface Setup {
  readonly app: DemoProcess
  readonly haproxy: HAProxy
  readonly ports: { readonly v1: number; readonly v2: number; readonly tls: number; readonly nginx: number }
}

const current = setUpOnce<Setup>(
  Effect.gen(function*() {
    const trusted = ["--proxy-protocol", "--proxy-protocol-from", "127.0.0.1"]
    const app = yield* startDemo([...trusted, "--access-log"])
    const appTls = yield* startDemo([...trusted, "--ssl-cert", tls.certFile, "--ssl-key", tls.keyFile])
    const ports = { v1: yield* freePort(), v2: yield* freePort(), tls: yield* freePort(), nginx: yield* freePort() }
    const haproxy = yield* startHAProxy(
      haproxyConfig({ app: app.port, appTls: appTls.port, ...ports }),
      [ports.v1, ports.v2, ports.tls]
    )
    yield* startNginx("", [ports.nginx], nginxStream({ app: app.port, listen: ports.nginx }))
    return { app, haproxy, ports }
  })
)

interface Echo {
  readonly remoteIp: string
  readonly protocol: string
}

/** A few requests on one connection through `port`: what /echo says of each. */
const echoes = (port: number, options: RawClient.ConnectOptions = {}) =>
  Effect.gen(function*() {
    const client = yield* RawClient.connect(port, { localAddress: CLIENT, ...options })
    const seen: Array<Echo> = []
    for (let i = 0; i < 3; i++) {
      yield* client.write(RawClient.get("/echo"))
      const response = yield* client.readResponse({ timeoutMillis: 5000 })
      expect(response.status).toBe(200)
      seen.push(response.json<Echo>())
    }
    return seen
  })

describe("behind HAProxy (mode tcp)", () => {
  it.live("send-proxy (v1): /echo reports the client's address, not HAProxy's", () =>
    Effect.gen(function*() {
      for (const data of yield* echoes(current().ports.v1)) expect(data).toMatchObject({ remoteIp: CLIENT, protocol: "http" })
    }))

  it.live("send-proxy-v2: the same", () =>
    Effect.gen(function*() {
      for (const data of yield* echoes(current().ports.v2)) expect(data).toMatchObject({ remoteIp: CLIENT, protocol: "http" })
    }))

  it.live("the health check over send-proxy-v2 (a LOCAL header): the server is UP, its checks served", () =>
    Effect.gen(function*() {
      const { app, haproxy } = current()
      // HAProxy's own view of the server, from its admin socket.
      let status: string | undefined
      const deadline = performance.now() + 10_000
      while (status !== "UP" && performance.now() < deadline) {
        status = serverStatus(yield* haproxy.admin("show stat"), "app_v2", "app")
        if (status !== "UP") yield* RawClient.sleepReal(100)
      }
      expect(status, haproxy.output()).toBe("UP")
      // LOCAL keeps the socket's address: HAProxy's own.
      expect(app.stderr()).toMatch(/200 GET \/health \(127\.0\.0\.1\)/)
    }))

  it.live("TLS passthrough with send-proxy-v2: the header, then the handshake with us", () =>
    Effect.gen(function*() {
      for (const data of yield* echoes(current().ports.tls, { tls: true })) {
        expect(data).toMatchObject({ remoteIp: CLIENT, protocol: "https" })
      }
    }))
})

describe("behind nginx stream { proxy_protocol on; } (v1)", () => {
  it.live("/echo reports the client's address, not nginx's", () =>
    Effect.gen(function*() {
      for (const data of yield* echoes(current().ports.nginx)) expect(data).toMatchObject({ remoteIp: CLIENT, protocol: "http" })
    }))
})
