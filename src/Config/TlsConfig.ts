/**
 * The `ssl` option: what a TLS server serves, as a schema that loads and
 * checks it.
 *
 * ```ts
 * HTTPServer.listen(handler, { ssl: { cert: "/etc/ssl/site.pem", key: "/etc/ssl/site.key" } })
 * HTTPServer.listen(handler, {
 *   ssl: {
 *     cert: certPem, key: keyPem, passphrase: "...", minVersion: "TLSv1.3",
 *     sni: { "api.example.com": { cert: "/etc/ssl/api.pem", key: "/etc/ssl/api.key" } }
 *   }
 * })
 * HTTPServer.listen(handler, { ssl: { secureContext: Tls.createSecureContext({ ... }) } })
 * ```
 *
 * `cert`, `key` and `ca` are PEM text (a string holding a `-----BEGIN`
 * line, or bytes) or else a file path, read when the config is decoded
 * (and again by `RunningServer.reloadTls`). Decoding fails, naming the
 * field, on anything the server could not serve with: a file that cannot
 * be read, a PEM block that does not parse, a key that does not belong to
 * the certificate, a wrong or missing passphrase, a cipher list that
 * matches nothing, TLS versions in the wrong order. Nothing is left for
 * the first handshake to discover. Key material is never echoed in a
 * message; file paths are.
 *
 * Every context advertises ALPN `http/1.1` (the server's only protocol),
 * so a client that offers `h2` as well falls back to HTTP/1.1.
 *
 * @since 0.1.0
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto"
import { readFileSync } from "node:fs"
import * as Tls from "node:tls"
import { Effect, Formatter, Schema, SchemaIssue, SchemaTransformation } from "effect"

/**
 * The protocols every TLS context of the server advertises (RFC 7301).
 *
 * @since 0.1.0
 * @category constants
 */
export const ALPN_PROTOCOLS: ReadonlyArray<string> = ["http/1.1"]

/** PEM text or bytes, or a file path. */
const PemSource = Schema.Union([Schema.String, Schema.Uint8Array])

/** Node's runtime class of `tls.createSecureContext()` results (only an interface in its types). */
const SecureContextClass = (Tls as unknown as { readonly SecureContext: new(...args: Array<never>) => Tls.SecureContext })
  .SecureContext

const isSecureContext = (u: unknown): u is Tls.SecureContext => u instanceof SecureContextClass

/**
 * TLS versions, as OpenSSL and `node:tls` name them.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TlsVersion = Schema.Literals(["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"])

const SniEntryInput = Schema.Struct({
  cert: Schema.optional(PemSource),
  key: Schema.optional(PemSource),
  passphrase: Schema.optional(Schema.String),
  ca: Schema.optional(Schema.Union([PemSource, Schema.Array(PemSource)]))
})

const TlsConfigInputSchema = Schema.Struct({
  cert: Schema.optional(PemSource),
  key: Schema.optional(PemSource),
  passphrase: Schema.optional(Schema.String),
  ca: Schema.optional(Schema.Union([PemSource, Schema.Array(PemSource)])),
  minVersion: Schema.optional(TlsVersion),
  maxVersion: Schema.optional(TlsVersion),
  ciphers: Schema.optional(Schema.String),
  sni: Schema.optional(Schema.Record(Schema.String, SniEntryInput)),
  secureContext: Schema.optional(Schema.declare(isSecureContext, { expected: "a tls.SecureContext" }))
})

/**
 * What a user writes as `ssl`: `cert` and `key` (PEM text or file paths)
 * with the optional `passphrase` (of the key), `ca` (certificates sent
 * along as the chain), `minVersion` / `maxVersion` (default Node's:
 * TLSv1.2 to TLSv1.3), `ciphers` (an OpenSSL cipher list), `sni` (server
 * name, or `*.domain`, to its own `cert` / `key`); or a ready
 * `secureContext` instead of the material (with `sni` if wanted).
 *
 * @since 0.1.0
 * @category models
 */
export type TlsConfigInput = typeof TlsConfigInputSchema.Encoded

/**
 * One SNI entry, loaded: the context served to clients asking for
 * `serverName` (`*.example.com` matches one label).
 *
 * @since 0.1.0
 * @category models
 */
