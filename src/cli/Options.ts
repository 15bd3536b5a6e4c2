/**
 * The command line of `effect-httpserver` (the contract: `../shared/spec/demo-server.md`).
 *
 * {@link parseOptions} turns argv into a decoded `ServerConfig`, or fails
 * with every problem at once, one line each, naming the option:
 *
 * ```
 * --port: must be an integer from 0 to 65535, got 70000
 * --ssl-key: "/tmp/other.key" does not match the certificate in "/tmp/cert.pem"
 * ```
 *
 * argv is scanned here rather than with `effect/cli`: given an unknown option,
 * its runner reports it without validating any value (the contract wants all
 * problems at once), its presenter prints the help text on stdout along with
 * the errors (the contract wants stdout empty), and it adds built-in options
 * (`--version`, `--log-level`, `--wizard`, `--completions`) the contract does
 * not have. The values are validated by the `ServerConfig` schema, so the
 * library and the command line share one set of rules and messages.
 *
 * @since 0.1.0
 */
import { Data, Effect, Result } from "effect"
import { parseOptionText } from "../Config/OptionText.ts"
import { type ConfigError, decodeServerConfig, decodeTlsConfig, type ServerConfig } from "../Config/ServerConfig.ts"
import type { TlsConfig } from "../Config/TlsConfig.ts"
import { variableOf } from "../Config/ServerConfigFromEnv.ts"

/**
 * The command line had problems: one line per problem, each starting with
 * the option it is about (`--port: ...`).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOptions extends Data.TaggedError("InvalidOptions")<{
  /** One line per problem, without a trailing newline. */
  readonly problems: ReadonlyArray<string>
}> {
  override get message() {
    return this.problems.join("\n")
  }
}

/**
 * `--help` (or `-h`) was given: print {@link usage} to stdout and exit 0.
 *
 * @since 0.1.0
 * @category errors
 */
export class HelpRequested extends Data.TaggedError("HelpRequested")<{
  /** The usage text, ending with a newline. */
  readonly usage: string
}> {}

type Kind = "text" | "integer" | "switch" | "bytes" | "seconds" | "list" | "file" | "mode"

interface OptionSpec {
  /** The option's name without the leading `--`. */
  readonly name: string
  readonly kind: Kind
  /** The value's name in the usage text. */
  readonly metavar?: string
  readonly help: string
}

