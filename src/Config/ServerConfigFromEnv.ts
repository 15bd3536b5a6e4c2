/**
 * The server's options from the environment, through Effect's `Config` and
 * the current `ConfigProvider` (`process.env` unless another is installed,
 * e.g. `ConfigProvider.fromUnknown` in a test).
 *
 * Each option has one variable: `HTTP_` and the option's name in upper snake
 * case (`maxBodySize` is `HTTP_MAX_BODY_SIZE`, `ssl.cert` is `HTTP_SSL_CERT`),
 * the names of the demo command's options (`--max-body-size`). Values are
 * written as on the command line (`OptionText.ts`): sizes as `65536` or
 * `64KiB`, durations as seconds (`30`, `0.1`), flags as `true` / `false`,
 * lists comma-separated. They are decoded by the same `ServerConfig` schema,
 * so a bad value fails with the same message, naming the variable:
 *
 * ```
 * HTTP_PORT: must be an integer from 0 to 65535, got 70000
 * ```
 *
 * An empty variable counts as unset.
 *
 * @since 0.1.0
 */
import { Config, Effect, Result } from "effect"
import { type OptionTextKind, parseOptionText } from "./OptionText.ts"
import {
  ConfigError,
  type ConfigIssue,
  decodeServerConfig,
  type ServerConfig,
  type ServerConfigInput
} from "./ServerConfig.ts"

/**
 * How each option is written in its variable, by the option's path in
 * `ServerConfig` (nested fields with a dot). Every field of the schema has a
 * variable (a test checks it).
 *
 * @since 0.1.0
 * @category variables
 */
export const OPTION_TEXT_KINDS: Readonly<Record<string, OptionTextKind>> = {
  host: "text",
  port: "integer",
  unixSocket: "text",
  unixSocketMode: "mode",
  processes: "integer",
  noKeepAlive: "switch",
  xheaders: "switch",
  forwarded: "switch",
  trustedDownstream: "list",
  protocol: "text",
  decompressRequest: "switch",
  chunkSize: "bytes",
  maxHeaderSize: "bytes",
  maxRequestLineSize: "bytes",
  maxBodySize: "bytes",
  maxBufferSize: "bytes",
  idleConnectionTimeout: "seconds",
  headerTimeout: "seconds",
  bodyTimeout: "seconds",
  shutdownTimeout: "seconds",
  drainDelay: "seconds",
  writeTimeout: "seconds",
  maxConnections: "integer",
  "ssl.cert": "text",
  "ssl.key": "text",
  "ssl.passphrase": "text",
  "ssl.ca": "text",
  "ssl.minVersion": "text",
  "ssl.maxVersion": "text",
  "ssl.ciphers": "text",
  accessLog: "switch",
  handshakeTimeout: "seconds"
}

/**
 * The variable of an option: `maxBodySize` -> `HTTP_MAX_BODY_SIZE`,
 * `ssl.cert` -> `HTTP_SSL_CERT`, `max-body-size` -> `HTTP_MAX_BODY_SIZE`.
 *
 * @since 0.1.0
 * @category variables
 */
export const variableOf = (option: string): string =>
  `HTTP_${option.replace(/[A-Z]/g, (c) => `_${c}`).replace(/[.-]/g, "_").toUpperCase()}`

const OPTIONS = Object.keys(OPTION_TEXT_KINDS)

/** Every variable, read as optional text (an empty one is unset). */
const variables: Config.Config<Record<string, string | undefined>> = Config.all(
  Object.fromEntries(
    OPTIONS.map((option) => [option, Config.String(variableOf(option)).pipe(Config.withDefault(undefined))])
  )
) as Config.Config<Record<string, string | undefined>>

/** Sets `option` (maybe `a.b`) in `input`. */
const setOption = (input: Record<string, unknown>, option: string, value: unknown): void => {
  const dot = option.indexOf(".")
  if (dot === -1) {
    input[option] = value
    return
  }
  const outer = option.slice(0, dot)
  const inner = (input[outer] ??= {}) as Record<string, unknown>
  setOption(inner, option.slice(dot + 1), value)
}

