/**
 * The server's options: every Tornado `HTTPServer` option, camelCase.
 *
 * `ServerConfig` is an Effect Schema. Its decoded `Type` is the
 * {@link ServerConfig} interface the server consumes; its `Encoded` side,
 * {@link ServerConfigInput}, is what a library user writes:
 *
 * ```ts
 * HTTPServer.listen(handler, { port: 0, maxBodySize: "1 MiB", bodyTimeout: "5 seconds" })
 * ```
 *
 * Every field is optional and defaults to Tornado's value. Sizes are a
 * non-negative integer number of bytes or a string such as `"64 KiB"` (see
 * `ByteSizeText.ts`); durations are an Effect `Duration.Input` (a number is
 * milliseconds). {@link decodeServerConfig} reports every bad field at once,
 * and unknown keys, in one {@link ConfigError}.
 *
 * @since 0.1.0
 */
import { Data, Duration, Effect, Formatter, Result, Schema, SchemaIssue, SchemaTransformation } from "effect"
import { parseByteSize } from "./ByteSizeText.ts"
import { parseIpRange } from "./IpRange.ts"
import { TlsConfig, type TlsConfigInput } from "./TlsConfig.ts"

/**
 * The decoded configuration, the type the server consumes.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerConfig {
  /** Address to listen on. Default `"127.0.0.1"`. */
  readonly host: string
  /** TCP port; `0` picks a free one. Default `8888`. */
  readonly port: number
  /** Listen on this Unix domain socket instead of TCP. Default none. */
  readonly unixSocket: string | undefined
  /** Permissions of the `unixSocket` file. Default `0o600` (Tornado's): only its owner may connect. */
  readonly unixSocketMode: number
  /** Worker processes; `0` means one per CPU, `1` no fork. Default `1`. */
  readonly processes: number
  /** Close every connection after one response. Default `false`. */
  readonly noKeepAlive: boolean
  /** Trust X-Real-Ip / X-Forwarded-For / X-Scheme / X-Forwarded-Proto. Default `false`. */
  readonly xheaders: boolean
  /**
   * Trust the RFC 7239 `Forwarded` header (`for=`, `proto=`, `host=`), under
   * the `trustedDownstream` rules; it wins over the X- headers. Default `false`.
   */
  readonly forwarded: boolean
  /** IPs / CIDR ranges skipped in X-Forwarded-For (and `Forwarded`). Default none. */
  readonly trustedDownstream: ReadonlyArray<string>
  /** Override the request protocol. Default: from the socket. */
  readonly protocol: "http" | "https" | undefined
  /** Decode gzip (and deflate) request bodies. Default `false`. */
  readonly decompressRequest: boolean
  /** Largest body piece handed to a streaming reader, bytes. Default 65536. */
  readonly chunkSize: number
  /** Largest request head, bytes. Default 65536. */
  readonly maxHeaderSize: number
  /**
   * Longest request line (without its CRLF), bytes: past it, a target gets
   * 414, a method 501 (RFC 9112 section 3). Default 8192, as nginx.
   */
  readonly maxRequestLineSize: number
  /** Largest request body, bytes. Default 104857600. */
  readonly maxBodySize: number
  /** Largest body buffered in memory, bytes. Default 104857600. */
  readonly maxBufferSize: number
  /** Close a keep-alive connection idle this long. Default 3600 s. */
  readonly idleConnectionTimeout: Duration.Duration
  /** Time allowed to receive a whole request head. Default 60 s. */
  readonly headerTimeout: Duration.Duration
  /** Time allowed to receive a whole body. Default none. */
  readonly bodyTimeout: Duration.Duration | undefined
  /** On SIGTERM/SIGINT, how long in-flight requests may finish. Default 30 s. */
  readonly shutdownTimeout: Duration.Duration
  /**
   * When shutdown begins, keep accepting and serving this long first, with
   * the draining signal set and every response saying `Connection: close`,
   * so that load balancers' health checks take the instance out before it
   * stops listening. Default 0.
   */
  readonly drainDelay: Duration.Duration
  /**
   * Close a connection whose peer has not read any of a pending response for
   * this long (a client that never reads must not pin memory). Default 60 s.
   */
  readonly writeTimeout: Duration.Duration
  /** Most connections open at once; beyond it new ones are closed at once. Default none. */
  readonly maxConnections: number | undefined
  /**
   * Log one line per request through Effect's logger, in Tornado's form
   * (`200 GET /path (127.0.0.1) 1.23ms`). Default `false`.
   */
  readonly accessLog: boolean
  /**
   * Time allowed for a TLS handshake, from the connection's accept (never
   * more than `headerTimeout` or `idleConnectionTimeout`). Default 10 s.
   */
  readonly handshakeTimeout: Duration.Duration
  /** Serve TLS: certificate and key (PEM text or file paths), or a ready context. Default none. */
  readonly ssl: TlsConfig | undefined
}

