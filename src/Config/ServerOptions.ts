/**
 * The registry of the server's options: each option written once, with its
 * kind of value (`OptionValues.ts`: the Schema that checks it, what it must
 * be, how it is written as text), its default, its help line, and whether
 * the command line and the environment may set it.
 *
 * Everything else is derived from it: the `ServerConfig` Schema and type
 * (`ServerConfig.ts`), the messages for a value of the wrong type, the
 * environment variables (`HTTP_` + upper snake case, {@link variableOf}),
 * the command's flags (`--kebab-case`, {@link flagOf}) and `--help`, and the
 * option tables of README.md and docs/ARCHITECTURE.md (held to it by
 * `test/Config/ServerOptions.test.ts`).
 *
 * Adding an option is one entry in {@link SERVER_OPTIONS} (plus the code that
 * uses it); the test over the registry then asks for a sample of its values.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Schema } from "effect"
import type { OptionTextKind } from "./OptionText.ts"
import {
  Addresses,
  Bytes,
  CodeOnly,
  FileMode,
  Integer,
  OneOf,
  type OptionForm,
  type OptionValue,
  Pem,
  Seconds,
  Switch,
  Text,
  Written
} from "./OptionValues.ts"
import { TlsConfig, TlsVersion } from "./TlsConfig.ts"

/**
 * What every option and part of an option says about itself.
 *
 * @since 0.1.0
 * @category models
 */
export interface OptionDescription {
  /** How its value is written and explained. */
  readonly form: OptionForm
  /** One line for `--help` and the docs (Markdown: `code` in backticks). */
  readonly help: string
  /** What no value means, for an option without a default (`none`, `from the socket`). */
  readonly none: string
  /** Whether the command line may set it (`--kebab-case`). */
  readonly commandLine: boolean
  /** Whether the environment may set it (`HTTP_UPPER_SNAKE_CASE`). */
  readonly environment: boolean
}

/**
 * One option of `ServerConfig`: its Schema (with its default) and, for an
 * option that is an object of options (`ssl`), its parts.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerOption<S extends Schema.Top> extends OptionDescription {
  readonly schema: S
  /** The default, as code would write it; `undefined` for none. */
  readonly default: unknown
  /** The options inside this one (`ssl.cert`, ...), by name. */
  readonly parts: Readonly<Record<string, OptionDescription>>
}

interface Described {
  readonly help: string
  readonly none?: string
  /** Default: whenever the value can be written as text. */
  readonly commandLine?: boolean
  /** Default: whenever the value can be written as text. */
  readonly environment?: boolean
  readonly parts?: Readonly<Record<string, OptionDescription>>
}

const describe = (form: OptionForm, spec: Described): OptionDescription => ({
  form,
  help: spec.help,
  none: spec.none ?? "none",
  commandLine: spec.commandLine ?? form.text !== undefined,
  environment: spec.environment ?? form.text !== undefined
})

/** An option with a default. */
function option<S extends Schema.Top>(
  value: OptionValue<S>,
  spec: Described & { readonly default: S["Encoded"] }
): ServerOption<Schema.withDecodingDefault<S>>
/** An option whose absence means none (`undefined`). */
function option<S extends Schema.Top>(
  value: OptionValue<S>,
  spec: Described
): ServerOption<Schema.withDecodingDefault<Schema.UndefinedOr<S>>>
function option<S extends Schema.Top>(
  value: OptionValue<S>,
  spec: Described & { readonly default?: S["Encoded"] }
): ServerOption<Schema.Top> {
  const schema: Schema.Top = spec.default === undefined ? Schema.UndefinedOr(value.schema) : value.schema
  return {
    ...describe(value, spec),
    schema: Schema.withDecodingDefault<Schema.Top>(Effect.succeed(spec.default))(schema),
    default: spec.default,
    parts: spec.parts ?? {}
  }
}

/** A part of an object of options (`ssl.cert`), checked by that option's Schema. */
const part = (form: OptionForm, spec: Described): OptionDescription => describe(form, spec)

const TLS_VERSION: OptionForm = { ...OneOf(TlsVersion.literals), metavar: "V" }

/**
 * Every option, in the order of `ServerConfig`, of `--help` and of the docs.
 *
 * @since 0.1.0
 * @category registry
 */
