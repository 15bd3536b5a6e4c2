/**
 * The kinds of value a server option takes (a size, a duration, a switch, a
 * list of addresses, ...), each as one {@link OptionValue}: the Schema that
 * checks it, what it must be (for messages), how it is written as text (the
 * command line, the environment) and its name in `--help`.
 *
 * The registry of options (`ServerOptions.ts`) picks one per option and adds
 * its default; everything else about an option is derived from the two.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Formatter, Result, Schema, SchemaIssue, SchemaTransformation } from "effect"
import { parseByteSize } from "./ByteSizeText.ts"
import { parseIpRange } from "./IpRange.ts"
import type { OptionTextKind } from "./OptionText.ts"

/**
 * How an option's value is written and explained, whatever checks it.
 *
 * @since 0.1.0
 * @category models
 */
export interface OptionForm {
  /** What a value must be: the message is `must be ${expected}, got ...`. */
  readonly expected: string
  /** How the value is written as text; `undefined` when only code can give it. */
  readonly text: OptionTextKind | undefined
  /** The value's name in `--help` (`N`, `BYTES`); `undefined` for a switch. */
  readonly metavar: string | undefined
  /** Key material: a message says what it must be, never what it got. */
  readonly secret: boolean
}

/**
 * An {@link OptionForm} with the Schema that decodes and checks the value.
 *
 * @since 0.1.0
 * @category models
 */
export interface OptionValue<S extends Schema.Top> extends OptionForm {
  readonly schema: S
}

/**
 * Shows a value in a message (a `Duration` as `5s`, a string quoted).
 *
 * @since 0.1.0
 * @category messages
 */
export const show = (value: unknown): string => Duration.isDuration(value) ? Duration.format(value) : Formatter.format(value)

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

const form = <S extends Schema.Top>(
  schema: S,
  expected: string,
  text: OptionTextKind | undefined,
  metavar: string | undefined
): OptionValue<S> => ({ schema, expected, text, metavar, secret: false })

/**
 * Non-empty text (a host name, a path), written as is.
 *
 * @since 0.1.0
 * @category values
 */
export const Text = (expected: string, metavar: string) =>
  form(
    validated(Schema.String, Schema.String, (s) => check(s.length > 0, s, `must be ${expected}, got ""`), (s) => s),
    expected,
    "text",
    metavar
  )

/**
 * An integer from `minimum` to `maximum`, written in decimal.
 *
 * @since 0.1.0
 * @category values
 */
export const Integer = (minimum: number, maximum: number, expected: string) =>
  form(
    validated(
      Schema.Number,
      Schema.Number,
      (n) => check(Number.isInteger(n) && n >= minimum && n <= maximum, n, `must be ${expected}, got ${show(n)}`),
      (n) => n
    ),
    expected,
    "integer",
    "N"
  )

/**
 * A file mode (`0o600`), written in octal as `chmod` takes it (`600`).
 *
 * @since 0.1.0
 * @category values
 */
export const FileMode = { ...Integer(0, 0o777, "a file mode from 0 to 0o777 (e.g. 0o600)"), text: "mode", metavar: "OCTAL" } as const

/**
 * One of a few words (`"http"` or `"https"`).
 *
 * @since 0.1.0
 * @category values
 */
export const OneOf = <const L extends ReadonlyArray<string>>(words: L) =>
  form(
    Schema.Literals(words),
    `${words.slice(0, -1).map(show).join(", ")} or ${show(words.at(-1))}`,
    "text",
    words.join("|")
  )

/**
 * `true` or `false`; on the command line, present or absent.
 *
 * @since 0.1.0
 * @category values
 */
export const Switch = form(Schema.Boolean, "true or false", "switch", undefined)

const SIZE_EXPECTED = "a positive number of bytes (an integer, or a string like \"64 KiB\")"

/**
 * A positive number of bytes: an integer, or text such as `"64 KiB"`
 * (`ByteSizeText.ts`).
 *
 * @since 0.1.0
 * @category values
 */
export const Bytes = form(
  validated(
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
  ),
  SIZE_EXPECTED,
  "bytes",
  "BYTES"
)

const isDurationInput = (u: unknown): u is Duration.Input =>
  typeof u === "number" || typeof u === "bigint" || typeof u === "string" || (typeof u === "object" && u !== null)

const DURATION_EXPECTED = "a duration (milliseconds, a string like \"5 seconds\", or a Duration)"

/**
 * A finite, non-negative duration: an Effect `Duration.Input` in code (a
 * number is milliseconds), decimal seconds as text (`30`, `0.1`).
 *
 * @since 0.1.0
 * @category values
 */
export const Seconds = form(
  validated(
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
  ),
  DURATION_EXPECTED,
  "seconds",
  "SECONDS"
)

/**
 * IP addresses and CIDR ranges (`IpRange.ts`); as text, comma-separated.
 *
 * @since 0.1.0
 * @category values
 */
export const Addresses = form(
  validated(
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
  ),
  "a list of IP addresses or CIDR ranges",
  "list",
  "LIST"
)

/**
 * A value only code can give (an object of options, a ready context).
 *
 * @since 0.1.0
 * @category values
 */
export const CodeOnly = <S extends Schema.Top>(schema: S, expected: string): OptionValue<S> =>
  form(schema, expected, undefined, undefined)

/**
 * PEM text or a file path (a certificate, a key, CA certificates): written
 * as is, never echoed in a message (it may be key material).
 *
 * @since 0.1.0
 * @category values
 */
export const Pem: OptionForm = {
  expected: "PEM text or a file path (a string or bytes)",
  text: "text",
  metavar: "FILE",
  secret: true
}

/**
 * A form for text the schema checks as it is (a cipher list, a passphrase).
 *
 * @since 0.1.0
 * @category values
 */
export const Written = (expected: string, metavar: string, secret = false): OptionForm => ({
  expected,
  text: "text",
  metavar,
  secret
})
