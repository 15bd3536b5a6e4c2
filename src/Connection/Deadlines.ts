/**
 * The deadlines of one connection, one slot per kind (in the manner of
 * hyper's `header_read_timeout` beside its keep-alive timer, and node:http's
 * `headersTimeout` / `requestTimeout` / `keepAliveTimeout`): setting or
 * clearing one kind never moves another, so timeouts that overlap (a body
 * being read while a response waits for the peer to read it) each keep
 * their own.
 *
 * Pure: times are numbers the caller passes in (milliseconds on
 * `performance.now()`'s clock), nothing is scheduled here. The socket driver
 * keeps one Node timer for the {@link Deadlines.earliest} and, when it
 * fires, asks for the kinds {@link Deadlines.due} then.
 *
 * @since 0.1.0
 */

/**
 * The kinds of deadline a connection keeps:
 * - `header`: a whole request head must arrive (for the first request, from
 *   the accept; for later ones, from their first byte);
 * - `body`: the request body must arrive (while the handler reads it, or
 *   while an unread one is drained);
 * - `idle`: a keep-alive connection with nothing in flight is closed;
 * - `write`: a response waiting for the peer to read it.
 *
 * @since 0.1.0
 * @category models
 */
export type DeadlineKind = "header" | "body" | "idle" | "write"

/**
 * Every kind, in the order {@link Deadlines.due} reports them when several
 * are due at once (the one that answers the client first).
 *
 * @since 0.1.0
 */
export const DEADLINE_KINDS: ReadonlyArray<DeadlineKind> = ["header", "body", "write", "idle"]

const NONE = Number.POSITIVE_INFINITY

/**
 * @since 0.1.0
 * @category models
 */
export class Deadlines {
  private header = NONE
  private body = NONE
  private idle = NONE
  private write = NONE

  /** Sets `kind` to `at`, leaving the other kinds as they are. */
  set(kind: DeadlineKind, at: number): void {
    // A switch, not `this[kind]`: each slot a field of its own (the hot path
    // sets and clears these once or twice per request).
    switch (kind) {
      case "header":
        this.header = at
        return
      case "body":
        this.body = at
        return
      case "idle":
        this.idle = at
        return
      case "write":
        this.write = at
        return
    }
  }

  /** Clears `kind`, leaving the other kinds as they are. */
  clear(kind: DeadlineKind): void {
    this.set(kind, NONE)
  }

  /** Clears every kind (the connection is over, or no longer HTTP). */
  clearAll(): void {
    this.header = this.body = this.idle = this.write = NONE
  }

  /** When `kind` falls due, or `undefined` when it is not set. */
  get(kind: DeadlineKind): number | undefined {
    const at = this[kind]
    return at === NONE ? undefined : at
  }

  /** The earliest deadline set, or `undefined` when none is. */
  get earliest(): number | undefined {
    const at = Math.min(this.header, this.body, this.idle, this.write)
    return at === NONE ? undefined : at
  }

  /** The first kind (in {@link DEADLINE_KINDS} order) due at `now`, cleared; `undefined` when none is due. */
  takeDue(now: number): DeadlineKind | undefined {
    for (const kind of DEADLINE_KINDS) {
      if (this[kind] <= now) {
        this[kind] = NONE
        return kind
      }
    }
    return undefined
  }
}
