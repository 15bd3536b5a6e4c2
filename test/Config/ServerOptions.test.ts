/**
 * The registry of options, over every option: the same value through the
 * library's API, the environment and the command line decodes to the same
 * `ServerConfig`; a bad value through each is named as the user wrote it;
 * and the docs' option tables are the registry's.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Result } from "effect"
import { parseOptions } from "../../src/cli/Options.ts"
import { decodeServerConfig, ServerConfig } from "../../src/Config/ServerConfig.ts"
import { loadServerConfig } from "../../src/Config/ServerConfigFromEnv.ts"
import {
  defaultText,
  flagOf,
  flagUsage,
  OPTION_ENTRIES,
  SERVER_OPTIONS,
  TEXT_OPTIONS,
  variableOf
} from "../../src/Config/ServerOptions.ts"
import { TlsConfig } from "../../src/Config/TlsConfig.ts"
import { commandTable, configTable, tableIn } from "../../scripts/option-tables.ts"
import { ROOT } from "../support/Processes.ts"
import { makeTlsMaterial } from "../support/TlsMaterial.ts"

const tls = makeTlsMaterial()
afterAll(() => tls.cleanup())
const notPem = tls.write("not-pem.txt", "hello\n")

/** One value as code writes it (`api`) and as text (`text`). */
interface Written {
  readonly api: unknown
  readonly text: string
}

interface Sample {
  readonly good: Written
  /** A bad value; its `text` is `""` where no text is bad but an empty one (an empty variable is unset). */
  readonly bad: Written
  /** Other options it needs, given the same way. */
  readonly with?: Readonly<Record<string, Written>>
}

const SWITCH: Sample = { good: { api: true, text: "true" }, bad: { api: "yes", text: "maybe" } }
const SIZE: Sample = { good: { api: "32 KiB", text: "32KiB" }, bad: { api: 0, text: "-5" } }
const SECONDS: Sample = { good: { api: Duration.millis(1500), text: "1.5" }, bad: { api: -1, text: "soon" } }
const PAIR = { "ssl.cert": { api: tls.certFile, text: tls.certFile }, "ssl.key": { api: tls.keyFile, text: tls.keyFile } }
const TLS_VERSION: Sample = { good: { api: "TLSv1.3", text: "TLSv1.3" }, bad: { api: "TLSv9", text: "TLSv9" }, with: PAIR }

/** A sample for every option text may set: a new option without one fails the first test. */
const SAMPLES: Readonly<Record<string, Sample>> = {
  host: { good: { api: "::1", text: "::1" }, bad: { api: "", text: "" } },
  port: { good: { api: 0, text: "0" }, bad: { api: 70000, text: "70000" } },
  unixSocket: { good: { api: "/tmp/registry.sock", text: "/tmp/registry.sock" }, bad: { api: "", text: "" } },
  unixSocketMode: {
    good: { api: 0o640, text: "640" },
    bad: { api: 0o1000, text: "999" },
    with: { unixSocket: { api: "/tmp/registry.sock", text: "/tmp/registry.sock" } }
  },
  processes: { good: { api: 2, text: "2" }, bad: { api: -1, text: "-1" } },
  noKeepAlive: SWITCH,
  xheaders: SWITCH,
  forwarded: SWITCH,
  trustedDownstream: {
    good: { api: ["10.0.0.0/8", "::1"], text: "10.0.0.0/8,::1" },
    bad: { api: ["10.0.0.1", "nope"], text: "10.0.0.1,nope" }
  },
  proxyProtocol: SWITCH,
  proxyProtocolFrom: {
    good: { api: ["10.0.0.0/8", "::1"], text: "10.0.0.0/8,::1" },
    bad: { api: ["10.0.0.1", "nope"], text: "10.0.0.1,nope" },
    with: { proxyProtocol: SWITCH.good }
  },
  protocol: { good: { api: "https", text: "https" }, bad: { api: "ftp", text: "ftp" } },
  decompressRequest: SWITCH,
  chunkSize: SIZE,
  maxHeaderSize: SIZE,
  maxRequestLineSize: SIZE,
  maxBodySize: SIZE,
  maxBufferSize: SIZE,
  idleConnectionTimeout: SECONDS,
  headerTimeout: SECONDS,
  bodyTimeout: SECONDS,
  shutdownTimeout: SECONDS,
  drainDelay: SECONDS,
  writeTimeout: SECONDS,
  maxConnections: { good: { api: 100, text: "100" }, bad: { api: 0, text: "0" } },
  accessLog: SWITCH,
  compressResponse: SWITCH,
  http2: SWITCH,
  maxConcurrentStreams: { good: { api: 250, text: "250" }, bad: { api: 0, text: "0" } },
  handshakeTimeout: SECONDS,
  "ssl.cert": {
    good: { api: tls.certFile, text: tls.certFile },
    bad: { api: notPem, text: notPem },
    with: { "ssl.key": PAIR["ssl.key"] }
  },
  "ssl.key": {
    good: { api: tls.keyFile, text: tls.keyFile },
    bad: { api: tls.otherKeyFile, text: tls.otherKeyFile },
    with: { "ssl.cert": PAIR["ssl.cert"] }
  },
  "ssl.passphrase": {
    good: { api: tls.passphrase, text: tls.passphrase },
    bad: { api: "wrong horse", text: "wrong horse" },
    with: { ...PAIR, "ssl.key": { api: tls.encryptedKeyFile, text: tls.encryptedKeyFile } }
  },
  "ssl.ca": { good: { api: tls.certFile, text: tls.certFile }, bad: { api: notPem, text: notPem }, with: PAIR },
  "ssl.minVersion": TLS_VERSION,
  "ssl.maxVersion": TLS_VERSION,
  "ssl.ciphers": {
    good: { api: "ECDHE-ECDSA-AES128-GCM-SHA256", text: "ECDHE-ECDSA-AES128-GCM-SHA256" },
    bad: { api: "NO-SUCH-CIPHER", text: "NO-SUCH-CIPHER" },
    with: PAIR
  }
}

