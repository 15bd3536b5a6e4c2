/**
 * The pool of memory for lent request bodies: what it lends, that taking
 * back detaches every view, that memory is reused, and that it keeps no
 * more than its cap.
 */
import { describe, expect, it } from "@effect/vitest"
import { freeBytes, isLendable, lend, takeBack } from "../../src/Request/LentBodyPool.ts"

describe("LentBodyPool", () => {
  it("lends bodies over 4 KiB and up to 1 MiB; smaller and larger ones are not lendable", () => {
    expect(isLendable(4096)).toBe(false)
    expect(isLendable(4097)).toBe(true)
    expect(isLendable(64 * 1024)).toBe(true)
    expect(isLendable(1024 * 1024)).toBe(true)
    expect(isLendable(1024 * 1024 + 1)).toBe(false)
  })

  it("a lent buffer has the length asked for, on memory of its power-of-two class", () => {
    for (const [length, classSize] of [[4097, 8192], [8192, 8192], [65_536, 65_536], [65_537, 131_072]] as const) {
      const lent = lend(length)
      expect(lent.byteLength).toBe(length)
      expect(lent.buffer.byteLength).toBe(classSize)
      takeBack(lent)
    }
  })

  it("taking back detaches every view of the memory, so a kept view reads as empty", () => {
    const lent = lend(10_000)
    lent.fill(0x61)
    const kept = lent.subarray(100, 200)
    takeBack(lent)
    expect(lent.byteLength).toBe(0)
    expect(kept.byteLength).toBe(0)
    expect(kept[0]).toBeUndefined()
    // Taking back twice is harmless.
    takeBack(lent)
  })

  it("memory taken back is lent again: the next body of its class gets it", () => {
    const first = lend(20_000)
    first.fill(0x7a)
    takeBack(first)
    const second = lend(30_000) // the same 32 KiB class
    // Its contents are undefined; here they are the first body's bytes, which shows the memory is the same.
    expect(second[0]).toBe(0x7a)
    expect(second[19_999]).toBe(0x7a)
    takeBack(second)
  })

  it("keeps at most 1 MiB of free memory per class", () => {
    const before = freeBytes()
    const many = Array.from({ length: 40 }, () => lend(256 * 1024))
    for (const lent of many) takeBack(lent)
    expect(freeBytes() - before).toBeLessThanOrEqual(1024 * 1024)
    expect(freeBytes() - before).toBeGreaterThan(0)
    const largest = Array.from({ length: 3 }, () => lend(1024 * 1024))
    const afterLarge = freeBytes()
    for (const lent of largest) takeBack(lent)
    // One 1 MiB buffer at most is kept in the largest class.
    expect(freeBytes() - afterLarge).toBeLessThanOrEqual(1024 * 1024)
  })
})
