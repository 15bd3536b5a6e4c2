/**
 * `RequestBody` without a connection: the shared body of bodiless requests.
 * (Bodies read off real sockets are tested in test/Server/RequestBody.test.ts.)
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type BodyLimits, RequestBody } from "../../src/Request/RequestBody.ts"

const limits = (maxBodySize: number): BodyLimits => ({
  maxBodySize,
  bodyTimeoutMillis: undefined,
  maxBufferSize: maxBodySize,
  chunkSize: 65_536
})

describe("RequestBody.bodiless", () => {
  it("is one shared object per limits object, complete from the start", () => {
    const a = limits(10)
    const b = limits(20)
    expect(RequestBody.bodiless(a)).toBe(RequestBody.bodiless(a))
    expect(RequestBody.bodiless(b)).not.toBe(RequestBody.bodiless(a))
    // Back to the first after the second: still the same object.
    expect(RequestBody.bodiless(a)).toBe(RequestBody.bodiless(a))
    const body = RequestBody.bodiless(a)
    expect(body.shared).toBe(true)
    expect(body.state._tag).toBe("Complete")
    expect(body.limits).toBe(a)
  })

  it.effect("reads as empty, whole, lent or streamed, and stays as it was", () =>
    Effect.gen(function*() {
      const body = RequestBody.bodiless(limits(30))
      expect((yield* body.all).byteLength).toBe(0)
      expect((yield* body.lent).byteLength).toBe(0)
      expect(yield* body.next).toBeUndefined()
      body.startDraining()
      body.closed("gone")
      body.takeBackLent(false)
      expect(body.state._tag).toBe("Complete")
      expect(body.received).toBe(0)
      expect(body.framingComplete).toBe(true)
    }))

  it("refuses to change its limits (a request takes a body of its own first)", () => {
    expect(() => RequestBody.bodiless(limits(40)).changeLimits({ maxBodySize: 1 })).toThrow(/shared/)
  })
})
