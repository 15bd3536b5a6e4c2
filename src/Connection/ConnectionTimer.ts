/**
 * The one timer slot of a connection, switched between the header, body and
 * idle timeouts.
 *
 * Arming only writes a deadline: the underlying Node timer is created when
 * none is pending or when the new deadline is earlier than the pending one,
 * and a timer that fires early re-schedules itself for what is left. A
 * keep-alive connection that goes idle -> head -> handler -> idle for every
 * request so costs two number writes per switch, not a timer each.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export type TimeoutKind = "header" | "body" | "idle" | "write"

/**
 * @since 0.1.0
 * @category models
 */
export class ConnectionTimer {
  private kind: TimeoutKind | undefined = undefined
  private deadline = 0
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  private firesAt = 0
  private readonly onTimeout: (kind: TimeoutKind) => void

  constructor(onTimeout: (kind: TimeoutKind) => void) {
    this.onTimeout = onTimeout
  }

  /** Which timeout is armed, if any. */
  get armed(): TimeoutKind | undefined {
    return this.kind
  }

  /**
   * Arms `kind` to fire `millis` from `now` (`performance.now()` when not
   * given: a caller that has just read the clock passes its reading).
   */
  arm(kind: TimeoutKind, millis: number, now: number = performance.now()): void {
    this.kind = kind
    this.deadline = now + millis
    if (this.timer === undefined || this.firesAt > this.deadline + 1) this.schedule(now, millis)
  }

  /** Disarms; a pending Node timer finds nothing to do when it fires. */
  disarm(): void {
    this.kind = undefined
  }

  /** Releases the Node timer (the connection is gone). */
  dispose(): void {
    this.kind = undefined
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  private schedule(now: number, millis: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    // setTimeout takes at most 2^31-1 ms; a longer timeout re-schedules.
    const delay = Math.min(Math.max(millis, 0), 2 ** 31 - 1)
    this.firesAt = now + delay
    this.timer = setTimeout(this.fire, delay)
    this.timer.unref()
  }

  private readonly fire = (): void => {
    this.timer = undefined
    const kind = this.kind
    if (kind === undefined) return
    const now = performance.now()
    const left = this.deadline - now
    if (left > 0) {
      this.schedule(now, left)
      return
    }
    this.kind = undefined
    this.onTimeout(kind)
  }
}
