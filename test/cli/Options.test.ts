import { describe, expect, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll } from "vitest"
import type * as Tls from "node:tls"
import { Duration, Effect } from "effect"
import { parseOptions, usage } from "../../src/cli/Options.ts"
import { flagOf, TEXT_OPTIONS, variableOf } from "../../src/Config/ServerOptions.ts"
import { startDemo } from "../support/DemoProcess.ts"
import * as RawClient from "../support/RawClient.ts"
import { makeTlsMaterial } from "../support/TlsMaterial.ts"

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url))

/** Throwaway TLS material: a self-signed certificate with its key, and an unrelated key. */
let dir = ""
const file = (name: string) => join(dir, name)

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "effect-httpserver-options-"))
  writeFileSync(file("not-a-cert.pem"), "hello\n")
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
  execFileSync("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    file("key.pem"),
    "-out",
    file("cert.pem"),
    "-days",
    "1",
    "-subj",
    "/CN=localhost"
  ], { stdio: "ignore" })
  execFileSync("openssl", [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-out",
    file("other-key.pem")
  ], { stdio: "ignore" })
})

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true })
})

/** The problem lines of a command line that must be refused. */
const problems = (argv: ReadonlyArray<string>) =>
  parseOptions(argv).pipe(
    Effect.flip,
    Effect.map((error) => error._tag === "InvalidOptions" ? error.problems : [`unexpected ${error._tag}`])
  )