const OPTIONS: ReadonlyArray<OptionSpec> = [
  { name: "host", kind: "text", metavar: "HOST", help: "address to listen on (default 127.0.0.1)" },
  { name: "port", kind: "integer", metavar: "N", help: "port; 0 picks a free one (default 8888)" },
  { name: "unix-socket", kind: "text", metavar: "PATH", help: "listen on a Unix domain socket instead of TCP" },
  { name: "unix-socket-mode", kind: "mode", metavar: "OCTAL", help: "permissions of the --unix-socket file (default 600)" },
  { name: "processes", kind: "integer", metavar: "N", help: "worker processes; 0 = one per CPU, 1 = no fork (default 1)" },
  { name: "xheaders", kind: "switch", help: "trust X-Real-Ip / X-Forwarded-For / X-Scheme / X-Forwarded-Proto" },
  {
    name: "forwarded",
    kind: "switch",
    help: "trust the RFC 7239 Forwarded header (for=, proto=, host=), under the --trusted-downstream rules"
  },
  {
    name: "trusted-downstream",
    kind: "list",
    metavar: "LIST",
    help: "comma-separated IPs or CIDR ranges skipped in X-Forwarded-For"
  },
  { name: "protocol", kind: "text", metavar: "http|https", help: "override the request protocol" },
  { name: "no-keep-alive", kind: "switch", help: "close every connection after one response" },
  { name: "decompress-request", kind: "switch", help: "decode gzip (and deflate) request bodies" },
  { name: "chunk-size", kind: "bytes", metavar: "BYTES", help: "largest body piece handed to a streaming reader (default 65536)" },
  { name: "max-header-size", kind: "bytes", metavar: "BYTES", help: "largest request head (default 65536)" },
  {
    name: "max-request-line-size",
    kind: "bytes",
    metavar: "BYTES",
    help: "longest request line: a longer target gets 414, a longer method 501 (default 8192)"
  },
  {
    name: "idle-connection-timeout",
    kind: "seconds",
    metavar: "SECONDS",
    help: "close a keep-alive connection idle this long (default 3600)"
  },
  { name: "header-timeout", kind: "seconds", metavar: "SECONDS", help: "time allowed to receive a request head (default 60)" },
  { name: "body-timeout", kind: "seconds", metavar: "SECONDS", help: "time allowed to receive a whole body (default none)" },
  { name: "max-body-size", kind: "bytes", metavar: "BYTES", help: "largest request body (default 104857600)" },
  { name: "max-buffer-size", kind: "bytes", metavar: "BYTES", help: "largest body buffered in memory (default 104857600)" },
  { name: "ssl-cert", kind: "file", metavar: "FILE", help: "serve TLS with this PEM certificate (needs --ssl-key)" },
  { name: "ssl-key", kind: "file", metavar: "FILE", help: "the PEM private key of --ssl-cert" },
  {
    name: "shutdown-timeout",
    kind: "seconds",
    metavar: "SECONDS",
    help: "on SIGTERM/SIGINT, how long in-flight requests may finish (default 30)"
  },
  {
    name: "drain-delay",
    kind: "seconds",
    metavar: "SECONDS",
    help: "on SIGTERM/SIGINT, keep accepting and serving this long first, /health answering 503 (default 0)"
  },
  {
    name: "write-timeout",
    kind: "seconds",
    metavar: "SECONDS",
    help: "close a connection whose client reads nothing of a response this long (default 60)"
  },
  { name: "max-connections", kind: "integer", metavar: "N", help: "most connections open at once (default none)" },
  {
    name: "access-log",
    kind: "switch",
    help: "one line per request on stderr, Tornado's form: 200 GET /path (127.0.0.1) 1.23ms"
  },
  {
    name: "handshake-timeout",
    kind: "seconds",
    metavar: "SECONDS",
    help: "time allowed for a TLS handshake, which counts toward --max-connections (default 10)"
  }
]

const BY_NAME: ReadonlyMap<string, OptionSpec> = new Map(OPTIONS.map((spec) => [spec.name, spec]))

const column = (spec: OptionSpec): string => `--${spec.name}${spec.metavar === undefined ? "" : ` ${spec.metavar}`}`

/**
 * The text `--help` prints.
 *
 * @since 0.1.0
 * @category help
 */
export const usage: string = [
  "Usage: effect-httpserver [options]",
  "",
  "Serve the built-in demo app on effect-httpserver's HTTP/1.1 server.",
  "",
  "Options:",
  ...OPTIONS.map((spec) => `  ${column(spec).padEnd(36)} ${spec.help}`),
  `  ${"-h, --help".padEnd(36)} show this help`,
  "",
  "BYTES also accepts the suffixes KiB, MiB, GiB (powers of 1024) and KB, MB, GB",
  "(powers of 1000); SECONDS accepts decimals (0.1).",
  ""
].join("\n")

/** A problem, with the argv position it is about (problems are reported in argv order). */
interface Problem {
  readonly at: number
  readonly line: string
}

/** What the scan of argv found: each option's values and last position, and problems. */
interface Scanned {
  readonly values: Map<string, Array<string | true>>
  readonly positions: Map<string, number>
  readonly problems: Array<Problem>
  readonly help: boolean
}

const unexpected = (arg: string): string => `unexpected argument ${JSON.stringify(arg)} (only options are accepted)`

const looksLikeOption = (arg: string): boolean => arg.startsWith("--") && arg.length > 2

