/**
 * The model of the HTTP/1.x protocol machine (`Http1Protocol`): its states as tagged unions that hold their data,
 * their transition tables, and the interfaces it meets the world through
 * (its options, the body it feeds, the actions it asks of its driver).
 *
 * @since 0.1.0
 */
import type { Cause, Stream } from "effect"
import type { Response } from "../Response/Response.ts"
import type { ParserLeniency, RequestHead } from "../Wire/HeadParser.ts"
import type { BodyError, HttpError } from "../Wire/HttpErrors.ts"
import type { StreamEncoder } from "../Wire/ResponseFraming.ts"
import type { BodySink } from "./ConnectionInput.ts"

/**
 * What the machine needs of its options (durations in milliseconds).
 *
 * @since 0.1.0
 * @category models
 */
export interface ProtocolOptions {
  readonly noKeepAlive: boolean
  readonly maxHeaderSize: number
  readonly maxRequestLineSize: number
  readonly headerTimeoutMillis: number
  readonly idleTimeoutMillis: number
  readonly writeTimeoutMillis: number
  readonly leniency: ParserLeniency
}

/**
 * What the machine needs of a request body (`RequestBody` on a server; the
 * fuzzer's checked framer in its driver).
 *
 * @since 0.1.0
 * @category models
 */
export interface ExchangeBody extends BodySink {
  /** Whether the body takes input now (its reader waits, it is read whole, or drained). */
  readonly wantsInput: boolean
  /** Whether the framing reached the body's end: what follows is the next request. */
  readonly framingComplete: boolean
  readonly state: { readonly _tag: string }
  readonly limits: { readonly maxBodySize: number; readonly bodyTimeoutMillis: number | undefined }
  /** The response is out: read the rest and throw it away. */
  startDraining(): void
  /** The connection is gone: whoever reads learns it. */
  closed(reason: string): void
  fail(error: BodyError): void
}

/**
 * The actions the machine asks of its driver.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProtocolIO {
  /** Puts bytes on the wire, in order. */
  readonly write: (data: Uint8Array) => void
  /** A deadline was set for `at`: wake the machine (`Http1Protocol.deadlineReached`) by then. */
  readonly wakeBy: (at: number) => void
  /** Whether the machine wants input now (the driver pauses or resumes reading). */
  readonly wantInput: (wanted: boolean) => void
  /** A request's head is in: make its request and body (the body feeds from this machine). */
  readonly openExchange: (head: RequestHead, now: number) => ExchangeBody
  /** Run the handler of the exchange just opened (at `now`); its answer comes back as `Http1Protocol.respond`. */
  readonly runHandler: (now: number) => void
  /** Run a response body stream, handing its pieces to `Http1Protocol.sendPiece`, then `endStream` or `abortStream`. */
  readonly runStream: (stream: Stream.Stream<Uint8Array, unknown>) => void
  /** Closes: after the output (half-close, linger), or at once. */
  readonly close: (how: "AfterOutput" | "AtOnce") => void
  /**
   * The connection is over (`clientGone`: the client left, not us): stop
   * the handler of an exchange in flight, if any, then tell the server.
   */
  readonly ended: (clientGone: boolean) => void
  /** The connection now belongs to the handler: what is buffered went out; the rest is the driver's. */
  readonly detached: () => void
  /** Observers: the exchange's response is all written (or, `undefined`, it has none). */
  readonly requestEnded: (response: Response | undefined, bodyBytes: number) => void
  /** Observers: an engine error was answered. */
  readonly engineError: (error: HttpError) => void
  /** Observers: a failure the client saw as a 5xx, or a response the handler got wrong. */
  readonly logFailure: (cause: Cause.Cause<unknown>) => void
}

/**
 * The response side of an exchange:
 * - `Awaiting`: the handler has not answered;
 * - `ContinueSent`: `100 Continue` went out (the handler read its body);
 * - `Streaming`: the head is out, the body's pieces go through the encoder;
 * - `Written`: the whole response is out.
 *
 * @since 0.1.0
 * @category models
 */
export type Writing =
  | { readonly _tag: "Awaiting" }
  | { readonly _tag: "ContinueSent" }
  | { readonly _tag: "Streaming"; readonly response: Response; readonly encoder: StreamEncoder }
  | { readonly _tag: "Written" }