describe("parseOptions", () => {
  it.effect("gives Tornado's defaults for an empty command line", () =>
    Effect.gen(function*() {
      const config = yield* parseOptions([])
      expect(config.host).toBe("127.0.0.1")
      expect(config.port).toBe(8888)
      expect(config.maxBodySize).toBe(104857600)
      expect(config.bodyTimeout).toBeUndefined()
      expect(config.ssl).toBeUndefined()
    }))

  it.effect("reads every kind of option", () =>
    Effect.gen(function*() {
      const config = yield* parseOptions([
        "--host",
        "::1",
        "--port=0",
        "--processes",
        "0",
        "--xheaders",
        "--trusted-downstream",
        "10.0.0.0/8, ::1",
        "--trusted-downstream",
        "192.168.0.1",
        "--protocol",
        "https",
        "--no-keep-alive",
        "--decompress-request",
        "--chunk-size",
        "64KiB",
        "--max-header-size",
        "8 KiB",
        "--max-request-line-size",
        "2KiB",
        "--idle-connection-timeout",
        "1.5",
        "--header-timeout",
        "0.1",
        "--body-timeout",
        "2",
        "--max-body-size",
        "1MB",
        "--max-buffer-size",
        "1000",
        "--shutdown-timeout",
        "0"
      ])
      expect(config.host).toBe("::1")
      expect(config.port).toBe(0)
      expect(config.processes).toBe(0)
      expect(config.xheaders).toBe(true)
      expect(config.trustedDownstream).toEqual(["10.0.0.0/8", "::1", "192.168.0.1"])
      expect(config.protocol).toBe("https")
      expect(config.noKeepAlive).toBe(true)
      expect(config.decompressRequest).toBe(true)
      expect(config.chunkSize).toBe(65536)
      expect(config.maxHeaderSize).toBe(8192)
      expect(config.maxRequestLineSize).toBe(2048)
      expect(Duration.toMillis(config.idleConnectionTimeout)).toBe(1500)
      expect(Duration.toMillis(config.headerTimeout)).toBe(100)
      expect(config.bodyTimeout && Duration.toMillis(config.bodyTimeout)).toBe(2000)
      expect(config.maxBodySize).toBe(1_000_000)
      expect(config.maxBufferSize).toBe(1000)
      expect(Duration.isZero(config.shutdownTimeout)).toBe(true)
    }))

  it.effect("--compress-response: off by default, on from the flag or HTTP_COMPRESS_RESPONSE; it takes no value", () =>
    Effect.gen(function*() {
      expect((yield* parseOptions([])).compressResponse).toBe(false)
      expect((yield* parseOptions(["--compress-response"])).compressResponse).toBe(true)
      expect((yield* parseOptions([], { HTTP_COMPRESS_RESPONSE: "true" })).compressResponse).toBe(true)
      expect((yield* parseOptions([], { HTTP_COMPRESS_RESPONSE: "false" })).compressResponse).toBe(false)
      expect(yield* problems(["--compress-response=yes"])).toEqual(["--compress-response: takes no value, got \"yes\""])
    }))

  it.effect("reads a Unix socket and its mode (octal, as chmod takes it; default 600)", () =>
    Effect.gen(function*() {
      const config = yield* parseOptions(["--unix-socket", "/tmp/demo.sock"])
      expect(config.unixSocket).toBe("/tmp/demo.sock")
      expect(config.unixSocketMode).toBe(0o600)
      for (const [text, mode] of [["660", 0o660], ["0640", 0o640], ["0o666", 0o666], ["0", 0]] as const) {
        expect((yield* parseOptions(["--unix-socket", "/tmp/demo.sock", "--unix-socket-mode", text])).unixSocketMode)
          .toBe(mode)
      }
    }))

  it.effect("refuses a bad mode, a mode without a socket, and a socket with a port", () =>
    Effect.gen(function*() {
      for (const text of ["999", "rw-------", "1777", "-600", ""]) {
        expect(yield* problems(["--unix-socket", "/tmp/s", `--unix-socket-mode=${text}`])).toEqual([
          `--unix-socket-mode: must be an octal file mode from 0 to 777 (e.g. 600 or 0660), got ${JSON.stringify(text)}`
        ])
      }
      expect(yield* problems(["--unix-socket-mode", "600"])).toEqual(["--unix-socket-mode: needs --unix-socket"])
      expect(yield* problems(["--proxy-protocol-from", "10.0.0.1"])).toEqual(["--proxy-protocol-from: needs --proxy-protocol"])
      expect(yield* problems(["--unix-socket", "/tmp/s", "--port", "8000"])).toEqual([
        "--unix-socket: cannot be used with --port (a Unix socket has no port)"
      ])
      expect(yield* problems(["--port", "0", "--unix-socket", "/tmp/s"])).toEqual([
        "--unix-socket: cannot be used with --port (a Unix socket has no port)"
      ])
    }))

  it.effect("lets the last occurrence of an option win", () =>
    Effect.gen(function*() {
      expect((yield* parseOptions(["--port", "1", "--port", "2"])).port).toBe(2)
    }))

  it.effect("answers --help and -h with the usage, whatever else is there", () =>
    Effect.gen(function*() {
      for (const argv of [["--help"], ["-h"], ["--bogus", "--help"]]) {
        const error = yield* Effect.flip(parseOptions(argv))
        expect(error._tag).toBe("HelpRequested")
        if (error._tag === "HelpRequested") {
          expect(error.usage).toMatch(/^Usage: effect-httpserver \[options\]/)
          expect(error.usage).toContain("--trusted-downstream LIST")
        }
      }
    }))

  it.effect("reports problems with the command line's shape", () =>
    Effect.gen(function*() {
      expect(yield* problems(["--bogus"])).toEqual(["--bogus: unknown option"])
      expect(yield* problems(["--bogus=1"])).toEqual(["--bogus: unknown option"])
      expect(yield* problems(["-p", "80"])).toEqual(["-p: unknown option", "unexpected argument \"80\" (only options are accepted)"])
      expect(yield* problems(["--port"])).toEqual(["--port: needs a value (N)"])
      expect(yield* problems(["--port", "--xheaders"])).toEqual(["--port: needs a value (N)"])
      expect(yield* problems(["--xheaders=yes"])).toEqual(["--xheaders: takes no value, got \"yes\""])
      expect(yield* problems(["serve"])).toEqual(["unexpected argument \"serve\" (only options are accepted)"])
      expect(yield* problems(["--", "--port"])).toEqual(["unexpected argument \"--port\" (only options are accepted)"])
    }))

  it.effect("reports bad values, naming the option", () =>
    Effect.gen(function*() {
      expect(yield* problems(["--port", "70000"])).toEqual(["--port: must be an integer from 0 to 65535, got 70000"])
      expect(yield* problems(["--port", "http"])).toEqual(["--port: must be an integer from 0 to 65535, got \"http\""])
      expect(yield* problems(["--processes", "-1"])).toEqual([
        "--processes: must be an integer >= 0 (0 means one per CPU), got -1"
      ])
      expect(yield* problems(["--max-body-size", "-5"])).toEqual(["--max-body-size: must not be negative, got \"-5\""])
      expect(yield* problems(["--chunk-size", "0"])).toEqual(["--chunk-size: must be more than 0 bytes, got \"0\""])
      expect(yield* problems(["--max-header-size", "1TB"])).toEqual([
        "--max-header-size: unknown unit \"TB\": use KiB, MiB, GiB, KB, MB or GB, got \"1TB\""
      ])
      expect(yield* problems(["--header-timeout", "-1"])).toEqual(["--header-timeout: must not be negative, got \"-1\""])
      expect(yield* problems(["--body-timeout", "soon"])).toEqual([
        "--body-timeout: must be a number of seconds, like 30 or 0.1, got \"soon\""
      ])
      expect(yield* problems(["--protocol", "ftp"])).toEqual(["--protocol: must be \"http\" or \"https\", got \"ftp\""])
      expect(yield* problems(["--trusted-downstream", "10.0.0.0/8,example.com"])).toEqual([
        "--trusted-downstream: \"example.com\" is neither an IP address nor a CIDR range"
      ])
      expect(yield* problems(["--host="])).toEqual(["--host: must be a host name or IP address, got \"\""])
    }))

  it.effect("reports every problem at once, in command-line order", () =>
    Effect.gen(function*() {
      expect(
        yield* problems(["--protocol", "ftp", "--bogus", "--port", "70000", "--max-body-size", "-5", "extra"])
      ).toEqual([
        "--protocol: must be \"http\" or \"https\", got \"ftp\"",
        "--bogus: unknown option",
        "--port: must be an integer from 0 to 65535, got 70000",
        "--max-body-size: must not be negative, got \"-5\"",
        "unexpected argument \"extra\" (only options are accepted)"
      ])
    }))

  it.effect("reports certificate files that cannot be read or parsed", () =>
    Effect.gen(function*() {
      const missing = file("missing.pem")
      expect(yield* problems(["--ssl-cert", missing, "--ssl-key", missing])).toEqual([
        `--ssl-cert: cannot read ${JSON.stringify(missing)}: no such file`,
        `--ssl-key: cannot read ${JSON.stringify(missing)}: no such file`
      ])
      expect(yield* problems(["--ssl-cert", dir, "--ssl-key", file("not-a-cert.pem")])).toEqual([
        `--ssl-cert: cannot read ${JSON.stringify(dir)}: is a directory`,
        `--ssl-key: ${JSON.stringify(file("not-a-cert.pem"))} is not an unencrypted PEM private key`
      ])
      expect(yield* problems(["--ssl-cert", file("not-a-cert.pem")])).toEqual([
        "--ssl-key: required with --ssl-cert",
        `--ssl-cert: ${JSON.stringify(file("not-a-cert.pem"))} is not a PEM certificate`
      ])
    }))

  describe("with TLS material made by openssl", () => {
    it.effect("reads a matching certificate and key as PEM text", () =>
      Effect.gen(function*() {
        const config = yield* parseOptions(["--ssl-cert", file("cert.pem"), "--ssl-key", file("key.pem")])
        expect(config.ssl?.cert).toContain("-----BEGIN CERTIFICATE-----")
        expect(config.ssl?.key).toContain("PRIVATE KEY-----")
      }))

    it.effect("refuses a key that does not match the certificate", () =>
      Effect.gen(function*() {
        expect(yield* problems(["--ssl-cert", file("cert.pem"), "--ssl-key", file("other-key.pem")])).toEqual([
          `--ssl-key: ${JSON.stringify(file("other-key.pem"))} does not match the certificate in ${
            JSON.stringify(file("cert.pem"))
          }`
        ])
      }))

    it.effect("asks for the certificate when only the key is given", () =>
      Effect.gen(function*() {
        expect(yield* problems(["--ssl-key", file("key.pem")])).toEqual(["--ssl-cert: required with --ssl-key"])
      }))
  })
})