/** Splits argv into options and their values; never fails, collects problems. */
const scan = (argv: ReadonlyArray<string>): Scanned => {
  const values = new Map<string, Array<string | true>>()
  const positions = new Map<string, number>()
  const problems: Array<Problem> = []
  let help = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ""
    if (arg === "--") {
      argv.slice(i + 1).forEach((rest, j) => problems.push({ at: i + 1 + j, line: unexpected(rest) }))
      break
    }
    if (arg === "--help" || arg === "-h") {
      help = true
      continue
    }
    if (!arg.startsWith("-") || arg === "-") {
      problems.push({ at: i, line: unexpected(arg) })
      continue
    }
    const equals = arg.indexOf("=")
    const name = arg.slice(arg.startsWith("--") ? 2 : 1, equals === -1 ? undefined : equals)
    const inline = equals === -1 ? undefined : arg.slice(equals + 1)
    const spec = arg.startsWith("--") ? BY_NAME.get(name) : undefined
    if (spec === undefined) {
      problems.push({ at: i, line: `${equals === -1 ? arg : arg.slice(0, equals)}: unknown option` })
      continue
    }
    const seen = values.get(spec.name) ?? []
    values.set(spec.name, seen)
    positions.set(spec.name, i)
    if (spec.kind === "switch") {
      if (inline === undefined) seen.push(true)
      else problems.push({ at: i, line: `--${spec.name}: takes no value, got ${JSON.stringify(inline)}` })
      continue
    }
    if (inline !== undefined) {
      seen.push(inline)
      continue
    }
    const next = argv[i + 1]
    if (next === undefined || looksLikeOption(next)) {
      problems.push({ at: i, line: `--${spec.name}: needs a value (${spec.metavar ?? "VALUE"})` })
      continue
    }
    seen.push(next)
    i++
  }
  return { values, positions, problems, help }
}

const camel = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())

/** `maxBodySize` -> `max-body-size`, `ssl.cert` -> `ssl-cert`. */
const kebab = (option: string): string =>
  option.replace(/\./g, "-").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

/** Turns one option's text into the `ServerConfigInput` value, or a problem. */
const convert = (spec: OptionSpec, texts: ReadonlyArray<string | true>): Result.Result<unknown, string> => {
  const last = texts[texts.length - 1]
  switch (spec.kind) {
    case "switch":
      return typeof last === "string" ? parseOptionText("switch", last) : Result.succeed(true)
    case "list": {
      // A repeated option adds to the list.
      const entries: Array<unknown> = []
      for (const text of texts) {
        const parsed = parseOptionText("list", String(text))
        if (Result.isSuccess(parsed)) entries.push(...(parsed.success as ReadonlyArray<unknown>))
      }
      return Result.succeed(entries)
    }
    case "file":
      // Files are read elsewhere.
      return Result.succeed(last)
    default:
      return parseOptionText(spec.kind, String(last))
  }
}

const KEY_NEEDED = "--ssl-key: required with --ssl-cert"
const CERT_NEEDED = "--ssl-cert: required with --ssl-key"

/**
 * Takes each option absent from argv from its environment variable
 * (`--max-body-size` from `HTTP_MAX_BODY_SIZE`), written as on the command
 * line (a switch as `true` or `false`); returns the options so taken.
 */
const addFromEnvironment = (scanned: Scanned, env: Readonly<Record<string, string | undefined>>): Set<string> => {
  const taken = new Set<string>()
  for (const spec of OPTIONS) {
    if ((scanned.values.get(spec.name)?.length ?? 0) > 0) continue
    const text = env[variableOf(spec.name)]
    if (text === undefined || text === "") continue
    scanned.values.set(spec.name, [text])
    taken.add(spec.name)
  }
  return taken
}

