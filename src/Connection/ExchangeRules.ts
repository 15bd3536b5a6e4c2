/**
 * Decisions of the protocol machine that depend only on its state and a few
 * facts, kept apart from its transitions: whether the connection can be
 * kept alive after an exchange, whether (and with what head) an exchange
 * may leave HTTP, and whether input is wanted.
 *
 * @since 0.1.0
 */
import { DetachError } from "../Request/Detach.ts"
import type { Response } from "../Response/Response.ts"
import { serializeSwitchHead } from "../Wire/ResponseSerializer.ts"
import type { Exchange, Phase } from "./ProtocolModel.ts"

/** Input held for a request in flight before reading stops. */
const INPUT_HIGH_WATER = 64 * 1024

/**
 * Whether the connection wants input: not while the input holds more than
 * the request in flight can use, nor while responses wait for the peer and
 * no handler reads a body (a pipelining client that never reads must not
 * make us hold every response it asked for), so that memory per connection
 * stays bounded by the limits.
 *
 * @since 0.1.0
 */
export const inputWanted = (
  phase: Extract<Phase, { readonly _tag: "AwaitingHead" | "InFlight" }>,
  outputBlocked: boolean,
  inputSize: number
): boolean => {
  if (phase._tag === "AwaitingHead") return !outputBlocked
  const exchange = phase
  const handlerReads = exchange.writing._tag !== "Written"
  if (outputBlocked && !handlerReads) return false
  return exchange.body.wantsInput || inputSize <= INPUT_HIGH_WATER
}

/**
 * The facts of the connection that keep-alive depends on.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeepAliveFacts {
  readonly noKeepAlive: boolean
  /** The client sent its FIN. */
  readonly peerEnded: boolean
  readonly shuttingDown: boolean
  /** Shutting down: another request came whole before the shutdown, past this one's body. */
  readonly nextCameBeforeShutdown: boolean
}

/**
 * Whether the connection can serve another request after this exchange: the
 * client wants it, the server allows it, and the rest of this request's
 * body can be read past (RFC 9112 section 9.3).
 *
 * @since 0.1.0
 */
export const canKeepAlive = (exchange: Exchange, facts: KeepAliveFacts): boolean => {
  const head = exchange.head
  if (facts.noKeepAlive || !head.keepAlive || facts.peerEnded) return false
  // A request to switch protocols that the handler answered in HTTP: the
  // client may already be sending in the new protocol, so the connection
  // ends with this response (as Node's server does).
  if (head.upgrade !== undefined || head.method === "CONNECT") return false
  const body = exchange.body
  if (body.state._tag === "Failed") return false
  if (facts.shuttingDown) return body.framingComplete && facts.nextCameBeforeShutdown
  if (body.framingComplete) return true
  // The client waits for 100 Continue before sending: it never came.
  if (head.expectContinue && exchange.writing._tag !== "ContinueSent") return false
  // A declared length past the limit is not worth draining.
  const framing = head.framing
  return framing._tag !== "ContentLength" || framing.length <= body.limits.maxBodySize
}

/**
 * Whether the exchange may leave HTTP now, and the head of its switching
 * response (`undefined` when it sends none): nothing of a response written
 * yet, the body read to its end, and a response that switches protocols
 * (101 to an `Upgrade` request, a 2xx to a `CONNECT`: RFC 9110 sections
 * 15.2.2 and 9.3.6).
 *
 * @since 0.1.0
 */
export const switchHead = (exchange: Exchange, response: Response | undefined): Buffer | undefined | DetachError => {
  if (exchange.writing._tag !== "Awaiting" && exchange.writing._tag !== "ContinueSent") {
    return new DetachError({ reason: "ResponseStarted", description: "a response is already being written" })
  }
  if (!exchange.body.framingComplete || exchange.body.state._tag === "Failed") {
    return new DetachError({ reason: "BodyUnread", description: "the request body has not been read to its end" })
  }
  if (response === undefined) return undefined
  const status = response.status
  const fits = status === 101
    ? exchange.head.upgrade !== undefined
    : status >= 200 && status < 300 && exchange.head.method === "CONNECT"
  if (!fits) {
    return new DetachError({
      reason: "InvalidResponse",
      description: `a ${status} response does not switch a ${exchange.head.method} request to another protocol`
    })
  }
  try {
    return serializeSwitchHead(response)
  } catch (cause) {
    return new DetachError({ reason: "InvalidResponse", description: "the response head cannot be sent", cause })
  }
}
