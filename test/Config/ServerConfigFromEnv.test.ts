/**
 * The server's options from the environment: one `HTTP_*` variable per
 * option, read through Effect's `ConfigProvider`, decoded by the same schema
 * with the same messages, named by the variable.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect } from "effect"
import { decodeServerConfig, ServerConfig } from "../../src/Config/ServerConfig.ts"
import { loadServerConfig, variableOf } from "../../src/Config/ServerConfigFromEnv.ts"
import { TEXT_OPTIONS } from "../../src/Config/ServerOptions.ts"
import { makeTlsMaterial } from "../support/TlsMaterial.ts"

const tls = makeTlsMaterial()
afterAll(() => tls.cleanup())

const withEnv = (env: Record<string, string>) => Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))

/** The issues of a refused environment, as `option: message` lines. */
const refused = (env: Record<string, string>) =>
  loadServerConfig().pipe(
    withEnv(env),
    Effect.flip,
    Effect.map((error) => error.issues.map((issue) => `${issue.option}: ${issue.message}`))
  )

describe("ServerConfigFromEnv", () => {
  it("has one variable per option, named as the command line's option", () => {
    for (const field of Object.keys(ServerConfig.fields)) {
      const covered = TEXT_OPTIONS.some((option) =>
        option.environment && (option.path === field || option.path.startsWith(`${field}.`))
      )
      expect(covered, `no variable for ${field}`).toBe(true)
    }
    expect(variableOf("maxBodySize")).toBe("HTTP_MAX_BODY_SIZE")
    expect(variableOf("max-body-size")).toBe("HTTP_MAX_BODY_SIZE")
    expect(variableOf("ssl.cert")).toBe("HTTP_SSL_CERT")
    expect(variableOf("xheaders")).toBe("HTTP_XHEADERS")
    expect(variableOf("trustedDownstream")).toBe("HTTP_TRUSTED_DOWNSTREAM")
  })

  it.effect("gives the defaults when no variable is set", () =>
    Effect.gen(function*() {
      const config = yield* loadServerConfig().pipe(withEnv({ PATH: "/usr/bin", HTTP: "x" }))
      expect(config).toEqual(yield* decodeServerConfig({}))
    }))

  it.effect("reads every kind of value as the command line writes it", () =>
    Effect.gen(function*() {
      const config = yield* loadServerConfig().pipe(withEnv({
        HTTP_HOST: "::1",
        HTTP_PORT: "0",
        HTTP_PROCESSES: "2",
        HTTP_XHEADERS: "true",
        HTTP_NO_KEEP_ALIVE: "FALSE",
        HTTP_DECOMPRESS_REQUEST: "true",
        HTTP_TRUSTED_DOWNSTREAM: "10.0.0.0/8, ::1,",
        HTTP_PROTOCOL: "https",
        HTTP_MAX_BODY_SIZE: "1MiB",
        HTTP_MAX_HEADER_SIZE: "8192",
        HTTP_BODY_TIMEOUT: "0.5",
        HTTP_HEADER_TIMEOUT: "10",
        HTTP_MAX_CONNECTIONS: "100",
        HTTP_ACCESS_LOG: "true"
      }))
      expect(config.host).toBe("::1")
      expect(config.port).toBe(0)
      expect(config.processes).toBe(2)
      expect(config.xheaders).toBe(true)
      expect(config.noKeepAlive).toBe(false)
      expect(config.decompressRequest).toBe(true)
      expect(config.trustedDownstream).toEqual(["10.0.0.0/8", "::1"])
      expect(config.protocol).toBe("https")
      expect(config.maxBodySize).toBe(1024 * 1024)
      expect(config.maxHeaderSize).toBe(8192)
      expect(Duration.toMillis(config.bodyTimeout ?? Duration.zero)).toBe(500)
      expect(Duration.toMillis(config.headerTimeout)).toBe(10_000)
      expect(config.maxConnections).toBe(100)
      expect(config.accessLog).toBe(true)
    }))

  it.effect("a variable wins over the default given in code; an empty one is unset", () =>
    Effect.gen(function*() {
      const config = yield* loadServerConfig({ port: 9000, host: "0.0.0.0", maxBodySize: "1 KiB" }).pipe(
        withEnv({ HTTP_PORT: "0", HTTP_HOST: "" })
      )
      expect(config.port).toBe(0)
      expect(config.host).toBe("0.0.0.0")
      expect(config.maxBodySize).toBe(1024)
    }))

  it.effect("a bad value gets the schema's message, naming the variable; all of them at once", () =>
    Effect.gen(function*() {
      const fromCode = yield* Effect.flip(decodeServerConfig({ port: 70000 }))
      expect(yield* refused({ HTTP_PORT: "70000" })).toEqual([`HTTP_PORT: ${fromCode.issues[0]?.message}`])
      expect(yield* refused({ HTTP_PORT: "70000" })).toEqual(["HTTP_PORT: must be an integer from 0 to 65535, got 70000"])
      expect(
        yield* refused({
          HTTP_PORT: "eighty",
          HTTP_XHEADERS: "yes",
          HTTP_MAX_BODY_SIZE: "-5",
          HTTP_TRUSTED_DOWNSTREAM: "10.0.0.0/8,not-an-ip",
          HTTP_BODY_TIMEOUT: "soon",
          HTTP_PROTOCOL: "ftp"
        })
      ).toEqual([
        "HTTP_XHEADERS: must be true or false, got \"yes\"",
        "HTTP_BODY_TIMEOUT: must be a number of seconds, like 30 or 0.1, got \"soon\"",
        "HTTP_PORT: must be an integer from 0 to 65535, got \"eighty\"",
        "HTTP_TRUSTED_DOWNSTREAM: \"not-an-ip\" is neither an IP address nor a CIDR range",
        "HTTP_PROTOCOL: must be \"http\" or \"https\", got \"ftp\"",
        "HTTP_MAX_BODY_SIZE: must not be negative, got \"-5\""
      ])
    }))

  it.effect("a bad default given in code is named by its option", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(loadServerConfig({ maxBodySize: 0 }).pipe(withEnv({ HTTP_PORT: "1" })))
      expect(error.issues.map((issue) => issue.option)).toEqual(["maxBodySize"])
    }))

  it.effect("HTTP_PORT with HTTP_UNIX_SOCKET is a conflict, not a silent choice; either alone is fine", () =>
    Effect.gen(function*() {
      expect(yield* refused({ HTTP_PORT: "8080", HTTP_UNIX_SOCKET: "/tmp/app.sock" })).toEqual([
        "HTTP_UNIX_SOCKET: cannot be used with HTTP_PORT (a Unix socket has no port)"
      ])
      const unix = yield* loadServerConfig().pipe(withEnv({ HTTP_UNIX_SOCKET: "/tmp/app.sock" }))
      expect(unix.unixSocket).toBe("/tmp/app.sock")
      const tcp = yield* loadServerConfig().pipe(withEnv({ HTTP_PORT: "8080" }))
      expect([tcp.port, tcp.unixSocket]).toEqual([8080, undefined])
    }))

  it.effect("ssl needs both of its variables", () =>
    Effect.gen(function*() {
      // A real certificate (one that does not parse is refused for itself).
      expect(yield* refused({ HTTP_SSL_CERT: tls.certFile })).toEqual([
        "HTTP_SSL_KEY: required with HTTP_SSL_CERT"
      ])
    }))
})