/**
 * Parses the command line (argv without `node` and the script) into a
 * decoded `ServerConfig`, reading the `--ssl-cert` / `--ssl-key` files.
 * An option not on the command line is taken from its environment variable,
 * `HTTP_` and its name in upper snake case (`HTTP_MAX_BODY_SIZE`).
 *
 * Fails with {@link HelpRequested} when `--help`/`-h` is present, otherwise
 * with {@link InvalidOptions} listing every problem: unknown options, missing
 * values, stray arguments, bad values, unreadable or mismatched certificate
 * files; a bad value from the environment is named by its variable.
 *
 * @example
 * parseOptions(["--port", "0", "--max-body-size", "1MiB", "--body-timeout", "0.5"])
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseOptions = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>> = process.env
): Effect.Effect<ServerConfig, InvalidOptions | HelpRequested> =>
  Effect.suspend((): Effect.Effect<ServerConfig, InvalidOptions | HelpRequested> => {
    const scanned = scan(argv)
    if (scanned.help) return Effect.fail(new HelpRequested({ usage }))
    const fromEnv = addFromEnvironment(scanned, env)
    // A problem with an option the environment gave names its variable.
    const named = (line: string) =>
      line.replace(/^--([a-z0-9-]+):/, (prefix, name: string) => fromEnv.has(name) ? `${variableOf(name)}:` : prefix)
    const problems = [...scanned.problems]
    const report = (option: string, line: string) =>
      problems.push({ at: scanned.positions.get(option) ?? argv.length, line })
    const input: Record<string, unknown> = {}
    for (const spec of OPTIONS) {
      const texts = scanned.values.get(spec.name)
      if (texts === undefined || texts.length === 0 || spec.kind === "file") continue
      const value = convert(spec, texts)
      if (Result.isFailure(value)) report(spec.name, `--${spec.name}: ${value.failure}`)
      else input[camel(spec.name)] = value.success
    }
    const lastText = (name: string) => {
      const last = scanned.values.get(name)?.at(-1)
      return typeof last === "string" ? last : undefined
    }
    // Where to listen is one thing or the other, never a silent choice.
    if (scanned.values.has("unix-socket") && scanned.values.has("port")) {
      report("unix-socket", "--unix-socket: cannot be used with --port (a Unix socket has no port)")
    }
    if (scanned.values.has("unix-socket-mode") && !scanned.values.has("unix-socket")) {
      report("unix-socket-mode", "--unix-socket-mode: needs --unix-socket")
    }
    // The files are read, parsed and matched by the `ssl` schema, as for the
    // library (first, so that their problems come first); the command only
    // says when one of the pair is missing.
    const certPath = lastText("ssl-cert")
    const keyPath = lastText("ssl-key")
    if (certPath === undefined && keyPath !== undefined) report("ssl-key", CERT_NEEDED)
    if (keyPath === undefined && certPath !== undefined) report("ssl-cert", KEY_NEEDED)
    const missingFlag = (option: string) =>
      (option === "ssl.cert" && certPath === undefined) || (option === "ssl.key" && keyPath === undefined)
    const reportAll = (error: ConfigError) => {
      for (const issue of error.issues) {
        if (!missingFlag(issue.option)) report(kebab(issue.option), `--${kebab(issue.option)}: ${issue.message}`)
      }
    }
    const invalid = () =>
      new InvalidOptions({ problems: problems.sort((a, b) => a.at - b.at).map((problem) => named(problem.line)) })
    const ssl: Effect.Effect<Result.Result<TlsConfig | undefined, ConfigError>> =
      certPath === undefined && keyPath === undefined
      ? Effect.succeed(Result.succeed(undefined))
      : Effect.result(decodeTlsConfig({ cert: certPath, key: keyPath }))
    return Effect.flatMap(ssl, (tls) => {
      if (Result.isFailure(tls)) reportAll(tls.failure)
      return decodeServerConfig(input).pipe(
        Effect.matchEffect({
          onFailure: (error) => {
            reportAll(error)
            return Effect.fail(invalid())
          },
          onSuccess: (config) =>
            problems.length > 0 || Result.isFailure(tls)
              ? Effect.fail(invalid())
              : Effect.succeed({ ...config, ssl: tls.success })
        })
      )
    })
  })
