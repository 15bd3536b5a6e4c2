/**
 * The command line's BYTES form: `65536`, `64KiB`, `1 MiB`, `10MB`.
 *
 * A plain integer is a number of bytes. A suffix multiplies it: `KiB`, `MiB`,
 * `GiB` by powers of 1024, `KB`, `MB`, `GB` by powers of 1000 (`B` by one).
 * Suffixes are matched case-insensitively and may follow one space. With a
 * suffix the number may have decimals, as long as the result is a whole
 * number of bytes (`1.5KiB` is 1536, `0.5` is refused).
 *
 * @since 0.1.0
 */
import { Result } from "effect"

const UNITS: ReadonlyMap<string, bigint> = new Map([
  ["b", 1n],
  ["kib", 1024n],
  ["mib", 1024n ** 2n],
  ["gib", 1024n ** 3n],
  ["kb", 1000n],
  ["mb", 1000n ** 2n],
  ["gb", 1000n ** 3n]
])

const SHAPE = /^([+-]?)(\d+)(?:\.(\d+))?(?: ?([A-Za-z]+))?$/

const MAX = BigInt(Number.MAX_SAFE_INTEGER)

/**
 * Parses a BYTES text into a number of bytes.
 *
 * Fails with a one-line message (without the option name) saying what is
 * wrong: not a number, negative, a fraction of a byte, an unknown suffix, or
 * more than `Number.MAX_SAFE_INTEGER` bytes.
 *
 * @example
 * parseByteSize("64KiB") // Result.succeed(65536)
 * parseByteSize("-1")    // Result.fail("must not be negative, got \"-1\"")
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseByteSize = (text: string): Result.Result<number, string> => {
  const match = SHAPE.exec(text.trim())
  const got = JSON.stringify(text)
  if (match === null) {
    return Result.fail(`must be a number of bytes, optionally with a unit (KiB, MiB, GiB, KB, MB, GB), got ${got}`)
  }
  const [, sign = "", whole = "", fraction = "", unitText] = match
  const factor = unitText === undefined ? 1n : UNITS.get(unitText.toLowerCase())
  if (factor === undefined) {
    return Result.fail(`unknown unit ${JSON.stringify(unitText)}: use KiB, MiB, GiB, KB, MB or GB, got ${got}`)
  }
  const scale = 10n ** BigInt(fraction.length)
  const scaled = BigInt(whole + fraction) * factor
  if (sign === "-" && scaled !== 0n) {
    return Result.fail(`must not be negative, got ${got}`)
  }
  if (scaled % scale !== 0n) {
    return Result.fail(`must be a whole number of bytes, got ${got}`)
  }
  const bytes = scaled / scale
  if (bytes > MAX) {
    return Result.fail(`must be at most ${Number.MAX_SAFE_INTEGER} bytes, got ${got}`)
  }
  return Result.succeed(Number(bytes))
}
