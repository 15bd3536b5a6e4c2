/**
 * The demo command serving TLS (child processes): SIGHUP reads the
 * certificate files again, as nginx's reload does; new connections get the
 * new pair, open ones keep theirs; a pair that does not load is logged on
 * stderr and the old one stays. With workers, the primary passes SIGHUP on.
 */
import * as Fs from "node:fs"
import type * as Tls from "node:tls"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { startDemo } from "../support/DemoProcess.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeTlsMaterial } from "../support/TlsMaterial.ts"

const tls = makeTlsMaterial()
afterAll(() => tls.cleanup())

const peerName = (client: RawClient.RawConnection) => (client.socket as Tls.TLSSocket).getPeerCertificate().subject?.CN

/** Waits until the child's stderr matches, up to `millis`. */
const stderrMatches = (stderr: () => string, pattern: RegExp, millis = 15_000) =>
  Effect.gen(function*() {
    const deadline = performance.now() + millis
    while (!pattern.test(stderr())) {
      if (performance.now() > deadline) return false
      yield* RawClient.sleepReal(20)
    }
    return true
  })

const hello = (client: RawClient.RawConnection) =>
  Effect.gen(function*() {
    yield* client.write(RawClient.get("/hello"))
    return (yield* client.readResponse()).text
  })

describe("effect-httpserver with TLS (child process)", () => {
  it.live("SIGHUP reloads the certificate files; a pair that does not load is logged and the old one stays", () =>
    Effect.gen(function*() {
      const certFile = tls.write("hup.pem", tls.cert)
      const keyFile = tls.write("hup.key", tls.key)
      const demo = yield* startDemo(["--ssl-cert", certFile, "--ssl-key", keyFile])
      expect(demo.scheme).toBe("https")
      const before = yield* RawClient.connect(demo.port, { tls: true })
      expect(peerName(before)).toBe("first.test")

      Fs.writeFileSync(certFile, tls.renewed.cert)
      Fs.writeFileSync(keyFile, tls.renewed.key)
      demo.child.kill("SIGHUP")
      expect(yield* stderrMatches(demo.stderr, /TLS certificate reloaded/)).toBe(true)
      const after = yield* RawClient.connect(demo.port, { tls: true })
      expect(peerName(after)).toBe("renewed.test")
      expect(yield* hello(after)).toBe("Hello world")
      expect(yield* hello(before)).toBe("Hello world")

      // A key that does not match: refused, logged, the renewed pair stays.
      Fs.copyFileSync(tls.otherKeyFile, keyFile)
      demo.child.kill("SIGHUP")
      expect(yield* stderrMatches(demo.stderr, /not reloaded, the old one stays: ssl\.key: .* does not match/)).toBe(true)
      const still = yield* RawClient.connect(demo.port, { tls: true })
      expect(peerName(still)).toBe("renewed.test")
      expect(yield* hello(still)).toBe("Hello world")

      demo.child.kill("SIGTERM")
      expect(yield* demo.exited).toBe(0)
    }), 60_000)

  it.live("with --processes 2, the primary passes SIGHUP on to every worker", () =>
    Effect.gen(function*() {
      const certFile = tls.write("hup2.pem", tls.cert)
      const keyFile = tls.write("hup2.key", tls.key)
      const demo = yield* startDemo(["--processes", "2", "--ssl-cert", certFile, "--ssl-key", keyFile])
      Fs.writeFileSync(certFile, tls.renewed.cert)
      Fs.writeFileSync(keyFile, tls.renewed.key)
      demo.child.kill("SIGHUP")
      // Each worker logs its reload.
      expect(yield* stderrMatches(demo.stderr, /TLS certificate reloaded[^]*TLS certificate reloaded/)).toBe(true)
      // Whichever worker takes a new connection, it has the new certificate.
      for (let i = 0; i < 8; i++) {
        const client = yield* RawClient.connect(demo.port, { tls: true })
        expect(peerName(client)).toBe("renewed.test")
        expect(yield* hello(client)).toBe("Hello world")
        yield* client.destroy()
      }
      demo.child.kill("SIGTERM")
      expect(yield* demo.exited).toBe(0)
    }), 60_000)
})