/**
 * Merges the variables' values over `defaults` (an option set in the
 * environment wins), and names each bad option by its variable when the
 * variable gave it.
 */
const decodeWith = (
  texts: Record<string, string | undefined>,
  defaults: ServerConfigInput | undefined
): Effect.Effect<ServerConfig, ConfigError> => {
  const input: Record<string, unknown> = copyDefaults(defaults)
  const fromEnv = new Set<string>()
  const issues: Array<ConfigIssue> = []
  for (const option of OPTIONS) {
    const text = texts[option]
    if (text === undefined || text === "") continue
    const value = parseOptionText(OPTION_TEXT_KINDS[option] as OptionTextKind, text)
    if (Result.isFailure(value)) {
      issues.push({ option: variableOf(option), message: value.failure })
      continue
    }
    fromEnv.add(option)
    setOption(input, option, value.success)
  }
  // A server listens on a port or on a Unix socket: both set is a
  // conflict, not a silent choice (as `--port` with `--unix-socket`).
  if (fromEnv.has("port") && fromEnv.has("unixSocket")) {
    issues.push({
      option: variableOf("unixSocket"),
      message: `conflicts with ${variableOf("port")}: set one of them (a server listens on a port or on a Unix socket)`
    })
  }
  // Named by its variable, unless the code gave the value.
  const named = (issue: ConfigIssue): ConfigIssue =>
    fromEnv.has(issue.option) || (issue.option in OPTION_TEXT_KINDS && !givenIn(defaults, issue.option))
      ? { option: variableOf(issue.option), message: issue.message }
      : issue
  return decodeServerConfig(input).pipe(
    Effect.catchTag("ConfigError", (error) =>
      Effect.fail(new ConfigError({ issues: [...issues, ...error.issues.map(named)] }))),
    Effect.flatMap((config) => issues.length === 0 ? Effect.succeed(config) : Effect.fail(new ConfigError({ issues })))
  )
}

/** Whether `input` has a value for `option` (maybe `a.b`). */
const givenIn = (input: unknown, option: string): boolean => {
  let value = input
  for (const key of option.split(".")) {
    if (typeof value !== "object" || value === null) return false
    value = (value as Record<string, unknown>)[key]
  }
  return value !== undefined
}

/** Options that are objects of options (`ssl`). */
const NESTED = new Set(OPTIONS.filter((option) => option.includes(".")).map((option) => option.split(".")[0]))

/** A copy of the defaults whose nested options (`ssl`) can be added to. */
const copyDefaults = (defaults: ServerConfigInput | undefined): Record<string, unknown> => {
  const copy: Record<string, unknown> = { ...defaults }
  for (const key of NESTED) {
    const value = copy[key as string]
    if (typeof value === "object" && value !== null) copy[key as string] = { ...value }
  }
  return copy
}

/**
 * Reads the server's options from the current `ConfigProvider` (`HTTP_PORT`,
 * `HTTP_MAX_BODY_SIZE`, ...) over `defaults`, and decodes them. Fails with
 * one {@link ConfigError} listing every bad value, each named by its variable
 * (or by its option, for a bad default); a provider that cannot be read
 * fails the same way, naming the provider's error.
 *
 * @example
 * // HTTP_PORT=0 HTTP_MAX_BODY_SIZE=1MiB node app.ts
 * const config = yield* loadServerConfig({ host: "0.0.0.0" })
 *
 * @since 0.1.0
 * @category loading
 */
export const loadServerConfig = (defaults?: ServerConfigInput): Effect.Effect<ServerConfig, ConfigError> =>
  Effect.flatMap(
    Effect.mapError(variables, (error) => new ConfigError({ issues: [{ option: "environment", message: error.message }] })),
    (texts) => decodeWith(texts, defaults)
  )