export const SERVER_OPTIONS = {
  /** Address to listen on. Default `"127.0.0.1"`. */
  host: option(Text("a host name or IP address", "HOST"), { default: "127.0.0.1", help: "address to listen on" }),
  /** TCP port; `0` picks a free one. Default `8888`. */
  port: option(Integer(0, 65535, "an integer from 0 to 65535"), { default: 8888, help: "port; `0` picks a free one" }),
  /** Listen on this Unix domain socket instead of TCP. Default none. */
  unixSocket: option(Text("a socket path", "PATH"), {
    help: "listen on a Unix domain socket instead of TCP (not with `--port`)"
  }),
  /** Permissions of the `unixSocket` file. Default `0o600` (Tornado's): only its owner may connect. */
  unixSocketMode: option(FileMode, { default: 0o600, help: "permissions of the `--unix-socket` file" }),
  /** Worker processes; `0` means one per CPU, `1` no fork. Default `1`. */
  processes: option(Integer(0, Number.MAX_SAFE_INTEGER, "an integer >= 0 (0 means one per CPU)"), {
    default: 1,
    help: "worker processes; `0` means one per CPU; `1` no fork"
  }),
  /** Close every connection after one response. Default `false`. */
  noKeepAlive: option(Switch, { default: false, help: "close every connection after one response" }),
  /** Trust X-Real-Ip / X-Forwarded-For / X-Scheme / X-Forwarded-Proto. Default `false`. */
  xheaders: option(Switch, {
    default: false,
    help: "trust X-Real-Ip / X-Forwarded-For / X-Scheme / X-Forwarded-Proto"
  }),
  /**
   * Trust the RFC 7239 `Forwarded` header (`for=`, `proto=`, `host=`), under
   * the `trustedDownstream` rules; it wins over the X- headers. Default `false`.
   */
  forwarded: option(Switch, {
    default: false,
    help:
      "trust the RFC 7239 `Forwarded` header (`for=`, `proto=`, `host=`), under the `--trusted-downstream` rules; it wins over the X- headers"
  }),
  /** IPs / CIDR ranges skipped in X-Forwarded-For (and `Forwarded`). Default none. */
  trustedDownstream: option(Addresses, {
    default: [],
    help: "comma-separated IPs or CIDR ranges skipped in X-Forwarded-For (and `Forwarded`)"
  }),
  /**
   * Every connection must begin with a PROXY protocol header, version 1 or 2
   * (HAProxy's spec), read before anything else, TLS included; its source
   * address is the request's `remoteIp`. A connection without one, or with a
   * malformed one, is closed without an answer; v2 `LOCAL` and v1 `UNKNOWN`
   * keep the socket's own address. Default `false`.
   */
  proxyProtocol: option(Switch, {
    default: false,
    help:
      "every connection must begin with a PROXY protocol header, version 1 or 2 (HAProxy's spec), read before anything else, TLS included; its source address is the request's `remoteIp`. A connection without one, or with a malformed one, is closed without an answer. v2 `LOCAL` and v1 `UNKNOWN` keep the socket's own address"
  }),
  /**
   * With `proxyProtocol`: the IPs / CIDR ranges (the balancers) allowed to
   * connect; a connection from elsewhere is closed before a byte is read.
   * Default: any.
   */
  proxyProtocolFrom: option(Addresses, {
    default: [],
    none: "any",
    help:
      "with `--proxy-protocol`: comma-separated IPs or CIDR ranges allowed to connect; a connection from elsewhere is closed before a byte is read"
  }),
  /** Override the request protocol. Default: from the socket. */
  protocol: option(OneOf(["http", "https"]), { help: "override the request protocol", none: "from the socket" }),
  /** Decode gzip (and deflate) request bodies. Default `false`. */
  decompressRequest: option(Switch, { default: false, help: "decode gzip (and deflate) request bodies" }),
  /** Largest body piece handed to a streaming reader, bytes. Default 65536. */
  chunkSize: option(Bytes, { default: 65536, help: "largest body piece handed to a streaming reader" }),
  /** Largest request head, bytes. Default 65536. */
  maxHeaderSize: option(Bytes, { default: 65536, help: "largest request head (request line + headers)" }),
  /**
   * Longest request line (without its CRLF), bytes: past it, a target gets
   * 414, a method 501 (RFC 9112 section 3). Default 8192, as nginx.
   */
  maxRequestLineSize: option(Bytes, {
    default: 8192,
    help: "longest request line: a longer target gets `414 URI Too Long`, a longer method `501`, then close"
  }),
  /** Largest request body, bytes. Default 104857600. */
  maxBodySize: option(Bytes, { default: 104857600, help: "largest request body" }),
  /** Largest body buffered in memory, bytes. Default 104857600. */
  maxBufferSize: option(Bytes, { default: 104857600, help: "largest body buffered in memory" }),
  /** Close a keep-alive connection idle this long. Default 3600 s. */
  idleConnectionTimeout: option(Seconds, {
    default: Duration.seconds(3600),
    help: "close a keep-alive connection idle this long"
  }),
  /** Time allowed to receive a whole request head. Default 60 s. */
  headerTimeout: option(Seconds, { default: Duration.seconds(60), help: "time allowed to receive a whole request head" }),
  /** Time allowed to receive a whole body. Default none. */
  bodyTimeout: option(Seconds, { help: "time allowed to receive a whole body" }),
  /** On SIGTERM/SIGINT, how long in-flight requests may finish. Default 30 s. */
  shutdownTimeout: option(Seconds, {
    default: Duration.seconds(30),
    help: "on SIGTERM/SIGINT, how long in-flight requests may finish"
  }),
  /**
   * On SIGTERM/SIGINT (when the server's scope closes), keep accepting and
   * serving this long first, with the draining signal set, every response
   * saying `Connection: close` and a health route answering 503, so that load
   * balancers' health checks take the instance out before it stops
   * listening. Default 0.
   */
  drainDelay: option(Seconds, {
    default: Duration.zero,
    help:
      "on SIGTERM/SIGINT, keep accepting and serving this long first, while `/health` answers `503` and every response says `Connection: close`, so that load balancers take the instance out before it stops listening"
  }),
  /**
   * Close a connection whose peer has not read any of a pending response for
   * this long (a client that never reads must not pin memory). Default 60 s.
   */
  writeTimeout: option(Seconds, {
    default: Duration.seconds(60),
    help: "close a connection whose client reads nothing of a response this long"
  }),
  /** Most connections open at once; beyond it new ones are closed at once. Default none. */
  maxConnections: option(Integer(1, Number.MAX_SAFE_INTEGER, "an integer >= 1"), {
    help: "connections past N are closed at once"
  }),
  /**
   * Log one line per request through Effect's logger, in Tornado's form
   * (`200 GET /path (127.0.0.1) 1.23ms`). Default `false`.
   */
  accessLog: option(Switch, {
    default: false,
    help: "one line per request (the command: on stderr), Tornado's form: `200 GET /path (127.0.0.1) 1.23ms`"
  }),
  /**
   * Compress response bodies as the request's `Accept-Encoding` allows
   * (`br`, `gzip`, `zstd`): the handler runs under
   * `ResponseCompression.middleware()` with its defaults. Default `false`.
   */
  compressResponse: option(Switch, {
    default: false,
    help: "compress response bodies as `Accept-Encoding` allows (`br`, `gzip`, `zstd`; `ResponseCompression.middleware()`'s defaults)"
  }),
  /**
   * Serve HTTP/2 on the same port too: over TLS by ALPN (`h2`, else
   * `http/1.1`); in clear, a connection that opens with the HTTP/2 preface
   * (prior knowledge, RFC 9113 section 3.3). Default `false`.
   */
  http2: option(Switch, {
    default: false,
    help:
      "serve HTTP/2 on the same port too: over TLS by ALPN (`h2`, else `http/1.1`); in clear, a connection that opens with the HTTP/2 preface (prior knowledge)"
  }),
  /** HTTP/2 streams a client may have open at once (`SETTINGS_MAX_CONCURRENT_STREAMS`). Default 100. */
  maxConcurrentStreams: option(Integer(1, 2 ** 31 - 1, "an integer from 1 to 2^31-1"), {
    default: 100,
    help: "HTTP/2 streams a client may have open at once"
  }),
  // A TLS handshake is two round trips: even over a slow mobile link it is
  // done in well under 10 s, while Node's own 120 s lets a client that sends
  // nothing hold a connection slot (a TLS slow-loris) twelve times longer.
  /**
   * Time allowed for a TLS handshake, from the connection's accept (never
   * more than `headerTimeout` or `idleConnectionTimeout`). Default 10 s.
   */
  handshakeTimeout: option(Seconds, {
    default: Duration.seconds(10),
    help:
      "time allowed for a TLS handshake (a handshaking connection counts toward `--max-connections`; never longer than `--header-timeout`)"
  }),
  /** Serve TLS: certificate and key (PEM text or file paths), or a ready context. Default none. */
  ssl: option(CodeOnly(TlsConfig, "{ cert, key } (PEM text or file paths), or { secureContext }"), {
    help: "serve TLS: `cert` and `key`, or a ready `secureContext`",
    parts: {
      cert: part(Pem, { help: "serve TLS with this PEM certificate (needs `--ssl-key`)" }),
      key: part(Pem, { help: "the PEM private key of `--ssl-cert`" }),
      passphrase: part(Written("a string", "TEXT", true), { help: "passphrase of an encrypted `--ssl-key`" }),
      ca: part(Pem, { help: "PEM CA certificates sent with the chain" }),
      minVersion: part(TLS_VERSION, {
        help: "lowest TLS version accepted: `TLSv1`, `TLSv1.1`, `TLSv1.2` or `TLSv1.3`",
        none: "Node's own"
      }),
      maxVersion: part(TLS_VERSION, { help: "highest TLS version accepted", none: "Node's own" }),
      ciphers: part(Written("an OpenSSL cipher list", "LIST"), { help: "OpenSSL cipher list", none: "Node's own" }),
      sni: part(CodeOnly(Schema.Unknown, "an object of server name to { cert, key }"), {
        help: "server name (or `*.domain`) to its own `cert` and `key`"
      }),
      secureContext: part(CodeOnly(Schema.Unknown, "a tls.SecureContext (from tls.createSecureContext)"), {
        help: "a ready `tls.createSecureContext()` instead of `cert` and `key`"
      })
    }
  })
}

