/**
 * An option's value written as text, on the command line or in an
 * environment variable, turned into the value `ServerConfig` decodes.
 *
 * The text is only reshaped here (a number from digits, a list from commas,
 * seconds to a `Duration`); whether the value is acceptable is the schema's
 * to say, so the command line, the environment and the library share one set
 * of rules and messages.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import { parseSeconds } from "./SecondsText.ts"

/**
 * How an option is written as text:
 * - `text`, `bytes`: as is (the schema parses `64KiB`);
 * - `integer`: digits become a number (anything else goes to the schema as
 *   text, which refuses it with the option's own message);
 * - `switch`: `true` or `false`;
 * - `seconds`: a decimal number of seconds (`30`, `0.1`);
 * - `list`: comma-separated, blanks dropped;
 * - `mode`: a file mode in octal, as `chmod` takes it (`600`, `0660`, `0o660`).
 *
 * @since 0.1.0
 * @category models
 */
export type OptionTextKind = "text" | "bytes" | "integer" | "switch" | "seconds" | "list" | "mode"

const NUMBER = /^[+-]?\d+(?:\.\d+)?$/

/** A file mode in octal: `600`, `0660`, `0o660`. */
const OCTAL_MODE = /^(?:0o?)?([0-7]{1,3})$/

/**
 * Turns one option's text into its `ServerConfigInput` value, or a one-line
 * message (without the option's name) saying what is wrong.
 *
 * @example
 * parseOptionText("seconds", "0.5")   // Result.succeed(Duration.millis(500))
 * parseOptionText("switch", "yes")    // Result.fail("must be true or false, got \"yes\"")
 * parseOptionText("list", "10.0.0.1, ::1") // Result.succeed(["10.0.0.1", "::1"])
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseOptionText = (kind: OptionTextKind, text: string): Result.Result<unknown, string> => {
  switch (kind) {
    case "switch": {
      const normalized = text.trim().toLowerCase()
      if (normalized === "true") return Result.succeed(true)
      if (normalized === "false") return Result.succeed(false)
      return Result.fail(`must be true or false, got ${JSON.stringify(text)}`)
    }
    case "integer":
      return Result.succeed(NUMBER.test(text.trim()) ? Number(text) : text)
    case "seconds":
      return parseSeconds(text)
    case "list":
      return Result.succeed(text.split(",").map((entry) => entry.trim()).filter((entry) => entry !== ""))
    case "mode": {
      const digits = OCTAL_MODE.exec(text.trim())?.[1]
      return digits === undefined
        ? Result.fail(`must be an octal file mode from 0 to 777 (e.g. 600 or 0660), got ${JSON.stringify(text)}`)
        : Result.succeed(parseInt(digits, 8))
    }
    case "text":
    case "bytes":
      return Result.succeed(text)
  }
}
