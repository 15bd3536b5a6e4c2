/**
 * Restarts that lose nothing behind real balancers that do not retry
 * (`npm run test:integration`, in CI): two instances of the demo command
 * with `--drain-delay`, a balancer in front, a load of keep-alive clients,
 * and the instances restarted one after the other (SIGTERM, wait for the
 * exit, start again, wait until the balancer uses it again). Every request
 * of the load must get a 2xx.
 *
 * What makes it work is the drain (README "Draining"): at SIGTERM the
 * instance keeps accepting and serving for `--drain-delay` while `/health`
 * answers 503 and every response says `Connection: close`; the balancer
 * takes it out during that time, so nothing is sent to it once it stops
 * listening, and no keep-alive connection to it is left for a request to
 * meet a reset on.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { freePort, startNginx } from "./support/Nginx.ts"
import { moreRequests, restart, servedBy, startHAProxy, startInstance, startLoad, waitForStatus } from "./support/RollingRestart.ts"

/** Longer than the balancer needs to see the 503s (HAProxy: 2 checks 100 ms apart). */
const DRAIN_DELAY_MILLIS = 1000
const DRAIN_DELAY = ["--drain-delay", String(DRAIN_DELAY_MILLIS / 1000)]

const LOAD = { clients: 6, maxRequests: 400_000, maxMillis: 90_000 }

describe("a rolling restart behind HAProxy (health checks, retries 0, no redispatch)", () => {
  it.live("two instances restarted one after the other under load: every request gets a 2xx", () =>
    Effect.gen(function*() {
      const ports = [yield* freePort(), yield* freePort()]
      const instances = yield* Effect.forEach(ports, (port) => startInstance(port, DRAIN_DELAY))
      const front = yield* freePort()
      const haproxy = yield* startHAProxy(front, ports)
      const load = yield* startLoad(front, LOAD)
      expect(yield* moreRequests(load, 300)).toBe(true)

      for (const instance of instances) {
        const stopping = instance.demo.child
        const { exitCode, seen } = yield* restart(
          instance,
          // HAProxy's health check takes the instance out while it still serves.
          Effect.map(waitForStatus(haproxy.status, instance.port, "DOWN"), () => stopping.exitCode === null)
        )
        expect(exitCode).toBe(0)
        expect(seen).toBe(true)
        yield* waitForStatus(haproxy.status, instance.port, "UP")
        expect(yield* moreRequests(load, 300)).toBe(true)
      }

      const result = yield* load.stop
      yield* Effect.log(`behind HAProxy: ${result.requests} requests, ${result.failures.length} failed`)
      expect(result.failures.map((failure) => failure.what)).toEqual([])
      expect(result.requests).toBeGreaterThan(1000)
    }).pipe(Effect.scoped), 180_000)
})


/**
 * nginx (the free one) has no active health checks: it learns that an
 * instance is gone only from a request that fails on it (`max_fails=1`
 * then takes the instance out for `fail_timeout`). With
 * `proxy_next_upstream off` that request is the client's: a 502. So behind
 * nginx a restart that stops the listening socket loses the requests nginx
 * sends at that moment, however long the drain; the drain's `Connection:
 * close` only spares the requests that would meet a closed keep-alive
 * connection. What the drain guarantees there, and this test holds: the
 * instance serves on for `--drain-delay` after SIGTERM without one failed
 * request, and what fails afterwards is nginx's 502 (never a client
 * connection reset), a few per restart. Zero needs a balancer that takes
 * the instance out before it stops listening (HAProxy's health checks,
 * above), or retries (`proxy_next_upstream error`, as Nginx.integration.ts
 * does).
 */
const nginxConfig = (front: number, backends: ReadonlyArray<number>) => `
  upstream app {
    ${backends.map((port) => `server 127.0.0.1:${port} max_fails=1 fail_timeout=10s;`).join("\n    ")}
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${front};
    client_max_body_size 16m;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_next_upstream off;
    location / {
      proxy_pass http://app;
    }
  }
`

describe("a rolling restart behind nginx (passive checks, proxy_next_upstream off)", () => {
  it.live("nothing fails while an instance drains; afterwards only nginx's 502s as it stops listening", () =>
    Effect.gen(function*() {
      const ports = [yield* freePort(), yield* freePort()]
      const instances = yield* Effect.forEach(ports, (port) => startInstance(port, DRAIN_DELAY))
      const front = yield* freePort()
      yield* startNginx(nginxConfig(front, ports), [front])
      const load = yield* startLoad(front, LOAD)
      expect(yield* moreRequests(load, 300)).toBe(true)

      // From SIGTERM until nginx uses the new process: the drain, then the gap.
      const restarts: Array<{ readonly drainEnd: number; readonly backAt: number }> = []
      for (const instance of instances) {
        const { exitCode, signalledAt } = yield* restart(instance, Effect.void)
        expect(exitCode).toBe(0)
        // nginx uses it again once fail_timeout is over.
        expect(yield* servedBy(front, instance.demo.child.pid ?? -1)).toBe(true)
        restarts.push({ drainEnd: signalledAt + DRAIN_DELAY_MILLIS, backAt: performance.now() })
        expect(yield* moreRequests(load, 300)).toBe(true)
      }

      const result = yield* load.stop
      yield* Effect.log(`behind nginx: ${result.requests} requests, ${result.failures.length} failed`)
      // Nothing failed but what was sent once an instance had stopped
      // listening (50 ms of slack for the timers) and before nginx took the
      // restarted one: not before a restart, not during a drain.
      const unexplained = result.failures.filter((failure) =>
        !restarts.some((gap) => failure.sentAt >= gap.drainEnd - 50 && failure.sentAt <= gap.backAt)
      )
      expect(unexplained.map((failure) => failure.what)).toEqual([])
      // Every failure is a 502 of nginx's, a few per restart.
      expect(result.failures.filter((failure) => failure.status !== 502).map((failure) => failure.what)).toEqual([])
      expect(result.failures.length).toBeLessThanOrEqual(instances.length * LOAD.clients)
      expect(result.requests).toBeGreaterThan(1000)
    }).pipe(Effect.scoped), 180_000)
})
