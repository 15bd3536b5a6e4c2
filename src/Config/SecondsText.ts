/**
 * The command line's SECONDS form: `30`, `0.1`, `.5`, `2.`.
 *
 * A non-negative decimal number of seconds, converted exactly (no binary
 * floating point on the way) to an Effect `Duration`.
 *
 * @since 0.1.0
 */
import { Duration, Result } from "effect"

const SHAPE = /^([+-]?)(\d*)(?:\.(\d*))?$/

/**
 * Parses a SECONDS text into a `Duration`.
 *
 * Fails with a one-line message (without the option name) when the text is
 * not a decimal number or is negative.
 *
 * @example
 * parseSeconds("0.1") // Result.succeed(Duration.millis(100))
 * parseSeconds("-1")  // Result.fail("must not be negative, got \"-1\"")
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseSeconds = (text: string): Result.Result<Duration.Duration, string> => {
  const match = SHAPE.exec(text.trim())
  const got = JSON.stringify(text)
  const [, sign = "", whole = "", fraction = ""] = match ?? []
  if (match === null || (whole === "" && fraction === "")) {
    return Result.fail(`must be a number of seconds, like 30 or 0.1, got ${got}`)
  }
  const digits = `${whole === "" ? "0" : whole}${fraction === "" ? "" : `.${fraction}`}`
  const duration = Duration.fromInputUnsafe(`${digits} seconds` as Duration.Input)
  if (sign === "-" && !Duration.isZero(duration)) {
    return Result.fail(`must not be negative, got ${got}`)
  }
  return Result.succeed(duration)
}