/**
 * A request in flight, from its head to the end of its response and of its
 * body on the wire: the `InFlight` phase itself (one object per request).
 *
 * @since 0.1.0
 * @category models
 */
export interface Exchange {
  readonly _tag: "InFlight"
  readonly head: RequestHead
  readonly body: ExchangeBody
  writing: Writing
  /** The connection ends after this exchange (its response says `Connection: close`). */
  last: boolean
  /** Observers were told of its end. */
  reported: boolean
}

/**
 * The connection:
 * - `AwaitingHead`: nothing in flight; the next head may be arriving;
 * - `InFlight`: an exchange; once its response is written and its body
 *   unread, the rest of the body is drained;
 * - `Detached`: the handler took the connection away from HTTP;
 * - `Closed`.
 *
 * @since 0.1.0
 * @category models
 */
export type Phase =
  | { readonly _tag: "AwaitingHead" }
  | Exchange
  | { readonly _tag: "Detached"; readonly exchange: Exchange }
  | { readonly _tag: "Closed" }

/**
 * Where the server stands: serving; draining before it shuts down (keep-alive
 * disabled, requests still served); shutting down, with the position in the
 * connection's byte stream up to which requests are still served.
 *
 * @since 0.1.0
 * @category models
 */
export type Shutdown =
  | { readonly _tag: "Serving" }
  | { readonly _tag: "Draining" }
  | { readonly _tag: "ShuttingDown"; readonly inputEnd: number }

/** @since 0.1.0 */
export const SERVING: Shutdown = { _tag: "Serving" }
/** @since 0.1.0 */
export const DRAINING: Shutdown = { _tag: "Draining" }

/**
 * Every move of a {@link Phase}: from, event, to.
 *
 * @since 0.1.0
 */
export const PHASE_MOVES = {
  AwaitingHead: { headRead: "InFlight", close: "Closed" },
  InFlight: { exchangeDone: "AwaitingHead", detach: "Detached", close: "Closed" },
  Detached: { close: "Closed" },
  Closed: {}
} as const satisfies { readonly [From in Phase["_tag"]]: Readonly<Record<string, Phase["_tag"]>> }

/**
 * Every move of a {@link Writing}: from, event, to.
 *
 * @since 0.1.0
 */
export const WRITING_MOVES = {
  Awaiting: { continue: "ContinueSent", whole: "Written", streamHead: "Streaming" },
  ContinueSent: { whole: "Written", streamHead: "Streaming" },
  Streaming: { streamEnd: "Written" },
  Written: {}
} as const satisfies { readonly [From in Writing["_tag"]]: Readonly<Record<string, Writing["_tag"]>> }

/** @since 0.1.0 */
export type PhaseTag = Phase["_tag"]
/** @since 0.1.0 */
export type WritingTag = Writing["_tag"]
/** @since 0.1.0 */
export type PhaseMoves = typeof PHASE_MOVES
/** @since 0.1.0 */
export type WritingMoves = typeof WRITING_MOVES
/** @since 0.1.0 */
export type PhaseEvent = { [F in keyof typeof PHASE_MOVES]: keyof (typeof PHASE_MOVES)[F] }[keyof typeof PHASE_MOVES]
/** @since 0.1.0 */
export type WritingEvent = { [F in keyof typeof WRITING_MOVES]: keyof (typeof WRITING_MOVES)[F] }[keyof typeof WRITING_MOVES]

/**
 * A move of an exchange's response side, held to {@link WRITING_MOVES} by the
 * compiler: from a state (or one of several), by one of its events, to the
 * state the table names (at run time, only that the side is in `from`).
 *
 * @since 0.1.0
 */
export const moveWriting = <From extends WritingTag, Event extends keyof WritingMoves[From] & string>(
  exchange: Exchange,
  from: From | ReadonlyArray<From>,
  event: Event,
  next: Extract<Writing, { readonly _tag: WritingMoves[From][Event] }>
): void => {
  const tag = exchange.writing._tag as From
  if (typeof from === "string" ? tag !== from : !from.includes(tag)) {
    throw new Error(`no move ${exchange.writing._tag} --${event}-->`)
  }
  exchange.writing = next
}
