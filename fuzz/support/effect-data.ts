/**
 * What the parser modules take from `effect` (the `Data` module, for the
 * tagged error classes), without loading the whole library: in the fuzz
 * worker, `hooks.ts` resolves `effect` to this file for `src/Wire/*`.
 * The classes are the same; only the coverage snapshot, whose cost grows
 * with every function in the heap, gets about four times cheaper.
 */
export * as Data from "effect/Data"
