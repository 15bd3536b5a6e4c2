/**
 * Our parser as a peer of the differential run: the fuzz driver
 * (`fuzz/driver.ts`), which reads a connection's bytes through the same pure
 * components as `HttpConnection` (`HeadReader`, `BodyFramer`), the bytes
 * arriving whole and then ending (as a client's FIN after its last byte).
 */
import { defaultOptions, drive, type DriveOptions } from "../driver.ts"
import type { Verdict } from "./Verdict.ts"

export const runOurs = (input: Buffer, options: DriveOptions = defaultOptions): Verdict => {
  const outcome = drive([input], options)
  const requests = outcome.requests.map(({ body, head }) => ({
    method: head.method,
    target: head.target,
    body,
    keepAlive: head.keepAlive
  }))
  if (outcome.error !== undefined) {
    return { requests, end: "rejected", detail: outcome.error, status: outcome.status }
  }
  return { requests, end: outcome.waiting === "nothing" ? "clean" : "incomplete" }
}
