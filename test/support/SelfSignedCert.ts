/**
 * A throwaway self-signed certificate for `localhost`, made with `openssl`
 * (as the TLS tests do), for tests that serve TLS.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

export interface Pem {
  readonly cert: string
  readonly key: string
}

/** Makes a key and a certificate valid for a day; the files are removed at once. */
export const makeSelfSignedCert = (): Pem => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-httpserver-cert-"))
  try {
    const keyFile = Path.join(dir, "key.pem")
    const certFile = Path.join(dir, "cert.pem")
    ChildProcess.execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile,
      "-days", "1", "-subj", "/CN=localhost"
    ], { stdio: "ignore" })
    return { cert: Fs.readFileSync(certFile, "utf8"), key: Fs.readFileSync(keyFile, "utf8") }
  } finally {
    Fs.rmSync(dir, { recursive: true, force: true })
  }
}