/**
 * One bad field: the option's name (`"port"`, `"ssl.key"`, or `"config"`
 * for the input as a whole) and what is wrong with it.
 *
 * @since 0.1.0
 * @category errors
 */
export interface ConfigIssue {
  /** The option, as named in {@link ServerConfig} (nested with a dot). */
  readonly option: string
  /** What is wrong, e.g. `must be an integer from 0 to 65535, got 70000`. */
  readonly message: string
}

/**
 * The configuration did not decode: one issue per bad field, all of them.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  /** Every bad field, in declaration order (unknown keys first). */
  readonly issues: ReadonlyArray<ConfigIssue>
}> {
  override get message() {
    return this.issues.map((issue) => `${issue.option}: ${issue.message}`).join("; ")
  }
}

const show = (value: unknown): string => Duration.isDuration(value) ? Duration.format(value) : Formatter.format(value)

/** A `from` input shape, decoded to `to` by a check that may fail with a message. */
const validated = <From extends Schema.Codec<any, any>, T>(
  from: From,
  to: Schema.Codec<T>,
  decode: (input: From["Type"]) => Result.Result<T, string>,
  encode: (value: T) => From["Type"]
) =>
  from.pipe(Schema.decodeTo(
    to,
    SchemaTransformation.transformEffect({
      decode: (input: From["Type"], options) =>
        Result.match(decode(input), {
          onSuccess: (value) => Effect.succeed(value),
          onFailure: (message) => Effect.fail(new SchemaIssue.InvalidValue({ message }, input, options))
        }),
      encode: (value: T) => Effect.succeed(encode(value))
    })
  ))

const check = <A>(ok: boolean, value: A, message: string): Result.Result<A, string> =>
  ok ? Result.succeed(value) : Result.fail(message)

const NonEmptyText = (what: string) =>
  validated(Schema.String, Schema.String, (s) => check(s.length > 0, s, `must be ${what}, got ""`), (s) => s)

const IntegerIn = (minimum: number, maximum: number, expected: string) =>
  validated(
    Schema.Number,
    Schema.Number,
    (n) => check(Number.isInteger(n) && n >= minimum && n <= maximum, n, `must be ${expected}, got ${show(n)}`),
    (n) => n
  )

const SIZE_EXPECTED = "a positive number of bytes (an integer, or a string like \"64 KiB\")"

const ByteSize = validated(
  Schema.Union([Schema.Number, Schema.String]),
  Schema.Number,
  (input) => {
    if (typeof input === "string") {
      return Result.flatMap(
        parseByteSize(input),
        (bytes) => check(bytes > 0, bytes, `must be more than 0 bytes, got ${show(input)}`)
      )
    }
    return check(Number.isSafeInteger(input) && input > 0, input, `must be ${SIZE_EXPECTED}, got ${show(input)}`)
  },
  (bytes) => bytes
)

const isDurationInput = (u: unknown): u is Duration.Input =>
  typeof u === "number" || typeof u === "bigint" || typeof u === "string" || (typeof u === "object" && u !== null)

const DURATION_EXPECTED = "a duration (milliseconds, a string like \"5 seconds\", or a Duration)"

const NonNegativeDuration = validated(
  Schema.declare(isDurationInput, { expected: DURATION_EXPECTED }),
  Schema.Duration,
  (input) => {
    const duration = typeof input === "number" && Number.isNaN(input) ? undefined : Duration.fromInput(input)
    if (duration === undefined || duration._tag === "None") {
      return Result.fail(`must be ${DURATION_EXPECTED}, got ${show(input)}`)
    }
    const d = duration.value
    return check(
      Duration.isFinite(d) && !Duration.isNegative(d),
      d,
      `must be a finite, non-negative duration, got ${show(input)}`
    )
  },
  (duration) => duration
)

const TrustedDownstream = validated(
  Schema.Array(Schema.String),
  Schema.Array(Schema.String),
  (entries) => {
    const bad = entries.filter((entry) => parseIpRange(entry) === undefined).map(show)
    return bad.length === 0
      ? Result.succeed(entries)
      : Result.fail(
        bad.length === 1
          ? `${bad[0]} is neither an IP address nor a CIDR range`
          : `${bad.join(", ")} are neither IP addresses nor CIDR ranges`
      )
  },
  (entries) => entries
)

const withDefault = <S extends Schema.Top>(value: S["Encoded"]) => (schema: S) =>
  schema.pipe(Schema.withDecodingDefault(Effect.succeed(value)))

