/**
 * The `Date` field value (RFC 9110 section 6.6.1), formatted once a second
 * by a timer rather than per response: every response carries it, and even
 * reading the clock per response shows in a profile of pipelined requests.
 * The timer is unref'd and stops when nobody asked for the date for a while.
 *
 * @since 0.1.0
 */

let cachedValue: string | undefined = undefined
let cachedLine: Buffer | undefined = undefined
let ticker: ReturnType<typeof setInterval> | undefined = undefined
let askedSinceTick = false

const format = (): string => new Date().toUTCString()

const tick = (): void => {
  if (!askedSinceTick) {
    // Idle: stop ticking; the next response formats afresh.
    clearInterval(ticker)
    ticker = undefined
    cachedValue = undefined
    cachedLine = undefined
    return
  }
  askedSinceTick = false
  cachedValue = format()
  cachedLine = undefined
}

/**
 * The current time as an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
 *
 * @since 0.1.0
 */
export const currentDate = (): string => {
  askedSinceTick = true
  if (cachedValue === undefined) {
    cachedValue = format()
    // Re-format on the next second boundary, then every second.
    const untilNextSecond = 1000 - (Date.now() % 1000)
    ticker = setTimeout(() => {
      tick()
      if (cachedValue !== undefined) {
        ticker = setInterval(tick, 1000)
        ticker.unref()
      }
    }, untilNextSecond) as unknown as ReturnType<typeof setInterval>
    ticker.unref()
  }
  return cachedValue
}

/**
 * The whole `Date: ...\r\n` header line as bytes, made once a second.
 *
 * @since 0.1.0
 */
export const currentDateLine = (): Buffer => {
  const value = currentDate()
  cachedLine ??= Buffer.from("Date: " + value + "\r\n", "latin1")
  return cachedLine
}