describe("parseOptions from the environment", () => {
  const envProblems = (argv: ReadonlyArray<string>, env: Record<string, string>) =>
    parseOptions(argv, env).pipe(
      Effect.flip,
      Effect.map((error) => error._tag === "InvalidOptions" ? error.problems : [`unexpected ${error._tag}`])
    )

  it.effect("takes every option absent from argv from HTTP_<NAME>", () =>
    Effect.gen(function*() {
      const config = yield* parseOptions([], {
        HTTP_PORT: "0",
        HTTP_HOST: "::1",
        HTTP_XHEADERS: "true",
        HTTP_NO_KEEP_ALIVE: "false",
        HTTP_TRUSTED_DOWNSTREAM: "10.0.0.0/8,::1",
        HTTP_MAX_BODY_SIZE: "1MiB",
        HTTP_BODY_TIMEOUT: "0.5",
        HTTP_ACCESS_LOG: "true"
      })
      expect(config.port).toBe(0)
      expect(config.host).toBe("::1")
      expect(config.xheaders).toBe(true)
      expect(config.noKeepAlive).toBe(false)
      expect(config.trustedDownstream).toEqual(["10.0.0.0/8", "::1"])
      expect(config.maxBodySize).toBe(1024 * 1024)
      expect(Duration.toMillis(config.bodyTimeout ?? Duration.zero)).toBe(500)
      expect(config.accessLog).toBe(true)
    }))

  it.effect("a command-line option wins over its variable", () =>
    Effect.gen(function*() {
      const config = yield* parseOptions(["--port", "8080", "--trusted-downstream", "1.2.3.4"], {
        HTTP_PORT: "not even a number",
        HTTP_TRUSTED_DOWNSTREAM: "10.0.0.0/8",
        HTTP_MAX_BODY_SIZE: "2KiB"
      })
      expect(config.port).toBe(8080)
      expect(config.trustedDownstream).toEqual(["1.2.3.4"])
      expect(config.maxBodySize).toBe(2048)
    }))

  it.effect("reads the certificate files the variables name", () =>
    Effect.gen(function*() {
      const config = yield* parseOptions([], { HTTP_SSL_CERT: file("cert.pem"), HTTP_SSL_KEY: file("key.pem") })
      expect(config.ssl?.cert).toContain("BEGIN CERTIFICATE")
    }))

  it.effect("a bad value is named by its variable, after the command line's problems", () =>
    Effect.gen(function*() {
      expect(
        yield* envProblems(["--port", "70000"], {
          HTTP_XHEADERS: "yes",
          HTTP_MAX_BODY_SIZE: "-5",
          HTTP_SSL_KEY: file("missing.pem"),
          HTTP_SSL_CERT: file("cert.pem")
        })
      ).toEqual([
        "--port: must be an integer from 0 to 65535, got 70000",
        "HTTP_XHEADERS: must be true or false, got \"yes\"",
        `HTTP_SSL_KEY: cannot read ${JSON.stringify(file("missing.pem"))}: no such file`,
        "HTTP_MAX_BODY_SIZE: must not be negative, got \"-5\""
      ])
    }))
})