const none = <S extends Schema.Top>(schema: S) => Schema.UndefinedOr(schema).pipe(withDefault(undefined))

/**
 * The schema of the server's options: decodes a {@link ServerConfigInput}
 * (every field optional) to a {@link ServerConfig}. Decode it with
 * {@link decodeServerConfig} to get one {@link ConfigError} listing every bad
 * field and unknown key.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ServerConfig = Schema.Struct({
  host: NonEmptyText("a host name or IP address").pipe(withDefault("127.0.0.1")),
  port: IntegerIn(0, 65535, "an integer from 0 to 65535").pipe(withDefault(8888)),
  unixSocket: none(NonEmptyText("a socket path")),
  unixSocketMode: IntegerIn(0, 0o777, "a file mode from 0 to 0o777 (e.g. 0o600)").pipe(withDefault(0o600)),
  processes: IntegerIn(0, Number.MAX_SAFE_INTEGER, "an integer >= 0 (0 means one per CPU)").pipe(withDefault(1)),
  noKeepAlive: Schema.Boolean.pipe(withDefault(false)),
  xheaders: Schema.Boolean.pipe(withDefault(false)),
  forwarded: Schema.Boolean.pipe(withDefault(false)),
  trustedDownstream: TrustedDownstream.pipe(withDefault([])),
  protocol: none(Schema.Literals(["http", "https"])),
  decompressRequest: Schema.Boolean.pipe(withDefault(false)),
  chunkSize: ByteSize.pipe(withDefault(65536)),
  maxHeaderSize: ByteSize.pipe(withDefault(65536)),
  maxRequestLineSize: ByteSize.pipe(withDefault(8192)),
  maxBodySize: ByteSize.pipe(withDefault(104857600)),
  maxBufferSize: ByteSize.pipe(withDefault(104857600)),
  idleConnectionTimeout: NonNegativeDuration.pipe(withDefault(Duration.seconds(3600))),
  headerTimeout: NonNegativeDuration.pipe(withDefault(Duration.seconds(60))),
  bodyTimeout: none(NonNegativeDuration),
  shutdownTimeout: NonNegativeDuration.pipe(withDefault(Duration.seconds(30))),
  drainDelay: NonNegativeDuration.pipe(withDefault(Duration.zero)),
  writeTimeout: NonNegativeDuration.pipe(withDefault(Duration.seconds(60))),
  maxConnections: none(IntegerIn(1, Number.MAX_SAFE_INTEGER, "an integer >= 1")),
  accessLog: Schema.Boolean.pipe(withDefault(false)),
  // A TLS handshake is two round trips: even over a slow mobile link it is
  // done in well under 10 s, while Node's own 120 s lets a client that sends
  // nothing hold a connection slot (a TLS slow-loris) twelve times longer.
  handshakeTimeout: NonNegativeDuration.pipe(withDefault(Duration.seconds(10))),
  ssl: none(TlsConfig)
})

/**
 * What a library user writes: every field optional (absent or `undefined`
 * means the default); sizes as bytes or `"64 KiB"`; durations as a
 * `Duration.Input`.
 *
 * @since 0.1.0
 * @category models
 */
export type ServerConfigInput = typeof ServerConfig.Encoded

/** What each option must be, for input of the wrong type (no message of its own). */
const EXPECTED: Readonly<Record<string, string>> = {
  config: "an object of server options",
  host: "a host name or IP address",
  port: "an integer from 0 to 65535",
  unixSocket: "a socket path",
  unixSocketMode: "a file mode from 0 to 0o777 (e.g. 0o600)",
  processes: "an integer >= 0 (0 means one per CPU)",
  noKeepAlive: "true or false",
  xheaders: "true or false",
  forwarded: "true or false",
  trustedDownstream: "a list of IP addresses or CIDR ranges",
  protocol: "\"http\" or \"https\"",
  decompressRequest: "true or false",
  chunkSize: SIZE_EXPECTED,
  maxHeaderSize: SIZE_EXPECTED,
  maxRequestLineSize: SIZE_EXPECTED,
  maxBodySize: SIZE_EXPECTED,
  maxBufferSize: SIZE_EXPECTED,
  idleConnectionTimeout: DURATION_EXPECTED,
  headerTimeout: DURATION_EXPECTED,
  bodyTimeout: DURATION_EXPECTED,
  shutdownTimeout: DURATION_EXPECTED,
  drainDelay: DURATION_EXPECTED,
  writeTimeout: DURATION_EXPECTED,
  maxConnections: "an integer >= 1",
  accessLog: "true or false",
  handshakeTimeout: DURATION_EXPECTED,
  ssl: "{ cert, key } (PEM text or file paths), or { secureContext }",
  "ssl.minVersion": "\"TLSv1\", \"TLSv1.1\", \"TLSv1.2\" or \"TLSv1.3\"",
  "ssl.maxVersion": "\"TLSv1\", \"TLSv1.1\", \"TLSv1.2\" or \"TLSv1.3\"",
  "ssl.ciphers": "an OpenSSL cipher list",
  "ssl.sni": "an object of server name to { cert, key }",
  "ssl.secureContext": "a tls.SecureContext (from tls.createSecureContext)"
}

