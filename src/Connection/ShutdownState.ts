/**
 * The server's drain and shutdown as one connection sees them: serving;
 * draining (`drainDelay`: requests still served, keep-alive off); shutting
 * down, with the position in the connection's byte stream up to which its
 * requests are still served (those that came whole before the shutdown).
 * A connection that has received nothing yet when the shutdown begins waits
 * for its first request a little (a balancer's connection, accepted while
 * the server drained, its request on the way), as Go's `http.Server.Shutdown`
 * leaves a new connection its first request; one holding part of a head
 * (a slow client) is not waited for. Pure: the protocol machine asks and
 * moves it.
 *
 * @since 0.1.0
 */
import type { ConnectionInput } from "./ConnectionInput.ts"
import type { KeepAliveFacts } from "./ExchangeRules.ts"
import { DRAINING, SERVING, type Shutdown } from "./ProtocolModel.ts"

/**
 * How long a connection that has received nothing yet may take to bring its
 * first request at shutdown (Go gives 5 s; a balancer's request is on the
 * wire within milliseconds, and a silent client must not hold the exit).
 */
export const FIRST_REQUEST_GRACE_MILLIS = 1_000

/** The facts of a connection that serves on, its client still sending (the common case: no object per response). */
const SERVING_OPEN: KeepAliveFacts = { noKeepAlive: false, peerEnded: false, shuttingDown: false, nextCameBeforeShutdown: false }

/**
 * @since 0.1.0
 * @category models
 */
export class ShutdownState {
  state: Shutdown = SERVING
  private readonly input: ConnectionInput

  constructor(input: ConnectionInput) {
    this.input = input
  }

  get serving(): boolean {
    return this.state._tag === "Serving"
  }

  get shuttingDown(): boolean {
    return this.state._tag === "ShuttingDown"
  }

  /** The server drains: every response from now on ends its connection. */
  drain(): void {
    if (this.state._tag === "Serving") this.state = DRAINING
  }

  /**
   * The server shuts down. `firstPending`: the connection has served
   * nothing yet, and its first request is still awaited (then served).
   * Returns whether the connection should close now: nothing in flight and
   * no whole request from before the shutdown in its input.
   */
  begin(idle: boolean, firstPending: boolean): boolean {
    if (firstPending) {
      this.state = { _tag: "ShuttingDown", inputEnd: Number.POSITIVE_INFINITY }
      return false
    }
    this.state = { _tag: "ShuttingDown", inputEnd: this.input.received }
    return idle && !this.holdsRequestFromBefore()
  }

  /** A head was read: shutting down with the first request awaited, it is the last one served. */
  headRead(): void {
    const state = this.state
    if (state._tag === "ShuttingDown" && state.inputEnd === Number.POSITIVE_INFINITY) {
      this.state = { _tag: "ShuttingDown", inputEnd: this.input.received - this.input.size }
    }
  }

  /** Shutting down: whether the input holds a whole head that came before the shutdown. */
  holdsRequestFromBefore(): boolean {
    const state = this.state
    return state._tag === "ShuttingDown" && this.input.holdsHeadEndBy(state.inputEnd)
  }

  /** What keep-alive depends on besides the exchange (see `ExchangeRules.canKeepAlive`). */
  keepAliveFacts(noKeepAlive: boolean, peerEnded: boolean): KeepAliveFacts {
    const tag = this.state._tag
    if (tag === "Serving" && !noKeepAlive && !peerEnded) return SERVING_OPEN
    return {
      noKeepAlive: noKeepAlive || tag === "Draining",
      peerEnded,
      // Shutting down: this response is the last unless another request
      // came whole before the shutdown, past this one's body.
      shuttingDown: tag === "ShuttingDown",
      nextCameBeforeShutdown: this.holdsRequestFromBefore()
    }
  }
}
