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
import { Data, Effect, Schema, SchemaIssue } from "effect"
import { show } from "./OptionValues.ts"
import { entryAt, SERVER_OPTIONS } from "./ServerOptions.ts"
import { TlsConfig, type TlsConfigInput } from "./TlsConfig.ts"

/** Each option's schema, by name (a mapped type, so each field keeps its entry's doc comment). */
type Fields = { readonly [Name in keyof typeof SERVER_OPTIONS]: (typeof SERVER_OPTIONS)[Name]["schema"] }

const fields = Object.fromEntries(Object.entries(SERVER_OPTIONS).map(([name, entry]) => [name, entry.schema])) as Fields

/**
 * The schema of the server's options, one field per entry of the registry
 * (`ServerOptions.ts`): decodes a {@link ServerConfigInput} (every field
 * optional) to a {@link ServerConfig}. Decode it with
 * {@link decodeServerConfig} to get one {@link ConfigError} listing every bad
 * field and unknown key.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ServerConfig: Schema.Struct<Fields> = Schema.Struct(fields)

/**
 * The decoded configuration, the type the server consumes (each field is
 * documented at its entry in `ServerOptions.ts`).
 *
 * @since 0.1.0
 * @category models
 */
export type ServerConfig = typeof ServerConfig.Type

/**
 * What a library user writes: every field optional (absent or `undefined`
 * means the default); sizes as bytes or `"64 KiB"`; durations as a
 * `Duration.Input`.
 *
 * @since 0.1.0
 * @category models
 */
export type ServerConfigInput = typeof ServerConfig.Encoded

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

/**
 * What an option must be, for input of the wrong type (no message of its
 * own): its entry's, or for a part of an SNI entry (`ssl.sni.<name>.key`)
 * the top-level part's (`ssl.key`). Key material is never echoed.
 */
const expectedOf = (option: string): { readonly expected: string; readonly secret: boolean } | undefined => {
  if (option === "config") return { expected: "an object of server options", secret: false }
  const sni = /^ssl\.sni\.[^]*?(?:\.(cert|key|passphrase|ca))?$/.exec(option)
  if (sni !== null && option !== "ssl.sni") {
    return sni[1] === undefined ? { expected: "{ cert, key }", secret: false } : entryAt(`ssl.${sni[1]}`)?.form
  }
  return entryAt(option)?.form
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
  const form = expectedOf(option)
  if (form === undefined) return formatDefault(issue)
  return SchemaIssue.hasInput(issue) && !form.secret
    ? `must be ${form.expected}, got ${show(issue.input)}`
    : `must be ${form.expected}`
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
    Effect.mapError((error) => new ConfigError({ issues: toConfigIssues(error.issue) })),
    Effect.flatMap((config) => {
      const issues = crossIssues(config)
      return issues.length === 0 ? Effect.succeed(config) : Effect.fail(new ConfigError({ issues }))
    })
  )

/**
 * Options that decode alone but not together.
 *
 * @since 0.1.0
 * @category decoding
 */
export const crossIssues = (config: ServerConfig): ReadonlyArray<ConfigIssue> =>
  // A list of balancers says who may send PROXY headers: without them it would be silently ignored.
  config.proxyProtocolFrom.length > 0 && !config.proxyProtocol
    ? [{ option: "proxyProtocolFrom", message: "needs proxyProtocol" }]
    : []

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