/**
 * What an `ssl` field holding key material must be; its value is never
 * echoed (a private key must not end up in a log).
 */
const secretExpected = (option: string): string | undefined => {
  if (!option.startsWith("ssl.")) return undefined
  if (/\.(?:cert|key|ca)$/.test(option)) return "must be PEM text or a file path (a string or bytes)"
  if (option.endsWith(".passphrase")) return "must be a string"
  return undefined
}

interface Located {
  readonly path: ReadonlyArray<string>
  readonly issue: SchemaIssue.Issue
}

/** Flattens an issue tree into its leaves, each with its (string-keyed) path. */
const leaves = (issue: SchemaIssue.Issue, path: ReadonlyArray<string>, out: Array<Located>): Array<Located> => {
  switch (issue._tag) {
    case "Pointer":
      leaves(issue.issue, [...path, ...issue.path.filter((key): key is string => typeof key === "string")], out)
      break
    case "Composite":
      for (const inner of issue.issues) leaves(inner, path, out)
      break
    case "AnyOf":
      if (issue.issues.length === 0) out.push({ path, issue })
      else for (const inner of issue.issues) leaves(inner, path, out)
      break
    case "Encoding":
      leaves(issue.issue, path, out)
      break
    default:
      out.push({ path, issue })
  }
  return out
}

const formatDefault = SchemaIssue.makeFormatterDefault()

const messageOf = (option: string, issue: SchemaIssue.Issue): string => {
  if (issue._tag === "UnexpectedKey") return "unknown option"
  if (issue._tag === "MissingKey") return "is required (ssl needs both cert and key)"
  if (issue._tag === "InvalidValue" && typeof issue.annotations?.message === "string") return issue.annotations.message
  if (issue._tag === "Filter" && typeof issue.filter.annotations?.message === "string") {
    return issue.filter.annotations.message
  }
  const secret = secretExpected(option)
  if (secret !== undefined) return secret
  const expected = EXPECTED[option] ?? (/^ssl\.sni\.[^]*$/.test(option) ? "{ cert, key }" : undefined)
  if (expected === undefined) return formatDefault(issue)
  return SchemaIssue.hasInput(issue) ? `must be ${expected}, got ${show(issue.input)}` : `must be ${expected}`
}

/**
 * Turns a schema issue into one {@link ConfigIssue} per bad option (the
 * first problem found for each).
 *
 * @since 0.1.0
 * @category errors
 */
export const toConfigIssues = (issue: SchemaIssue.Issue): ReadonlyArray<ConfigIssue> => {
  const byOption = new Map<string, string>()
  for (const leaf of leaves(issue, [], [])) {
    const option = leaf.path.length === 0 ? "config" : leaf.path.join(".")
    if (!byOption.has(option)) byOption.set(option, messageOf(option, leaf.issue))
  }
  return Array.from(byOption, ([option, message]) => ({ option, message }))
}

const PARSE_OPTIONS = { errors: "all", onExcessProperty: "error", reportInput: true } as const

/**
 * Decodes server options (a {@link ServerConfigInput}, or anything) into a
 * {@link ServerConfig}, applying Tornado's defaults. Fails with a
 * {@link ConfigError} naming every bad field and every unknown key.
 *
 * @example
 * decodeServerConfig({ port: 0, maxBodySize: "1 MiB", bodyTimeout: "5 seconds" })
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeServerConfig = (input: unknown): Effect.Effect<ServerConfig, ConfigError> =>
  Schema.decodeUnknownEffect(ServerConfig)(input, PARSE_OPTIONS).pipe(
    Effect.mapError((error) => new ConfigError({ issues: toConfigIssues(error.issue) }))
  )

/**
 * Decodes the `ssl` option alone (for `RunningServer.reloadTls`): the same
 * rules and messages as in {@link decodeServerConfig}, the issues named
 * `ssl.cert`, `ssl.key`, ...
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeTlsConfig = (input: TlsConfigInput): Effect.Effect<TlsConfig, ConfigError> =>
  Schema.decodeUnknownEffect(TlsConfig)(input, PARSE_OPTIONS).pipe(
    Effect.mapError((error) =>
      new ConfigError({ issues: toConfigIssues(new SchemaIssue.Pointer(["ssl"], error.issue)) })
    )
  )
