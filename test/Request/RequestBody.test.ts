/**
 * `RequestBody` without a connection: the shared body of bodiless requests.
 * (Bodies read off real sockets are tested in test/Server/RequestBody.test.ts.)
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { freeBytes } from "../../src/Request/LentBodyPool.ts"
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

describe("a body read lent", () => {
  const host = { onReadStart: () => {}, onDemand: () => {}, onBodyComplete: () => {} }
  const bytes = Buffer.alloc(10_000, 0x6c)

  /** A 10,000-byte body, fed from a transient read buffer, read with `lent`. */
  const readLent = Effect.gen(function*() {
    const body = new RequestBody({ _tag: "ContentLength", length: bytes.length }, limits(1_000_000), host)
    const reading = yield* Effect.forkChild(body.lent)
    yield* Effect.yieldNow
    body.feed(bytes, 0, bytes.length, true)
    return { body, lent: yield* Fiber.join(reading) }
  })

  it.effect("sits in pooled memory; taken back, every view of it reads as empty and the body cannot be read again", () =>
    Effect.gen(function*() {
      const { body, lent } = yield* readLent
      expect(Buffer.from(lent).equals(bytes)).toBe(true)
      expect(body.lentMemory).toBe(lent.buffer)
      const before = freeBytes()
      body.takeBackLent(false)
      expect(lent.byteLength).toBe(0)
      expect(body.lentMemory).toBeUndefined()
      expect(freeBytes()).toBeGreaterThan(before)
      const error = yield* Effect.flip(body.all)
      expect(error._tag).toBe("ConnectionClosed")
    }))

  it.effect("memory a write still reads is not taken back: its views stay whole", () =>
    Effect.gen(function*() {
      const { body, lent } = yield* readLent
      const before = freeBytes()
      body.takeBackLent(true)
      expect(Buffer.from(lent).equals(bytes)).toBe(true)
      expect(freeBytes()).toBe(before)
    }))

  it.effect("read whole after it was read lent, the body is a copy the caller owns", () =>
    Effect.gen(function*() {
      const { body, lent } = yield* readLent
      const owned = yield* body.all
      expect(owned.buffer).not.toBe(lent.buffer)
      expect(Buffer.from(owned).equals(bytes)).toBe(true)
      body.takeBackLent(false)
      expect(Buffer.from(owned).equals(bytes)).toBe(true)
      expect(Buffer.from(yield* body.all).equals(bytes)).toBe(true)
    }))
})