export interface SniContext {
  readonly serverName: string
  readonly secureContext: Tls.SecureContext
}

/**
 * The `ssl` option decoded: the contexts the server serves with.
 *
 * @since 0.1.0
 * @category models
 */
export interface TlsConfig {
  /** The certificate (chain) as PEM text; `undefined` with a ready `secureContext`. */
  readonly cert: string | undefined
  /** The private key as PEM text; `undefined` with a ready `secureContext`. */
  readonly key: string | undefined
  /** The context for clients that name no SNI entry. */
  readonly secureContext: Tls.SecureContext
  /** SNI entries, in the order given. */
  readonly sni: ReadonlyArray<SniContext>
  /** What was given: a reload decodes it again, reading the files again. */
  readonly source: TlsConfigInput
}

/** A problem with one field of `ssl`, by path below it. */
interface Problem {
  readonly path: ReadonlyArray<string>
  readonly message: string
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g

/** Whether a string is PEM text rather than a path. */
const isPemText = (source: string): boolean => source.includes("-----BEGIN ")

/** A source as it may appear in a message: paths are shown, PEM text and bytes never. */
interface Loaded {
  readonly text: string
  /** `"path"` for a file, `undefined` for PEM given inline. */
  readonly file: string | undefined
}

const describeReadError = (error: unknown): string => {
  const code = (error as NodeJS.ErrnoException).code
  return code === "ENOENT"
    ? "no such file"
    : code === "EISDIR"
    ? "is a directory"
    : code === "EACCES"
    ? "permission denied"
    : String((error as Error).message)
}

/**
 * How a path given for a private key appears in a message: as itself when
 * it is recognisably a path (absolute, `./`-relative, or with an
 * extension), else not at all, in case the value is key material that
 * merely lacks its PEM armor.
 */
const showKeyPath = (value: string): string =>
  /^(?:\/|\.\.?\/|~)|\.[A-Za-z0-9]{1,8}$/.test(value) && !/^[A-Za-z0-9+/=\r\n]{64,}$/.test(value)
    ? JSON.stringify(value)
    : "the file it names (not shown)"

/** Reads a source: PEM as given, or the file at the path. */
const read = (source: string | Uint8Array, secret = false): Loaded | Problem => {
  if (typeof source !== "string") return { text: Buffer.from(source).toString("utf8"), file: undefined }
  if (isPemText(source)) return { text: source, file: undefined }
  const shown = secret ? showKeyPath(source) : JSON.stringify(source)
  try {
    return { text: readFileSync(source, "utf8"), file: shown }
  } catch (error) {
    return { path: [], message: `cannot read ${shown}: ${describeReadError(error)}` }
  }
}

const isProblem = (u: Loaded | Problem): u is Problem => "message" in u

/** `"path" is not ...` for a file, `is not ...` for inline PEM. */
const isNot = (loaded: Loaded, what: string): string =>
  loaded.file === undefined ? `is not ${what}` : `${loaded.file} is not ${what}`

/** Every certificate block of a PEM text, parsed; `undefined` if there is none or one does not parse. */
const parseCertificates = (text: string): ReadonlyArray<X509Certificate> | undefined => {
  const blocks = [...text.matchAll(PEM_BLOCK)].filter((match) => match[1] === "CERTIFICATE")
  if (blocks.length === 0) return undefined
  try {
    return blocks.map((match) => new X509Certificate(match[0]))
  } catch {
    return undefined
  }
}

const isEncryptedKey = (text: string): boolean =>
  text.includes("-----BEGIN ENCRYPTED PRIVATE KEY-----") || /Proc-Type:\s*4,ENCRYPTED/.test(text)

interface Material {
  readonly cert: string
  readonly key: string
  readonly ca: ReadonlyArray<string> | undefined
}

/**
 * Loads one certificate / key pair (the top level, or an SNI entry),
 * pushing its problems with paths relative to it.
 */
const loadMaterial = (
  input: {
    readonly cert?: string | Uint8Array | undefined
    readonly key?: string | Uint8Array | undefined
    readonly passphrase?: string | undefined
    readonly ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined
  },
  problems: Array<Problem>
): Material | undefined => {
  const before = problems.length
  const at = (path: string, problem: Problem) => problems.push({ path: [path, ...problem.path], message: problem.message })
  if (input.cert === undefined) problems.push({ path: ["cert"], message: "is required (ssl needs both cert and key)" })
  if (input.key === undefined) problems.push({ path: ["key"], message: "is required (ssl needs both cert and key)" })

  let certificate: X509Certificate | undefined
  const cert = input.cert === undefined ? undefined : read(input.cert)
  if (cert !== undefined) {
    if (isProblem(cert)) at("cert", cert)
    else {
      const parsed = parseCertificates(cert.text)
      if (parsed === undefined) at("cert", { path: [], message: isNot(cert, "a PEM certificate") })
      else certificate = parsed[0]
    }
  }

  let privateKey: KeyObject | undefined
  const key = input.key === undefined ? undefined : read(input.key, true)
  if (key !== undefined) {
    if (isProblem(key)) at("key", key)
    else {
      const encrypted = isEncryptedKey(key.text)
      if (encrypted && input.passphrase === undefined) {
        at("key", {
          path: [],
          message: `${key.file === undefined ? "is" : `${key.file} is`} an encrypted private key: ssl.passphrase is needed`
        })
      } else {
        try {
          privateKey = createPrivateKey({ key: key.text, passphrase: input.passphrase })
        } catch (error) {
          if (encrypted && (error as { code?: string }).code === "ERR_OSSL_BAD_DECRYPT") {
            problems.push({ path: ["passphrase"], message: "does not decrypt the private key" })
          } else {
            at("key", {
              path: [],
              message: isNot(key, encrypted ? "a PEM private key" : "an unencrypted PEM private key")
            })
          }
        }
      }
    }
  }

  if (certificate !== undefined && privateKey !== undefined && !certificate.checkPrivateKey(privateKey)) {
    const k = key as Loaded
    const c = cert as Loaded
    problems.push({
      path: ["key"],
      message: k.file !== undefined && c.file !== undefined
        ? `${k.file} does not match the certificate in ${c.file}`
        : `${k.file === undefined ? "" : `${k.file} `}does not match the certificate (ssl.cert)`
    })
  }

  let ca: Array<string> | undefined
  if (input.ca !== undefined) {
    ca = []
    const sources = Array.isArray(input.ca) ? input.ca : [input.ca as string | Uint8Array]
    for (const source of sources) {
      const loaded = read(source)
      if (isProblem(loaded)) at("ca", loaded)
      else if (parseCertificates(loaded.text) === undefined) {
        at("ca", { path: [], message: isNot(loaded, "PEM certificates") })
      } else ca.push(loaded.text)
    }
  }
  if (problems.length > before) return undefined
  return { cert: (cert as Loaded).text, key: (key as Loaded).text, ca }
}

/** Builds a context; problems OpenSSL still finds are reported under `path`. */
const makeContext = (
  options: Tls.SecureContextOptions,
  problems: Array<Problem>,
  path: ReadonlyArray<string>
): Tls.SecureContext | undefined => {
  try {
    return Tls.createSecureContext(options)
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === "ERR_SSL_NO_CIPHER_MATCH") {
      problems.push({ path: ["ciphers"], message: `no cipher matches ${Formatter.format(options.ciphers)}` })
    } else {
      // The message is OpenSSL's reason, never the material.
      problems.push({ path, message: `cannot be used: ${(error as Error).message}` })
    }
    return undefined
  }
}