/**
 * An option or a part of one, by its path (`maxBodySize`, `ssl.cert`).
 *
 * @since 0.1.0
 * @category registry
 */
export interface OptionEntry extends OptionDescription {
  /** `maxBodySize`, or `ssl.cert` for a part. */
  readonly path: string
  /** The default, as code would write it; `undefined` for none (a part has none). */
  readonly default: unknown
}

/**
 * Every option and every part, flattened, in registry order (an option
 * before its parts).
 *
 * @since 0.1.0
 * @category registry
 */
export const OPTION_ENTRIES: ReadonlyArray<OptionEntry> = Object.entries(SERVER_OPTIONS).flatMap((
  [name, entry]: [string, ServerOption<Schema.Top>]
) => [
  { ...entry, path: name },
  ...Object.entries(entry.parts).map(([partName, described]) => ({
    ...described,
    path: `${name}.${partName}`,
    default: undefined
  }))
])

/**
 * An entry whose value can be written as text, with the kind of text.
 *
 * @since 0.1.0
 * @category registry
 */
export interface TextOption extends OptionEntry {
  readonly text: OptionTextKind
}

/**
 * The options the command line or the environment may set, in registry order.
 *
 * @since 0.1.0
 * @category registry
 */
export const TEXT_OPTIONS: ReadonlyArray<TextOption> = OPTION_ENTRIES.flatMap((entry) =>
  entry.form.text !== undefined && (entry.commandLine || entry.environment) ? [{ ...entry, text: entry.form.text }] : []
)

