/**
 * The `ssl` option: PEM text or file paths, passphrase, CA, versions,
 * ciphers, SNI, a ready context; every problem a `ConfigError` naming the
 * field, found when the config is decoded (not at the first handshake).
 */
import * as Tls from "node:tls"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { decodeServerConfig, decodeTlsConfig } from "../../src/Config/ServerConfig.ts"
import { contextFor } from "../../src/Config/TlsConfig.ts"
import { makeTlsMaterial } from "../support/TlsMaterial.ts"

const tls = makeTlsMaterial()
afterAll(() => tls.cleanup())

/** The `option: message` lines of an `ssl` that must be refused. */
const problems = (ssl: unknown) =>
  decodeServerConfig({ ssl }).pipe(
    Effect.flip,
    Effect.map((error) => error.issues.map((issue) => `${issue.option}: ${issue.message}`))
  )

describe("ssl", () => {
  it.effect("takes PEM text, PEM bytes or file paths alike", () =>
    Effect.gen(function*() {
      const inputs = [
        { cert: tls.cert, key: tls.key },
        { cert: Buffer.from(tls.cert), key: Buffer.from(tls.key) },
        { cert: tls.certFile, key: tls.keyFile }
      ]
      for (const input of inputs) {
        const config = yield* decodeServerConfig({ ssl: input })
        expect(config.ssl?.cert).toBe(tls.cert)
        expect(config.ssl?.key).toBe(tls.key)
        expect(config.ssl?.secureContext).toBeInstanceOf(Object)
      }
    }))

  it.effect("decrypts a key with its passphrase; takes versions, ciphers and a CA bundle", () =>
    Effect.gen(function*() {
      const config = yield* decodeServerConfig({
        ssl: {
          cert: tls.certFile,
          key: tls.encryptedKeyFile,
          passphrase: tls.passphrase,
          ca: [tls.renewed.certFile],
          minVersion: "TLSv1.2",
          maxVersion: "TLSv1.3",
          ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256"
        }
      })
      expect(config.ssl?.source.passphrase).toBe(tls.passphrase)
    }))

  const refused: ReadonlyArray<readonly [string, () => unknown, ReadonlyArray<string>]> = [
    ["an unreadable file", () => ({ cert: `${tls.dir}/missing.pem`, key: tls.keyFile }), [
      `ssl.cert: cannot read ${JSON.stringify(`${tls.dir}/missing.pem`)}: no such file`
    ]],
    ["a directory", () => ({ cert: tls.certFile, key: tls.dir }), [
      `ssl.key: cannot read ${JSON.stringify(tls.dir)}: is a directory`
    ]],
    ["garbage inside a PEM certificate block", () => ({ cert: tls.garbageCert, key: tls.key }), [
      "ssl.cert: is not a PEM certificate"
    ]],
    ["a file that is not a certificate", () => ({ cert: tls.keyFile, key: tls.keyFile }), [
      `ssl.cert: ${JSON.stringify(tls.keyFile)} is not a PEM certificate`
    ]],
    ["a key that does not match the certificate (files)", () => ({ cert: tls.certFile, key: tls.otherKeyFile }), [
      `ssl.key: ${JSON.stringify(tls.otherKeyFile)} does not match the certificate in ${JSON.stringify(tls.certFile)}`
    ]],
    ["a key that does not match the certificate (PEM)", () => ({ cert: tls.cert, key: tls.renewed.key }), [
      "ssl.key: does not match the certificate (ssl.cert)"
    ]],
    ["an encrypted key without its passphrase", () => ({ cert: tls.certFile, key: tls.encryptedKeyFile }), [
      `ssl.key: ${JSON.stringify(tls.encryptedKeyFile)} is an encrypted private key: ssl.passphrase is needed`
    ]],
    [
      "a wrong passphrase",
      () => ({ cert: tls.certFile, key: tls.encryptedKeyFile, passphrase: "wrong" }),
      ["ssl.passphrase: does not decrypt the private key"]
    ],
    ["a CA bundle that is not certificates", () => ({ cert: tls.cert, key: tls.key, ca: tls.garbageCert }), [
      "ssl.ca: is not PEM certificates"
    ]],
    ["a cipher list that matches nothing", () => ({ cert: tls.cert, key: tls.key, ciphers: "NOPE-NOTHING" }), [
      "ssl.ciphers: no cipher matches \"NOPE-NOTHING\""
    ]],
    [
      "versions in the wrong order",
      () => ({ cert: tls.cert, key: tls.key, minVersion: "TLSv1.3", maxVersion: "TLSv1.2" }),
      ["ssl.maxVersion: must not be below ssl.minVersion (TLSv1.3), got TLSv1.2"]
    ],
    ["an unknown version", () => ({ cert: tls.cert, key: tls.key, minVersion: "SSLv3" }), [
      "ssl.minVersion: must be \"TLSv1\", \"TLSv1.1\", \"TLSv1.2\" or \"TLSv1.3\", got \"SSLv3\""
    ]],
    ["no material at all", () => ({}), ["ssl: needs cert and key (PEM text or file paths), or a secureContext"]],
    ["a context that is not one", () => ({ secureContext: { context: {} } }), [
      "ssl.secureContext: must be a tls.SecureContext (from tls.createSecureContext), got {\"context\":{}}"
    ]],
    [
      "a ready context with material beside it",
      () => ({ secureContext: Tls.createSecureContext({ cert: tls.cert, key: tls.key }), key: tls.key }),
      ["ssl.secureContext: cannot be combined with key (a ready context has its own)"]
    ],
    ["an SNI entry whose key does not match", () => ({
      cert: tls.cert,
      key: tls.key,
      sni: { "api.example.com": { cert: tls.renewed.certFile, key: tls.otherKeyFile } }
    }), [
      `ssl.sni.api.example.com.key: ${JSON.stringify(tls.otherKeyFile)} does not match the certificate in ${
        JSON.stringify(tls.renewed.certFile)
      }`
    ]],
    ["an SNI name that is not a host name", () => ({
      cert: tls.cert,
      key: tls.key,
      sni: { "bad name!": { cert: tls.cert, key: tls.key } }
    }), ["ssl.sni.bad name!: is not a server name (a host name, or *.domain)"]],
    ["several problems, each named", () => ({ cert: tls.garbageCert, key: `${tls.dir}/nope.key`, ciphers: "NOPE" }), [
      "ssl.cert: is not a PEM certificate",
      `ssl.key: cannot read ${JSON.stringify(`${tls.dir}/nope.key`)}: no such file`
    ]]
  ]
  for (const [name, input, expected] of refused) {
    it.effect(`refuses ${name}`, () =>
      Effect.gen(function*() {
        expect(yield* problems(input())).toEqual(expected)
      }))
  }

  it.effect("never echoes key material, even without PEM armor", () =>
    Effect.gen(function*() {
      const body = tls.key.split("\n").filter((line) => !line.startsWith("-----")).join("")
      const lines = yield* problems({ cert: tls.cert, key: body })
      expect(lines).toEqual(["ssl.key: cannot read the file it names (not shown): no such file"])
      const passphrase = yield* problems({ cert: tls.certFile, key: tls.encryptedKeyFile, passphrase: "hunter2" })
      expect(passphrase.join("\n")).not.toContain("hunter2")
    }))

  it.effect("takes a ready SecureContext", () =>
    Effect.gen(function*() {
      const secureContext = Tls.createSecureContext({ cert: tls.cert, key: tls.key })
      const config = yield* decodeServerConfig({ ssl: { secureContext } })
      expect(config.ssl?.secureContext).toBe(secureContext)
      expect(config.ssl?.cert).toBeUndefined()
    }))

  it.effect("SNI: exact names first, then *.domain, then the default", () =>
    Effect.gen(function*() {
      const config = yield* decodeTlsConfig({
        cert: tls.cert,
        key: tls.key,
        sni: {
          "*.example.com": { cert: tls.renewed.certFile, key: tls.renewed.keyFile },
          "API.example.com": { cert: tls.certFile, key: tls.keyFile }
        }
      })
      const [wildcard, exact] = config.sni
      expect(config.sni.map((entry) => entry.serverName)).toEqual(["*.example.com", "api.example.com"])
      expect(contextFor(config, "api.example.com")).toBe(exact?.secureContext)
      expect(contextFor(config, "www.EXAMPLE.com")).toBe(wildcard?.secureContext)
      expect(contextFor(config, "a.b.example.com")).toBe(config.secureContext)
      expect(contextFor(config, "other.test")).toBe(config.secureContext)
    }))

  it.effect("decodeTlsConfig names its issues under ssl", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(decodeTlsConfig({ cert: tls.certFile, key: tls.otherKeyFile }))
      expect(error.issues.map((issue) => issue.option)).toEqual(["ssl.key"])
    }))
})
