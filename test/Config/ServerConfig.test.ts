import { afterAll, describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import {
  ConfigError,
  decodeServerConfig,
  ServerConfig,
  type ServerConfigInput
} from "../../src/Config/ServerConfig.ts"
import type { TlsConfig } from "../../src/Config/TlsConfig.ts"
import { makeTlsMaterial } from "../support/TlsMaterial.ts"

// Real material: a certificate that does not parse is now refused at decoding.
const tls = makeTlsMaterial()
afterAll(() => tls.cleanup())
const CERT = tls.cert
const KEY = tls.key

/** The issues of a decoding that must fail, as `option: message` lines. */
const problems = (input: unknown) =>
  decodeServerConfig(input).pipe(
    Effect.flip,
    Effect.map((error) => error.issues.map((issue) => `${issue.option}: ${issue.message}`))
  )

/** The type the server consumes, as a user reads it (derived from the registry, checked here). */
interface Consumed {
  readonly host: string
  readonly port: number
  readonly unixSocket: string | undefined
  readonly unixSocketMode: number
  readonly processes: number
  readonly noKeepAlive: boolean
  readonly xheaders: boolean
  readonly forwarded: boolean
  readonly trustedDownstream: ReadonlyArray<string>
  readonly proxyProtocol: boolean
  readonly proxyProtocolFrom: ReadonlyArray<string>
  readonly protocol: "http" | "https" | undefined
  readonly decompressRequest: boolean
  readonly chunkSize: number
  readonly maxHeaderSize: number
  readonly maxRequestLineSize: number
  readonly maxBodySize: number
  readonly maxBufferSize: number
  readonly idleConnectionTimeout: Duration.Duration
  readonly headerTimeout: Duration.Duration
  readonly bodyTimeout: Duration.Duration | undefined
  readonly shutdownTimeout: Duration.Duration
  readonly writeTimeout: Duration.Duration
  readonly maxConnections: number | undefined
  readonly accessLog: boolean
  readonly compressResponse: boolean
  readonly http2: boolean
  readonly maxConcurrentStreams: number
  readonly drainDelay: Duration.Duration
  readonly handshakeTimeout: Duration.Duration
  readonly ssl: TlsConfig | undefined
}

describe("ServerConfig", () => {
  it("decodes to exactly the ServerConfig interface", () => {
    expectTypeOf<typeof ServerConfig.Type>().toEqualTypeOf<ServerConfig>()
    expectTypeOf<ServerConfig>().toEqualTypeOf<Consumed>()
    expectTypeOf<{ port: 0; maxBodySize: "1 MiB"; bodyTimeout: "5 seconds" }>().toExtend<ServerConfigInput>()
    expectTypeOf<{ maxBodySize: 1024; headerTimeout: Duration.Duration; ssl: { cert: string; key: string } }>()
      .toExtend<ServerConfigInput>()
  })

  it.effect("applies Tornado's defaults to an empty input", () =>
    Effect.gen(function*() {
      const config = yield* decodeServerConfig({})
      expect(config).toEqual({
        host: "127.0.0.1",
        port: 8888,
        unixSocket: undefined,
        unixSocketMode: 0o600,
        processes: 1,
        noKeepAlive: false,
        xheaders: false,
        forwarded: false,
        trustedDownstream: [],
        proxyProtocol: false,
        proxyProtocolFrom: [],
        protocol: undefined,
        decompressRequest: false,
        chunkSize: 65536,
        maxHeaderSize: 65536,
        maxRequestLineSize: 8192,
        maxBodySize: 104857600,
        maxBufferSize: 104857600,
        idleConnectionTimeout: config.idleConnectionTimeout,
        headerTimeout: config.headerTimeout,
        bodyTimeout: undefined,
        shutdownTimeout: config.shutdownTimeout,
        drainDelay: config.drainDelay,
        writeTimeout: config.writeTimeout,
        maxConnections: undefined,
        ssl: undefined,
        accessLog: false,
        compressResponse: false,
        http2: false,
        maxConcurrentStreams: 100,
        handshakeTimeout: config.handshakeTimeout
      })
      expect(Duration.toMillis(config.handshakeTimeout)).toBe(10_000)
      expect(Duration.toMillis(config.writeTimeout)).toBe(60_000)
      expect(Duration.toMillis(config.idleConnectionTimeout)).toBe(3_600_000)
      expect(Duration.toMillis(config.headerTimeout)).toBe(60_000)
      expect(Duration.toMillis(config.shutdownTimeout)).toBe(30_000)
      expect(Duration.toMillis(config.drainDelay)).toBe(0)
    }))

  it.effect("treats undefined like an absent field", () =>
    Effect.gen(function*() {
      const config = yield* decodeServerConfig({ port: undefined, unixSocket: undefined, bodyTimeout: undefined })
      expect(config.port).toBe(8888)
      expect(config.unixSocket).toBeUndefined()
      expect(config.bodyTimeout).toBeUndefined()
    }))

  it.effect("decodes the library form: sizes as text, durations as Duration.Input", () =>
    Effect.gen(function*() {
      const config = yield* decodeServerConfig({
        port: 0,
        host: "::",
        unixSocket: "/tmp/s.sock",
        processes: 0,
        noKeepAlive: true,
        xheaders: true,
        decompressRequest: true,
        trustedDownstream: ["10.0.0.0/8", "::1"],
        protocol: "https",
        chunkSize: "64 KiB",
        maxHeaderSize: "8KiB",
        maxBodySize: "1 MiB",
        maxBufferSize: 1000,
        idleConnectionTimeout: 1500,
        headerTimeout: "2 seconds",
        bodyTimeout: "5 seconds",
        shutdownTimeout: Duration.minutes(1),
        ssl: { cert: CERT, key: KEY }
      })
      expect(config.port).toBe(0)
      expect(config.processes).toBe(0)
      expect(config.chunkSize).toBe(65536)
      expect(config.maxHeaderSize).toBe(8192)
      expect(config.maxBodySize).toBe(1048576)
      expect(config.maxBufferSize).toBe(1000)
      expect(Duration.toMillis(config.idleConnectionTimeout)).toBe(1500)
      expect(Duration.toMillis(config.headerTimeout)).toBe(2000)
      expect(config.bodyTimeout && Duration.toMillis(config.bodyTimeout)).toBe(5000)
      expect(Duration.toMillis(config.shutdownTimeout)).toBe(60_000)
      expect(config.trustedDownstream).toEqual(["10.0.0.0/8", "::1"])
      expect(config.protocol).toBe("https")
      expect(config.ssl).toMatchObject({ cert: CERT, key: KEY, sni: [], source: { cert: CERT, key: KEY } })
      expect([config.noKeepAlive, config.xheaders, config.decompressRequest]).toEqual([true, true, true])
    }))

  it.effect("accepts zero durations", () =>
    Effect.gen(function*() {
      const config = yield* decodeServerConfig({ headerTimeout: 0, bodyTimeout: "0 seconds" })
      expect(Duration.isZero(config.headerTimeout)).toBe(true)
    }))

  describe("invalid fields, each named", () => {
    const cases: ReadonlyArray<readonly [input: Record<string, unknown>, problem: string]> = [
      [{ port: 70000 }, "port: must be an integer from 0 to 65535, got 70000"],
      [{ port: -1 }, "port: must be an integer from 0 to 65535, got -1"],
      [{ port: 80.5 }, "port: must be an integer from 0 to 65535, got 80.5"],
      [{ port: "80" }, "port: must be an integer from 0 to 65535, got \"80\""],
      [{ host: "" }, "host: must be a host name or IP address, got \"\""],
      [{ host: 1 }, "host: must be a host name or IP address, got 1"],
      [{ unixSocket: "" }, "unixSocket: must be a socket path, got \"\""],
      [{ processes: -1 }, "processes: must be an integer >= 0 (0 means one per CPU), got -1"],
      [{ noKeepAlive: "yes" }, "noKeepAlive: must be true or false, got \"yes\""],
      [{ xheaders: 1 }, "xheaders: must be true or false, got 1"],
      [{ decompressRequest: null }, "decompressRequest: must be true or false, got null"],
      [{ protocol: "ftp" }, "protocol: must be \"http\" or \"https\", got \"ftp\""],
      [{ trustedDownstream: ["10.0.0.0/8", "nope"] }, "trustedDownstream: \"nope\" is neither an IP address nor a CIDR range"],
      [
        { trustedDownstream: ["a", "10.0.0.0/33"] },
        "trustedDownstream: \"a\", \"10.0.0.0/33\" are neither IP addresses nor CIDR ranges"
      ],
      [{ trustedDownstream: "10.0.0.1" }, "trustedDownstream: must be a list of IP addresses or CIDR ranges, got \"10.0.0.1\""],
      [{ chunkSize: 0 }, "chunkSize: must be a positive number of bytes (an integer, or a string like \"64 KiB\"), got 0"],
      [{ maxHeaderSize: -5 }, "maxHeaderSize: must be a positive number of bytes (an integer, or a string like \"64 KiB\"), got -5"],
      [{ maxBodySize: 1.5 }, "maxBodySize: must be a positive number of bytes (an integer, or a string like \"64 KiB\"), got 1.5"],
      [{ maxBodySize: "-1 MiB" }, "maxBodySize: must not be negative, got \"-1 MiB\""],
      [{ maxBufferSize: "3 TB" }, "maxBufferSize: unknown unit \"TB\": use KiB, MiB, GiB, KB, MB or GB, got \"3 TB\""],
      [{ maxBufferSize: "0 KiB" }, "maxBufferSize: must be more than 0 bytes, got \"0 KiB\""],
      [{ idleConnectionTimeout: -1 }, "idleConnectionTimeout: must be a finite, non-negative duration, got -1"],
      [{ headerTimeout: "Infinity" }, "headerTimeout: must be a finite, non-negative duration, got \"Infinity\""],
      [
        { bodyTimeout: "soon" },
        "bodyTimeout: must be a duration (milliseconds, a string like \"5 seconds\", or a Duration), got \"soon\""
      ],
      [
        { shutdownTimeout: Number.NaN },
        "shutdownTimeout: must be a duration (milliseconds, a string like \"5 seconds\", or a Duration), got NaN"
      ],
      [{ shutdownTimeout: true }, "shutdownTimeout: must be a duration (milliseconds, a string like \"5 seconds\", or a Duration), got true"],
      [{ ssl: { cert: CERT } }, "ssl.key: is required (ssl needs both cert and key)"],
      [{ ssl: { key: KEY } }, "ssl.cert: is required (ssl needs both cert and key)"],
      // Text without a PEM block is a file path.
      [{ ssl: { cert: "not pem", key: KEY } }, "ssl.cert: cannot read \"not pem\": no such file"],
      [
        { ssl: { cert: CERT, key: "-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n" } },
        "ssl.key: is not an unencrypted PEM private key"
      ],
      [{ ssl: "both" }, "ssl: must be { cert, key } (PEM text or file paths), or { secureContext }, got \"both\""],
      [{ bogus: 1 }, "bogus: unknown option"],
      [{ proxyProtocolFrom: ["10.0.0.1"] }, "proxyProtocolFrom: needs proxyProtocol"],
      [{ proxyProtocol: false, proxyProtocolFrom: ["10.0.0.1"] }, "proxyProtocolFrom: needs proxyProtocol"]
    ]
    for (const [input, problem] of cases) {
      it.effect(problem, () =>
        Effect.gen(function*() {
          expect(yield* problems(input)).toEqual([problem])
        }))
    }
  })

  it.effect("never echoes the private key", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(decodeServerConfig({ ssl: { cert: CERT, key: "TOP SECRET" } }))
      expect(error.message).not.toContain("TOP SECRET")
      const typeError = yield* Effect.flip(decodeServerConfig({ ssl: { cert: CERT, key: 12345 } }))
      expect(typeError.message).toBe("ssl.key: must be PEM text or a file path (a string or bytes)")
    }))

  it.effect("reports every bad field at once, unknown keys first", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(decodeServerConfig({
        port: 70000,
        maxBodySize: "-5",
        protocol: "ftp",
        trustedDownstream: ["nope"],
        headerTimeout: -1,
        colour: "blue",
        keepAlive: false
      }))
      expect(error).toBeInstanceOf(ConfigError)
      expect(error._tag).toBe("ConfigError")
      expect(error.issues.map((issue) => issue.option)).toEqual([
        "colour",
        "keepAlive",
        "port",
        "trustedDownstream",
        "protocol",
        "maxBodySize",
        "headerTimeout"
      ])
      expect(error.message).toBe(
        error.issues.map((issue) => `${issue.option}: ${issue.message}`).join("; ")
      )
      expect(error.message).toContain("port: must be an integer from 0 to 65535, got 70000")
    }))

  it.effect("refuses an input that is not an object", () =>
    Effect.gen(function*() {
      expect(yield* problems(null)).toEqual(["config: must be an object of server options, got null"])
      expect(yield* problems("port=80")).toEqual(["config: must be an object of server options, got \"port=80\""])
    }))
})
