/**
 * Comparing our verdict on an input with a peer's, after both are cut where
 * the connection stops being read as requests ({@link normalize}).
 *
 * - `boundary`: the two read a message differently: the same request
 *   differs (method, target, body, persistence), or one read a request whole
 *   while the other still waits for bytes of it. This is the disagreement
 *   request smuggling is made of: it fails the run.
 * - `persistence`: the same requests, but one keeps the connection open
 *   after a request where the other closes it (RFC 9112 section 9.3).
 * - `ours-rejects`: we refused a request (or bytes) the peer accepted.
 * - `ours-accepts`: we accepted a request (or ignored bytes) the peer refused.
 *
 * Both refusing, or one refusing while the other waits for more bytes (no
 * one serves anything), is agreement; so are different statuses for one
 * refusal.
 */
import { normalize, type SeenRequest, type Verdict } from "./Verdict.ts"

export type DifferenceKind = "boundary" | "persistence" | "ours-rejects" | "ours-accepts"

export interface Difference {
  readonly kind: DifferenceKind
  /** The index of the first request the two disagree on. */
  readonly at: number
  /** Our reason (for `ours-rejects`), the peer's (for `ours-accepts`), what differs (for `boundary`). */
  readonly detail: string
}

const same = (a: SeenRequest, b: SeenRequest): boolean =>
  a.method === b.method && a.target === b.target && a.body === b.body

const describe = (r: SeenRequest | undefined): string =>
  r === undefined ? "nothing" : JSON.stringify(r).slice(0, 200)

export const compare = (oursRaw: Verdict, theirsRaw: Verdict): Difference | undefined => {
  const ours = normalize(oursRaw)
  const theirs = normalize(theirsRaw)
  const n = Math.min(ours.requests.length, theirs.requests.length)
  for (let i = 0; i < n; i++) {
    const a = ours.requests[i]!
    const b = theirs.requests[i]!
    if (!same(a, b)) return { kind: "boundary", at: i, detail: `ours ${describe(a)}, theirs ${describe(b)}` }
    if (a.keepAlive !== b.keepAlive) {
      return { kind: "persistence", at: i, detail: `ours ${a.keepAlive ? "keeps" : "closes"} the connection` }
    }
  }
  if (ours.requests.length > n) {
    // We read a request whole where the peer stopped.
    if (theirs.end === "rejected") return { kind: "ours-accepts", at: n, detail: theirs.detail ?? "rejected" }
    return { kind: "boundary", at: n, detail: `ours ${describe(ours.requests[n])}, theirs ${theirs.end}` }
  }
  if (theirs.requests.length > n) {
    if (ours.end === "rejected") return { kind: "ours-rejects", at: n, detail: ours.detail ?? "rejected" }
    return { kind: "boundary", at: n, detail: `ours ${ours.end}, theirs ${describe(theirs.requests[n])}` }
  }
  // The same requests; what came after them.
  if (ours.end === theirs.end) return undefined
  if (ours.end === "rejected" && theirs.end === "clean") return { kind: "ours-rejects", at: n, detail: ours.detail ?? "rejected" }
  if (ours.end === "clean" && theirs.end === "rejected") return { kind: "ours-accepts", at: n, detail: theirs.detail ?? "rejected" }
  if (ours.end === "clean" && theirs.end === "incomplete") return { kind: "ours-accepts", at: n, detail: "peer waits for more bytes" }
  if (ours.end === "incomplete" && theirs.end === "clean") return { kind: "ours-rejects", at: n, detail: "we wait for more bytes" }
  return undefined
}