const SERVER_NAME = /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/i

const VERSION_ORDER: ReadonlyArray<string> = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]

/** Loads and checks the whole `ssl` option. */
const load = (input: typeof TlsConfigInputSchema.Type): TlsConfig | ReadonlyArray<Problem> => {
  const problems: Array<Problem> = []
  const { ciphers, maxVersion, minVersion } = input
  if (minVersion !== undefined && maxVersion !== undefined) {
    if (VERSION_ORDER.indexOf(maxVersion) < VERSION_ORDER.indexOf(minVersion)) {
      problems.push({ path: ["maxVersion"], message: `must not be below ssl.minVersion (${minVersion}), got ${maxVersion}` })
    }
  }
  const protocolOptions: Tls.SecureContextOptions = {
    ...(minVersion === undefined ? {} : { minVersion }),
    ...(maxVersion === undefined ? {} : { maxVersion }),
    ...(ciphers === undefined ? {} : { ciphers })
  }

  let secureContext: Tls.SecureContext | undefined
  let material: Material | undefined
  if (input.secureContext !== undefined) {
    const extra = (["cert", "key", "passphrase", "ca", "minVersion", "maxVersion", "ciphers"] as const)
      .filter((name) => input[name] !== undefined)
    if (extra.length > 0) {
      problems.push({
        path: ["secureContext"],
        message: `cannot be combined with ${extra.join(", ")} (a ready context has its own)`
      })
    } else {
      secureContext = input.secureContext
    }
  } else if (input.cert === undefined && input.key === undefined) {
    problems.push({ path: [], message: "needs cert and key (PEM text or file paths), or a secureContext" })
  } else {
    material = loadMaterial(input, problems)
    if (material !== undefined && problems.length === 0) {
      secureContext = makeContext(
        { cert: material.cert, key: material.key, passphrase: input.passphrase, ca: material.ca?.slice(), ...protocolOptions },
        problems,
        []
      )
    }
  }

  const sni: Array<SniContext> = []
  for (const [serverName, entry] of Object.entries(input.sni ?? {})) {
    const entryProblems: Array<Problem> = []
    if (!SERVER_NAME.test(serverName)) {
      entryProblems.push({ path: [], message: "is not a server name (a host name, or *.domain)" })
    } else {
      const loaded = loadMaterial(entry, entryProblems)
      const context = loaded === undefined || entryProblems.length > 0 ? undefined : makeContext(
        { cert: loaded.cert, key: loaded.key, passphrase: entry.passphrase, ca: loaded.ca?.slice(), ...protocolOptions },
        entryProblems,
        []
      )
      if (context !== undefined) sni.push({ serverName: serverName.toLowerCase(), secureContext: context })
    }
    for (const problem of entryProblems) problems.push({ ...problem, path: ["sni", serverName, ...problem.path] })
  }

  if (problems.length > 0 || secureContext === undefined) return problems
  return { cert: material?.cert, key: material?.key, secureContext, sni, source: input as TlsConfigInput }
}