/** The library's input: `ssl.cert` goes into `ssl`. */
const apiInput = (values: Readonly<Record<string, Written>>): Record<string, unknown> => {
  const input: Record<string, Record<string, unknown> | unknown> = {}
  for (const [path, { api }] of Object.entries(values)) {
    const [outer = "", inner] = path.split(".")
    if (inner === undefined) input[outer] = api
    else input[outer] = { ...(input[outer] as Record<string, unknown> | undefined), [inner]: api }
  }
  return input
}

const environment = (values: Readonly<Record<string, Written>>): Record<string, string> =>
  Object.fromEntries(Object.entries(values).map(([path, { text }]) => [variableOf(path), text]))

const isSwitch = (path: string) => TEXT_OPTIONS.find((option) => option.path === path)?.text === "switch"

/** The command line: a switch is given by its presence, unless its (bad) text is not `true`. */
const argv = (values: Readonly<Record<string, Written>>): Array<string> =>
  Object.entries(values).map(([path, { text }]) =>
    isSwitch(path) && text === "true" ? flagOf(path) : `${flagOf(path)}=${text}`
  )

const fromApi = (values: Readonly<Record<string, Written>>) => decodeServerConfig(apiInput(values))
const fromEnvironment = (values: Readonly<Record<string, Written>>) =>
  loadServerConfig().pipe(
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: environment(values) }))
  )
const fromCommandLine = (values: Readonly<Record<string, Written>>) => parseOptions(argv(values), {})

/** A config to compare: TLS as what was given (its contexts are Node objects, new each time). */
const comparable = (config: ServerConfig) => ({ ...config, ssl: config.ssl?.source })

const lines = (issues: ReadonlyArray<{ readonly option: string; readonly message: string }>) =>
  issues.map((issue) => `${issue.option}: ${issue.message}`)

describe("the registry of options", () => {
  it("has a sample for every option text may set; the environment takes every option the command line takes", () => {
    expect(Object.keys(SAMPLES)).toEqual(TEXT_OPTIONS.map((option) => option.path))
    for (const option of TEXT_OPTIONS) expect([option.path, option.commandLine, option.environment]).toEqual([option.path, true, true])
  })

  it("is the ServerConfig schema: one field per option, `ssl`'s parts the TLS input's fields", () => {
    expect(Object.keys(ServerConfig.fields)).toEqual(Object.keys(SERVER_OPTIONS))
    expect(Object.keys(SERVER_OPTIONS.ssl.parts).sort()).toEqual(Object.keys(TlsConfig.from.fields).sort())
  })

  it("names each option's flag and variable from its name", () => {
    expect(flagOf("maxBodySize")).toBe("--max-body-size")
    expect(flagOf("ssl.minVersion")).toBe("--ssl-min-version")
    expect(variableOf("ssl.minVersion")).toBe("HTTP_SSL_MIN_VERSION")
    expect(variableOf("xheaders")).toBe("HTTP_XHEADERS")
  })

  for (const [path, sample] of Object.entries(SAMPLES)) {
    const good = { ...sample.with, [path]: sample.good }
    const bad = { ...sample.with, [path]: sample.bad }

    it.effect(`${path}: one value through the API, ${variableOf(path)} and ${flagOf(path)} decodes alike`, () =>
      Effect.gen(function*() {
        const api = comparable(yield* fromApi(good))
        // Not the default: the value was taken.
        const without = yield* Effect.result(fromApi(sample.with ?? {}))
        expect(Result.isSuccess(without) ? comparable(without.success) : "refused").not.toEqual(api)
        expect(comparable(yield* fromEnvironment(good))).toEqual(api)
        expect(comparable(yield* fromCommandLine(good))).toEqual(api)
      }))

    it.effect(`${path}: a bad value is named ${path}, ${variableOf(path)}, ${flagOf(path)}`, () =>
      Effect.gen(function*() {
        const api = lines((yield* Effect.flip(fromApi(bad))).issues)
        expect(api.filter((line) => line.startsWith(`${path}: `))).toHaveLength(1)
        const command = yield* Effect.flip(fromCommandLine(bad))
        const commandLines = command._tag === "InvalidOptions" ? command.problems : []
        expect(commandLines.filter((line) => line.startsWith(`${flagOf(path)}: `))).toHaveLength(1)
        // An empty variable is unset, so an option only text that is empty can get wrong has no bad variable.
        if (sample.bad.text === "") return
        const environmentLines = lines((yield* Effect.flip(fromEnvironment(bad))).issues)
        expect(environmentLines.filter((line) => line.startsWith(`${variableOf(path)}: `))).toHaveLength(1)
        // The same message, whoever wrote it (a switch on the command line takes no value at all).
        if (isSwitch(path)) return
        expect(environmentLines.map((line) => line.slice(variableOf(path).length)))
          .toEqual(commandLines.map((line) => line.slice(flagOf(path).length)))
      }))
  }
})

describe("the docs' option tables (scripts/option-tables.ts makes them)", () => {
  it("README's table of the command's options is the registry's (flag, variable, meaning, default)", () => {
    expect(tableIn("README.md", "command")).toBe(commandTable())
  })

  it("ARCHITECTURE's table of ServerConfig is the registry's (name, default, flag, variable)", () => {
    expect(tableIn("docs/ARCHITECTURE.md", "config")).toBe(configTable())
  })
})