/** Runs the real command in a child process. */
const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const result = spawnSync(process.execPath, [MAIN, ...args], {
    encoding: "utf8",
    timeout: 15_000,
    env: { ...process.env, ...env }
  })
  return {
    status: result.status,
    stdout: result.stdout,
    lines: result.stderr.split("\n").filter((line) => line !== "")
  }
}

describe("effect-httpserver with invalid options (child process)", () => {
  const refused = (args: ReadonlyArray<string>, expected: ReadonlyArray<string>) => {
    const result = run(args, Object.fromEntries(Object.keys(process.env).filter((name) => name.startsWith("HTTP_")).map((name) => [name, ""])))
    expect(result.stdout).toBe("")
    expect(result.lines).toEqual(expected)
    expect(result.status).toBe(2)
  }

  it("an unknown option", () => {
    refused(["--frobnicate"], ["--frobnicate: unknown option"])
  })

  it("a negative size", () => {
    refused(["--max-body-size", "-5"], ["--max-body-size: must not be negative, got \"-5\""])
  })

  it("a port out of range", () => {
    refused(["--port", "70000"], ["--port: must be an integer from 0 to 65535, got 70000"])
  })

  it("a bad variable in the environment", () => {
    const result = run([], { HTTP_PORT: "70000", HTTP_DECOMPRESS_REQUEST: "maybe" })
    expect(result.stdout).toBe("")
    expect(result.lines).toEqual([
      "HTTP_DECOMPRESS_REQUEST: must be true or false, got \"maybe\"",
      "HTTP_PORT: must be an integer from 0 to 65535, got 70000"
    ])
    expect(result.status).toBe(2)
  })

  it("a certificate file that does not exist", () => {
    const missing = file("nowhere/cert.pem")
    refused(
      ["--ssl-cert", missing, "--ssl-key", file("not-a-cert.pem")],
      [
        `--ssl-cert: cannot read ${JSON.stringify(missing)}: no such file`,
        `--ssl-key: ${JSON.stringify(file("not-a-cert.pem"))} is not an unencrypted PEM private key`
      ]
    )
  })

  it("a key that does not match the certificate", () => {
    refused(
      ["--ssl-cert", file("cert.pem"), "--ssl-key", file("other-key.pem")],
      [
        `--ssl-key: ${JSON.stringify(file("other-key.pem"))} does not match the certificate in ${
          JSON.stringify(file("cert.pem"))
        }`
      ]
    )
  })

  it("--protocol ftp", () => {
    refused(["--protocol", "ftp"], ["--protocol: must be \"http\" or \"https\", got \"ftp\""])
  })

  it("a --trusted-downstream entry that is neither an IP address nor a CIDR range", () => {
    refused(
      ["--trusted-downstream", "127.0.0.1,10.0.0.0/40"],
      ["--trusted-downstream: \"10.0.0.0/40\" is neither an IP address nor a CIDR range"]
    )
  })

  it("all of them at once, one line each", () => {
    const missing = file("missing.pem")
    refused(
      [
        "--frobnicate",
        "--max-body-size",
        "-5",
        "--port",
        "70000",
        "--ssl-cert",
        missing,
        "--ssl-key",
        missing,
        "--protocol",
        "ftp",
        "--trusted-downstream",
        "nope"
      ],
      [
        "--frobnicate: unknown option",
        "--max-body-size: must not be negative, got \"-5\"",
        "--port: must be an integer from 0 to 65535, got 70000",
        `--ssl-cert: cannot read ${JSON.stringify(missing)}: no such file`,
        `--ssl-key: cannot read ${JSON.stringify(missing)}: no such file`,
        "--protocol: must be \"http\" or \"https\", got \"ftp\"",
        "--trusted-downstream: \"nope\" is neither an IP address nor a CIDR range"
      ]
    )
  })

  it("--help lists every option of the registry the command line may set, and the environment rule", () => {
    for (const option of TEXT_OPTIONS.filter((entry) => entry.commandLine)) {
      expect(usage).toMatch(new RegExp(`^  ${flagOf(option.path)}[ \\n]`, "m"))
    }
    expect(usage).toContain("--ssl-passphrase TEXT")
    expect(usage).toContain("--ssl-min-version V")
    expect(usage).toContain("--max-body-size BYTES                largest request body (default: 104857600)")
    expect(usage).toContain(`--max-body-size is ${variableOf("maxBodySize")}`)
  })

  it("--help prints the usage on stdout and exits 0", () => {
    const result = spawnSync(process.execPath, [MAIN, "--help"], { encoding: "utf8", timeout: 15_000 })
    expect(result.status).toBe(0)
    expect(result.stderr).toBe("")
    expect(result.stdout).toMatch(/^Usage: effect-httpserver \[options\]\n/)
    for (const option of ["--host", "--port", "--unix-socket", "--ssl-key", "--shutdown-timeout"]) {
      expect(result.stdout).toContain(option)
    }
  })
})

describe("effect-httpserver with the TLS options the library has (child process)", () => {
  const material = makeTlsMaterial()
  afterAll(() => material.cleanup())

  it.live("serves an encrypted key with --ssl-passphrase, only at the version --ssl-min-version allows", () =>
    Effect.gen(function*() {
      const demo = yield* startDemo([
        "--ssl-cert",
        material.certFile,
        "--ssl-key",
        material.encryptedKeyFile,
        "--ssl-passphrase",
        material.passphrase,
        "--ssl-min-version",
        "TLSv1.3",
        "--ssl-ca",
        material.renewed.certFile
      ])
      expect(demo.scheme).toBe("https")
      const client = yield* RawClient.connect(demo.port, { tls: true })
      expect((client.socket as Tls.TLSSocket).getProtocol()).toBe("TLSv1.3")
      yield* client.write(RawClient.get("/hello"))
      expect((yield* client.readResponse()).text).toBe("Hello world")
      const old = yield* RawClient.tryConnect(demo.port, { tls: true, tlsOptions: { maxVersion: "TLSv1.2" } })
      expect(old).toBeInstanceOf(Error)
    }), 60_000)
})