const BY_PATH: ReadonlyMap<string, OptionEntry> = new Map(OPTION_ENTRIES.map((entry) => [entry.path, entry]))

/**
 * The entry at a path, if there is one.
 *
 * @since 0.1.0
 * @category registry
 */
export const entryAt = (path: string): OptionEntry | undefined => BY_PATH.get(path)

/** `maxBodySize` -> `max_body_size`, `ssl.cert` -> `ssl_cert`, `max-body-size` -> `max_body_size`. */
const snake = (option: string): string => option.replace(/[A-Z]/g, (c) => `_${c}`).replace(/[.-]/g, "_").toLowerCase()

/**
 * The environment variable of an option: `maxBodySize` ->
 * `HTTP_MAX_BODY_SIZE`, `ssl.cert` -> `HTTP_SSL_CERT` (also from the flag's
 * name, `max-body-size`).
 *
 * @since 0.1.0
 * @category names
 */
export const variableOf = (option: string): string => `HTTP_${snake(option).toUpperCase()}`

/**
 * The command-line flag of an option: `maxBodySize` -> `--max-body-size`,
 * `ssl.cert` -> `--ssl-cert`.
 *
 * @since 0.1.0
 * @category names
 */
export const flagOf = (option: string): string => `--${snake(option).replace(/_/g, "-")}`

/**
 * How an option is written on the command line, with its value's name:
 * `--max-body-size BYTES`, `--xheaders`.
 *
 * @since 0.1.0
 * @category names
 */
export const flagUsage = (entry: OptionEntry): string =>
  `${flagOf(entry.path)}${entry.form.metavar === undefined ? "" : ` ${entry.form.metavar}`}`

/**
 * An option's default as the docs and `--help` show it (Markdown): a value
 * in backticks as it is written on the command line (`3600` seconds, `600`
 * octal), `off` for a switch, or what no value means (`none`).
 *
 * @since 0.1.0
 * @category docs
 */
export const defaultText = (entry: OptionEntry): string => {
  const value = entry.default
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return entry.none
  switch (entry.form.text) {
    case "switch":
      return value === true ? "on" : "off"
    case "seconds":
      return `\`${Duration.toSeconds(Duration.fromInputUnsafe(value as Duration.Input))}\``
    case "mode":
      return `\`${(value as number).toString(8)}\``
    case "list":
      return `\`${(value as ReadonlyArray<string>).join(",")}\``
    default:
      return `\`${String(value)}\``
  }
}
