/**
 * Throwaway TLS material made with openssl at test time, in a temporary
 * directory: certificates for `localhost` / 127.0.0.1 with their keys, an
 * unrelated key, the key encrypted with a passphrase, and garbage.
 */
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll } from "@effect/vitest"

export interface CertificatePair {
  readonly certFile: string
  readonly keyFile: string
  /** PEM text of the certificate. */
  readonly cert: string
  /** PEM text of the private key. */
  readonly key: string
}

export interface TlsMaterial extends CertificatePair {
  readonly dir: string
  /** A second certificate for the same names, with its own key (what a renewal brings). */
  readonly renewed: CertificatePair
  /** A key that belongs to no certificate here. */
  readonly otherKeyFile: string
  /** {@link keyFile} encrypted with {@link passphrase}. */
  readonly encryptedKeyFile: string
  readonly passphrase: string
  /** A certificate block with garbage inside (`wrong tag` to OpenSSL). */
  readonly garbageCert: string
  /** Writes `text` to a file of the directory and returns its path. */
  readonly write: (name: string, text: string) => string
  readonly cleanup: () => void
}

const openssl = (...args: Array<string>) => execFileSync("openssl", args, { stdio: "ignore" })

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

/** A self-signed certificate for `localhost` and 127.0.0.1, valid a day. */
const makePair = (dir: string, name: string, commonName: string): CertificatePair => {
  const certFile = Path.join(dir, `${name}.pem`)
  const keyFile = Path.join(dir, `${name}.key`)
  openssl(
    "req",
    "-x509",
    ...EC,
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "1",
    "-subj",
    `/CN=${commonName}`,
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"
  )
  return { certFile, keyFile, cert: Fs.readFileSync(certFile, "utf8"), key: Fs.readFileSync(keyFile, "utf8") }
}

/** Makes the material; call `cleanup` when done (e.g. in `afterAll`). */
export const makeTlsMaterial = (): TlsMaterial => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-httpserver-tls-"))
  const first = makePair(dir, "cert", "first.test")
  const renewed = makePair(dir, "renewed", "renewed.test")
  const otherKeyFile = Path.join(dir, "other.key")
  openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", otherKeyFile)
  const passphrase = "correct horse"
  const encryptedKeyFile = Path.join(dir, "encrypted.key")
  openssl("pkey", "-in", first.keyFile, "-aes256", "-passout", `pass:${passphrase}`, "-out", encryptedKeyFile)
  const write = (name: string, text: string) => {
    const file = Path.join(dir, name)
    Fs.writeFileSync(file, text)
    return file
  }
  return {
    ...first,
    dir,
    renewed,
    otherKeyFile,
    encryptedKeyFile,
    passphrase,
    garbageCert: "-----BEGIN CERTIFICATE-----\nAAAAbbbbCCCCdddd\n-----END CERTIFICATE-----\n",
    write,
    cleanup: () => Fs.rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The material of a test file's suite: made before its tests, removed
 * after; `ssl()` is the `{ cert, key }` option for a server.
 */
export const suiteTlsMaterial = (): { readonly ssl: () => { readonly cert: string; readonly key: string } } => {
  let material: TlsMaterial | undefined
  beforeAll(() => {
    material = makeTlsMaterial()
  })
  afterAll(() => material?.cleanup())
  return {
    ssl: () => {
      if (material === undefined) throw new Error("the TLS material is made before the suite's tests")
      return { cert: material.cert, key: material.key }
    }
  }
}
