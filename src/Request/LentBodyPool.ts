/**
 * Memory for request bodies that are lent, not given: read whole into a
 * buffer the server takes back when the request is over.
 *
 * Why: a body of more than a few KiB read into a fresh buffer is a new
 * `ArrayBuffer` per request, and from Node 22 on V8 answers a steady stream
 * of them (external memory) with full mark-compact collections, not cheap
 * young ones: on the benchmark machine, 100,000 fresh 64 KiB buffers cost 54
 * full collections under Node 24 and 3 under Node 20. A full collection's
 * price grows with the live heap (an Effect application's is tens of MiB), so
 * 64 KiB uploads spent most of their CPU in the collector. Memory that goes
 * back to a pool is allocated once.
 *
 * Why it is safe: what is lent is given back with
 * `ArrayBuffer.prototype.transfer`, which moves the memory to a new
 * `ArrayBuffer` (no copy) and detaches the old one, so every view a handler
 * kept by mistake reads as empty, never as a later request's bytes.
 *
 * Bodies up to 4 KiB are not pooled (Node's own small-buffer pool serves
 * them), nor bodies over 1 MiB (rare, and the pool would hold too much).
 * Each size class (powers of two) keeps at most 1 MiB of free memory, so the
 * pool holds 8 MiB at most, and only after that many were lent at once.
 *
 * @since 0.1.0
 */

/** The smallest size class, as a power of two: 8 KiB. */
const SMALLEST_CLASS_BITS = 13
/** The largest size class, as a power of two: 1 MiB. */
const LARGEST_CLASS_BITS = 20
/** Free memory kept per size class. */
const FREE_BYTES_PER_CLASS = 1024 * 1024

/**
 * The bodies the pool lends memory for: longer than Node's small-buffer pool
 * serves (4 KiB), at most the largest size class.
 *
 * @since 0.1.0
 */
export const isLendable = (length: number): boolean => length > 4096 && length <= 1 << LARGEST_CLASS_BITS

/** Free memory by size class (index 0: the smallest). */
const free: Array<Array<ArrayBuffer>> = Array.from(
  { length: LARGEST_CLASS_BITS - SMALLEST_CLASS_BITS + 1 },
  () => []
)

const classOf = (size: number): number =>
  Math.max(0, 32 - Math.clz32(size - 1) - SMALLEST_CLASS_BITS)

/** The bytes of a size class's memory. */
const classBytes = (sizeClass: number): number => 1 << (sizeClass + SMALLEST_CLASS_BITS)

/** How many free buffers a size class keeps: 1 MiB of them, and at least one. */
const keptOf = (sizeClass: number): number => Math.max(1, FREE_BYTES_PER_CLASS / classBytes(sizeClass))

/**
 * A buffer of `length` bytes (contents undefined) on pooled memory; the
 * length must be {@link isLendable}.
 *
 * @since 0.1.0
 */
export const lend = (length: number): Buffer => {
  const sizeClass = classOf(length)
  const memory = free[sizeClass]?.pop() ?? new ArrayBuffer(classBytes(sizeClass))
  return Buffer.from(memory, 0, length)
}

/**
 * Takes back what {@link lend} gave: its memory is detached from every view
 * of it and kept for the next body (while its class has room).
 *
 * @since 0.1.0
 */
export const takeBack = (lent: Uint8Array): void => {
  const memory = lent.buffer as ArrayBuffer
  if (memory.detached) return
  const moved = memory.transfer()
  const sizeClass = classOf(moved.byteLength)
  const list = free[sizeClass]
  // Only memory of a class's own size goes back (what `lend` made).
  if (list !== undefined && moved.byteLength === classBytes(sizeClass) && list.length < keptOf(sizeClass)) list.push(moved)
}

/**
 * The free memory the pool holds, in bytes (what its tests read).
 *
 * @since 0.1.0
 */
export const freeBytes = (): number => {
  let total = 0
  for (const list of free) for (const memory of list) total += memory.byteLength
  return total
}
