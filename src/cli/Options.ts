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
 * not have. The flags, their help and defaults come from the registry of
 * options (`ServerOptions.ts`); the texts are read and decoded as the
 * library reads the environment (`ServerConfigFromText.ts`, by the
 * `ServerConfig` schema), the environment itself through
 * `ServerConfigFromEnv`: the library and the command line share one set of
 * options, rules and messages.
 *
 * @since 0.1.0
 */
import { ConfigProvider, Data, Effect } from "effect"
import { type ServerConfig } from "../Config/ServerConfig.ts"
import { environmentTexts } from "../Config/ServerConfigFromEnv.ts"
import { decodeOptionTexts, type OptionTexts, type PlacedIssue } from "../Config/ServerConfigFromText.ts"
import { defaultText, flagOf, flagUsage, TEXT_OPTIONS, type TextOption } from "../Config/ServerOptions.ts"

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

/** The options the command line may set, by flag without its `--` (`max-body-size`). */
const BY_FLAG: ReadonlyMap<string, TextOption> = new Map(
  TEXT_OPTIONS.filter((option) => option.commandLine).map((option) => [flagOf(option.path).slice(2), option])
)

/** A help line: the registry's, without Markdown, with its default if it has one (a switch is off unless given). */
const helpLine = (option: TextOption): string => {
  const shown = defaultText(option)
  const line = option.text === "switch" || shown === "none" ? option.help : `${option.help} (default: ${shown})`
  return line.replaceAll("`", "")
}

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
  ...[...BY_FLAG.values()].map((option) => `  ${flagUsage(option).padEnd(36)} ${helpLine(option)}`),
  `  ${"-h, --help".padEnd(36)} show this help`,
  "",
  "BYTES also accepts the suffixes KiB, MiB, GiB (powers of 1024) and KB, MB, GB",
  "(powers of 1000); SECONDS accepts decimals (0.1).",
  "Every option can also come from the environment: HTTP_ and its name in upper",
  "snake case (--max-body-size is HTTP_MAX_BODY_SIZE; a switch takes true or",
  "false). An option on the command line wins over its variable.",
  ""
].join("\n")

/** A problem, with the argv position it is about (problems are reported in argv order). */
interface Problem {
  readonly at: number
  readonly line: string
}

/** What the scan of argv found: each option's texts and last position, by option path, and problems. */
interface Scanned {
  readonly texts: Map<string, Array<string>>
  readonly positions: Map<string, number>
  readonly problems: Array<Problem>
  readonly help: boolean
}

const unexpected = (arg: string): string => `unexpected argument ${JSON.stringify(arg)} (only options are accepted)`

const looksLikeOption = (arg: string): boolean => arg.startsWith("--") && arg.length > 2

/** Splits argv into options and their values; never fails, collects problems. */
const scan = (argv: ReadonlyArray<string>): Scanned => {
  const texts = new Map<string, Array<string>>()
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
    const option = arg.startsWith("--") ? BY_FLAG.get(name) : undefined
    if (option === undefined) {
      problems.push({ at: i, line: `${equals === -1 ? arg : arg.slice(0, equals)}: unknown option` })
      continue
    }
    const flag = flagOf(option.path)
    const seen = texts.get(option.path) ?? []
    texts.set(option.path, seen)
    positions.set(option.path, i)
    if (option.text === "switch") {
      if (inline === undefined) seen.push("true")
      else problems.push({ at: i, line: `${flag}: takes no value, got ${JSON.stringify(inline)}` })
      continue
    }
    if (inline !== undefined) {
      seen.push(inline)
      continue
    }
    const next = argv[i + 1]
    if (next === undefined || looksLikeOption(next)) {
      problems.push({ at: i, line: `${flag}: needs a value (${option.form.metavar ?? "VALUE"})` })
      continue
    }
    seen.push(next)
    i++
  }
  return { texts, positions, problems, help }
}

/** The command line's problems and the decoding's, one line each, in argv order (the environment's last). */
const problemLines = (scanned: Scanned, issues: ReadonlyArray<PlacedIssue>): ReadonlyArray<string> =>
  [...scanned.problems, ...issues.map((issue) => ({ at: issue.at, line: `${issue.option}: ${issue.message}` }))]
    .sort((a, b) => a.at - b.at)
    .map((problem) => problem.line)

/**
 * Parses the command line (argv without `node` and the script) into a
 * decoded `ServerConfig`, reading the `--ssl-cert` / `--ssl-key` files.
 * An option not on the command line is taken from the environment, as the
 * library takes it (`ServerConfigFromEnv`): `HTTP_` and its name in upper
 * snake case (`HTTP_MAX_BODY_SIZE`), through the current `ConfigProvider`,
 * or from `env` when given.
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
  env?: Readonly<Record<string, string | undefined>>
): Effect.Effect<ServerConfig, InvalidOptions | HelpRequested> =>
  Effect.suspend((): Effect.Effect<ServerConfig, InvalidOptions | HelpRequested> => {
    const scanned = scan(argv)
    if (scanned.help) return Effect.fail(new HelpRequested({ usage }))
    const commandLine: OptionTexts = {
      texts: scanned.texts,
      nameOf: flagOf,
      positionOf: (option) => scanned.positions.get(option)
    }
    const environment = env === undefined
      ? environmentTexts
      : Effect.provideService(environmentTexts, ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: definedOnly(env) }))
    const invalid = (issues: ReadonlyArray<PlacedIssue>) => new InvalidOptions({ problems: problemLines(scanned, issues) })
    return environment.pipe(
      Effect.mapError((error) => invalid(error.issues.map((issue) => ({ ...issue, at: argv.length })))),
      Effect.flatMap((fromEnvironment) =>
        Effect.mapError(decodeOptionTexts([commandLine, fromEnvironment]), (error) => invalid(error.issues))
      ),
      Effect.flatMap((config) => scanned.problems.length > 0 ? Effect.fail(invalid([])) : Effect.succeed(config))
    )
  })

const definedOnly = (env: Readonly<Record<string, string | undefined>>): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined))