const TlsConfigType = Schema.declare(
  (u: unknown): u is TlsConfig => typeof u === "object" && u !== null && isSecureContext((u as TlsConfig).secureContext),
  { expected: "a loaded TLS configuration" }
)

/**
 * The `ssl` option's schema: decodes a {@link TlsConfigInput} to a
 * {@link TlsConfig}, reading the files and checking the material; each
 * problem is an issue at its field (`cert`, `key`, `passphrase`,
 * `sni.<name>.key`, ...). Encodes back to what was given.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TlsConfig = TlsConfigInputSchema.pipe(Schema.decodeTo(
  TlsConfigType,
  SchemaTransformation.transformEffect({
    decode: (input, options) => {
      const loaded = load(input)
      if (!Array.isArray(loaded)) return Effect.succeed(loaded as TlsConfig)
      const issues = (loaded as ReadonlyArray<Problem>).map((problem): SchemaIssue.Issue =>
        new SchemaIssue.Pointer(problem.path, new SchemaIssue.InvalidValue({ message: problem.message }))
      )
      const [first, ...rest] = issues as [SchemaIssue.Issue, ...Array<SchemaIssue.Issue>]
      return Effect.fail(
        rest.length === 0 ? first : new SchemaIssue.Composite(TlsConfigInputSchema.ast, [first, ...rest], input, options)
      )
    },
    encode: (config: TlsConfig) => Effect.succeed(config.source as typeof TlsConfigInputSchema.Type)
  })
))

/**
 * Picks the context for a client's SNI server name: an exact entry, else a
 * `*.` entry for its parent domain, else the default.
 *
 * @since 0.1.0
 * @category tls
 */
export const contextFor = (config: TlsConfig, serverName: string): Tls.SecureContext => {
  if (config.sni.length === 0 || serverName === "") return config.secureContext
  const name = serverName.toLowerCase()
  const dot = name.indexOf(".")
  const wildcard = dot === -1 ? undefined : `*${name.slice(dot)}`
  let match: Tls.SecureContext | undefined
  for (const entry of config.sni) {
    if (entry.serverName === name) return entry.secureContext
    if (match === undefined && entry.serverName === wildcard) match = entry.secureContext
  }
  return match ?? config.secureContext
}
