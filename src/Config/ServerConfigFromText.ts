/**
 * The server's options written as text, from one or more places (the
 * command line, the environment), decoded to a `ServerConfig`: the one way
 * both the library's `ServerConfigFromEnv` and the demo command read them.
 *
 * Each place gives texts by option (`maxBodySize`, `ssl.cert`) and names
 * its options as its user writes them (`--max-body-size`,
 * `HTTP_MAX_BODY_SIZE`). The first place that gives an option wins; the
 * texts are reshaped for the schema (`OptionText.ts`) over the defaults
 * given in code, and decoded by the same `ServerConfig` schema with the same
 * messages. Every problem is named as the user wrote it:
 *
 * ```
 * --port: must be an integer from 0 to 65535, got 70000
 * HTTP_SSL_KEY: cannot read "/etc/ssl/site.key": no such file
 * ```
 *
 * @since 0.1.0
 */
import { Data, Effect, Result } from "effect"
import { parseOptionText } from "./OptionText.ts"
import {
  type ConfigError,
  type ConfigIssue,
  decodeServerConfig,
  decodeTlsConfig,
  type ServerConfig,
  type ServerConfigInput
} from "./ServerConfig.ts"
import { entryAt, SERVER_OPTIONS, TEXT_OPTIONS, type TextOption } from "./ServerOptions.ts"
import type { TlsConfig, TlsConfigInput } from "./TlsConfig.ts"

/**
 * The options one place gives as text.
 *
 * @since 0.1.0
 * @category models
 */
export interface OptionTexts {
  /**
   * The texts given, by option path; more than one when an option is given
   * more than once (a list adds them up, otherwise the last one counts).
   */
  readonly texts: ReadonlyMap<string, ReadonlyArray<string>>
  /** An option as its user writes it here: `--max-body-size`, `HTTP_MAX_BODY_SIZE`. */
  readonly nameOf: (option: string) => string
  /** Where an option's text is (its argv position), to list problems in order; `undefined`: after all. */
  readonly positionOf?: (option: string) => number | undefined
}

/**
 * A problem, with the position of the text it is about (`Infinity` when it
 * has none, e.g. a variable).
 *
 * @since 0.1.0
 * @category errors
 */
export interface PlacedIssue extends ConfigIssue {
  readonly at: number
}

/**
 * The texts did not decode: every problem, in the order of the texts they
 * are about (see {@link decodeOptionTexts}).
 *
 * @since 0.1.0
 * @category errors
 */
export class OptionTextsError extends Data.TaggedError("OptionTextsError")<{
  readonly issues: ReadonlyArray<PlacedIssue>
}> {}

const AFTER_ALL = Number.POSITIVE_INFINITY

/** Reshapes an option's texts: a list adds up every text given, anything else takes the last. */
const parseTexts = (option: TextOption, texts: ReadonlyArray<string>): Result.Result<unknown, string> => {
  if (option.text !== "list") return parseOptionText(option.text, texts[texts.length - 1] ?? "")
  const entries: Array<unknown> = []
  for (const text of texts) {
    const parsed = parseOptionText("list", text)
    if (Result.isFailure(parsed)) return parsed
    entries.push(...(parsed.success as ReadonlyArray<unknown>))
  }
  return Result.succeed(entries)
}

