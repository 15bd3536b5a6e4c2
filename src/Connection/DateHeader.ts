/**
 * The `Date` field value (RFC 9110 section 6.6.1), formatted at most once a
 * second: every response carries it, and formatting a date is far dearer than
 * comparing two numbers.
 *
 * @since 0.1.0
 */

let cachedSecond = -1
let cachedValue = ""

/**
 * The current time as an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
 *
 * @since 0.1.0
 */
export const currentDate = (): string => {
  const now = Date.now()
  const second = Math.floor(now / 1000)
  if (second !== cachedSecond) {
    cachedSecond = second
    cachedValue = new Date(second * 1000).toUTCString()
  }
  return cachedValue
}
