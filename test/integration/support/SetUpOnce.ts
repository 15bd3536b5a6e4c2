/**
 * What an integration file starts once for all its tests (balancers,
 * instances of the demo command): acquired before them in a Scope of its
 * own, released after them.
 */
import { afterAll, beforeAll } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"

/** Acquires `setUp` before the file's tests; the returned function gives its value (throwing if it failed). */
export const setUpOnce = <A>(setUp: Effect.Effect<A, never, Scope.Scope>): () => A => {
  let value: A | undefined
  const outer = Effect.runSync(Scope.make())
  beforeAll(async () => {
    value = await Effect.runPromise(setUp.pipe(Scope.provide(outer)))
  }, 60_000)
  afterAll(() => Effect.runPromise(Scope.close(outer, Exit.void)), 30_000)
  return () => {
    if (value === undefined) throw new Error("setup failed")
    return value
  }
}
