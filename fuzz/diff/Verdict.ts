/**
 * What one HTTP/1.1 parser made of one connection's bytes, in a form every
 * peer (ours, llhttp through `node:http`, h11) can give and that compares
 * across them: the requests read whole, in order, and how the connection
 * ended after them.
 */

/**
 * One request read whole: method and target as sent, the body's bytes as
 * Latin-1 text, and whether the connection persists after it (RFC 9112
 * section 9.3).
 */
export interface SeenRequest {
  readonly method: string
  readonly target: string
  readonly body: string
  readonly keepAlive: boolean
}

export interface Verdict {
  readonly requests: ReadonlyArray<SeenRequest>
  /**
   * After the requests:
   * - `clean`: nothing left (or only what a parser may ignore);
   * - `incomplete`: a head or body begun and not finished when the bytes ran out;
   * - `rejected`: the parser refused what came next;
   * - `tunnel`: the last request was a CONNECT; what follows is not HTTP.
   */
  readonly end: "clean" | "incomplete" | "rejected" | "tunnel"
  /** Why it was rejected: our error's tag and reason, llhttp's error code and reason, h11's message. */
  readonly detail?: string | undefined
  /** The status the peer answers a rejection with, when it says. */
  readonly status?: number | undefined
}

/**
 * Cuts a verdict where the connection stops being read as HTTP requests, so
 * that what parsers read past that point (which no server acts on) is not
 * compared:
 * - after a request that does not persist the connection (`Connection:
 *   close`, HTTP/1.0 without keep-alive): nothing after it is served;
 * - after a CONNECT: a server that accepts one hands the connection over to
 *   a tunnel (we read on, `node:http` gives the socket away, h11 switches
 *   protocols).
 */
export const normalize = (verdict: Verdict): Verdict => {
  const at = verdict.requests.findIndex((r) => r.method === "CONNECT" || !r.keepAlive)
  if (at === -1) return verdict
  const requests = verdict.requests.slice(0, at + 1)
  return { requests, end: requests[at]!.method === "CONNECT" ? "tunnel" : "clean" }
}
