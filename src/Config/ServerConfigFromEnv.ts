/**
 * The server's options from the environment, through Effect's `Config` and
 * the current `ConfigProvider` (`process.env` unless another is installed,
 * e.g. `ConfigProvider.fromUnknown` in a test).
 *
 * Each option the registry (`ServerOptions.ts`) lets the environment set
 * has one variable: `HTTP_` and the option's name in upper snake case
 * (`maxBodySize` is `HTTP_MAX_BODY_SIZE`, `ssl.cert` is `HTTP_SSL_CERT`), the
 * names of the demo command's options (`--max-body-size`). Values are
 * written as on the command line (`OptionText.ts`): sizes as `65536` or
 * `64KiB`, durations as seconds (`30`, `0.1`), flags as `true` / `false`,
 * lists comma-separated. They are read and decoded as the command line's
 * are (`ServerConfigFromText.ts`), by the same `ServerConfig` schema, so a
 * bad value fails with the same message, naming the variable:
 *
 * ```
 * HTTP_PORT: must be an integer from 0 to 65535, got 70000
 * ```
 *
 * An empty variable counts as unset.
 *
 * @since 0.1.0
 */
import { Config, Effect } from "effect"
import { ConfigError, type ServerConfig, type ServerConfigInput } from "./ServerConfig.ts"
import { decodeOptionTexts, type OptionTexts } from "./ServerConfigFromText.ts"
import { TEXT_OPTIONS, variableOf } from "./ServerOptions.ts"

export {
  /**
   * The variable of an option: `maxBodySize` -> `HTTP_MAX_BODY_SIZE`,
   * `ssl.cert` -> `HTTP_SSL_CERT`, `max-body-size` -> `HTTP_MAX_BODY_SIZE`.
   *
   * @since 0.1.0
   * @category variables
   */
  variableOf
} from "./ServerOptions.ts"

/** The options the environment may set (every one the registry writes as text). */
const FROM_ENVIRONMENT = TEXT_OPTIONS.filter((option) => option.environment).map((option) => option.path)

/** Every variable, read as optional text. */
const variables = Config.all(
  Object.fromEntries(
    FROM_ENVIRONMENT.map((option) => [option, Config.String(variableOf(option)).pipe(Config.withDefault(undefined))])
  )
) as Config.Config<Record<string, string | undefined>>

/**
 * The options the environment gives (through the current `ConfigProvider`),
 * each named by its variable; an empty variable is unset. A provider that
 * cannot be read fails, naming the provider's error.
 *
 * The demo command reads the environment through this, under its own
 * command line.
 *
 * @since 0.1.0
 * @category variables
 */
export const environmentTexts: Effect.Effect<OptionTexts, ConfigError> = Effect.map(
  Effect.mapError(variables, (error) => new ConfigError({ issues: [{ option: "environment", message: error.message }] })),
  (values) => ({
    texts: new Map(
      Object.entries(values).flatMap(([option, text]) => text === undefined || text === "" ? [] : [[option, [text]]])
    ),
    nameOf: variableOf
  })
)

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
  Effect.flatMap(environmentTexts, (environment) =>
    Effect.mapError(
      decodeOptionTexts([environment], defaults),
      (error) => new ConfigError({ issues: error.issues.map(({ message, option }) => ({ option, message })) })
    ))