/** Sets `option` (maybe `a.b`) in `input`; a bad non-object default in the way is left for the schema to report. */
const setOption = (input: Record<string, unknown>, option: string, value: unknown): void => {
  const dot = option.indexOf(".")
  if (dot === -1) {
    input[option] = value
    return
  }
  const outer = option.slice(0, dot)
  const inner = (input[outer] ??= {})
  if (typeof inner === "object" && inner !== null) setOption(inner as Record<string, unknown>, option.slice(dot + 1), value)
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

/** A copy of the defaults whose objects of options (`ssl`) can be added to. */
const copyDefaults = (defaults: ServerConfigInput | undefined): Record<string, unknown> => {
  const copy: Record<string, unknown> = { ...defaults }
  for (const [key, value] of Object.entries(copy)) {
    if (typeof value === "object" && value !== null && !Array.isArray(value) && GROUPS.has(key)) copy[key] = { ...value }
  }
  return copy
}

/** Options that are objects of options (`ssl`). */
const GROUPS: ReadonlySet<string> = new Set(
  Object.entries(SERVER_OPTIONS).filter(([, entry]) => Object.keys(entry.parts).length > 0).map(([name]) => name)
)

/** The parts of `ssl` that text may set, in registry order (`ssl.cert` and `ssl.key` first). */
const SSL_PARTS: ReadonlyArray<string> = TEXT_OPTIONS.map((option) => option.path).filter((path) => path.startsWith("ssl."))

/** Who gave an option as text, and where. */
interface Given {
  readonly place: OptionTexts
  readonly at: number
}

/**
 * Reads the texts of every place, first place first, over `defaults`, and
 * decodes them. Fails with every problem, each named as its user wrote the
 * option (a bad default given in code keeps its option's name), listed:
 * texts that do not parse, options that do not go together, the `ssl`
 * files, then the other values; stably sorted by the position of the text
 * they are about.
 *
 * @example
 * decodeOptionTexts([commandLine, environment])   // the command line wins
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeOptionTexts = (
  places: ReadonlyArray<OptionTexts>,
  defaults?: ServerConfigInput
): Effect.Effect<ServerConfig, OptionTextsError> => {
  const input = copyDefaults(defaults)
  const given = new Map<string, Given>()
  const issues: Array<PlacedIssue> = []
  for (const option of TEXT_OPTIONS) {
    const place = places.find((candidate) => (candidate.texts.get(option.path)?.length ?? 0) > 0)
    if (place === undefined) continue
    const at = place.positionOf?.(option.path) ?? AFTER_ALL
    given.set(option.path, { place, at })
    const value = parseTexts(option, place.texts.get(option.path) ?? [])
    if (Result.isFailure(value)) issues.push({ at, option: place.nameOf(option.path), message: value.failure })
    else setOption(input, option.path, value.success)
  }

  const primary = places[0]
  /** An option as written where it was given; one nobody gave, as the first place writes it. */
  const nameOf = (option: string, place = given.get(option)?.place): string => {
    if (place !== undefined) return place.nameOf(option)
    const entry = entryAt(option)
    return entry?.form.text !== undefined && primary !== undefined && !givenIn(defaults, option)
      ? primary.nameOf(option)
      : option
  }
  /** Option paths inside a message (`ssl.passphrase is needed`), named as the user writes them. */
  const namesIn = (message: string): string =>
    message.replace(/(?<=^|[\s(])[a-z]+\.[a-zA-Z]+(?=$|[\s),:;])/g, (path) => entryAt(path) === undefined ? path : nameOf(path))
  const place = (issue: ConfigIssue): PlacedIssue => ({
    at: given.get(issue.option)?.at ?? AFTER_ALL,
    option: nameOf(issue.option),
    message: namesIn(issue.message)
  })

  const { ruleIssues, reported } = crossChecks(given, defaults, input, nameOf)
  issues.push(...ruleIssues)

  // `ssl` first: its files are read and checked before the other values.
  const { ssl, ...rest } = input
  const tls: Effect.Effect<Result.Result<TlsConfig | undefined, ConfigError>> = ssl === undefined
    ? Effect.succeed(Result.succeed(undefined))
    : Effect.result(decodeTlsConfig(ssl as TlsConfigInput))
  return Effect.flatMap(tls, (tlsResult) =>
    Effect.flatMap(Effect.result(decodeServerConfig(rest)), (configResult) => {
      const decodingIssues = [
        ...(Result.isFailure(tlsResult) ? tlsResult.failure.issues : []),
        ...(Result.isFailure(configResult) ? configResult.failure.issues : [])
      ]
      issues.push(...decodingIssues.filter((issue) => !reported.has(issue.option)).map(place))
      if (issues.length > 0 || Result.isFailure(tlsResult) || Result.isFailure(configResult)) {
        return Effect.fail(new OptionTextsError({ issues: issues.sort((a, b) => a.at - b.at) }))
      }
      return Effect.succeed({ ...configResult.success, ssl: tlsResult.success })
    }))
}

/**
 * Options given as text that do not go together. Returns their problems
 * and the options those problems already cover (the schema's own problem
 * with them is dropped).
 */
const crossChecks = (
  given: ReadonlyMap<string, Given>,
  defaults: ServerConfigInput | undefined,
  input: Readonly<Record<string, unknown>>,
  nameOf: (option: string, place?: OptionTexts) => string
): { readonly ruleIssues: ReadonlyArray<PlacedIssue>; readonly reported: ReadonlySet<string> } => {
  const ruleIssues: Array<PlacedIssue> = []
  const reported = new Set<string>()
  const anywhere = (option: string) => given.has(option) || givenIn(defaults, option)

  // A server listens on a port or on a Unix socket: both is a conflict, not a silent choice.
  const socket = given.get("unixSocket")
  if (socket !== undefined && given.has("port")) {
    ruleIssues.push({
      at: socket.at,
      option: nameOf("unixSocket"),
      message: `cannot be used with ${nameOf("port")} (a Unix socket has no port)`
    })
  }
  // A mode is for a socket file.
  const mode = given.get("unixSocketMode")
  if (mode !== undefined && !anywhere("unixSocket")) {
    ruleIssues.push({
      at: mode.at,
      option: nameOf("unixSocketMode"),
      message: `needs ${nameOf("unixSocket", mode.place)}`
    })
  }
  // Text gives TLS as a certificate and its key: any `ssl` part needs both
  // (named as the first part given is: `--ssl-key: required with --ssl-cert`).
  const asker = SSL_PARTS.find((option) => given.has(option))
  const askerGiven = asker === undefined ? undefined : given.get(asker)
  if (asker !== undefined && askerGiven !== undefined && !givenIn(defaults, "ssl.secureContext")) {
    for (const required of ["ssl.cert", "ssl.key"]) {
      if (anywhere(required)) continue
      ruleIssues.push({
        at: askerGiven.at,
        option: nameOf(required, askerGiven.place),
        message: `required with ${nameOf(asker)}`
      })
      reported.add(required).add("ssl")
    }
  }
  // The library's rule (`crossIssues` in ServerConfig.ts), named as the user wrote the options.
  const from = given.get("proxyProtocolFrom")
  if (from !== undefined && input["proxyProtocol"] !== true) {
    ruleIssues.push({ at: from.at, option: nameOf("proxyProtocolFrom"), message: `needs ${nameOf("proxyProtocol", from.place)}` })
    reported.add("proxyProtocolFrom")
  }
  return { ruleIssues, reported }
}
