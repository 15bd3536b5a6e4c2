/**
 * Module hooks of the fuzz worker, installed before the parser is imported:
 * `import { Data } from "effect"` in `src/Wire/*` resolves to
 * `effect-data.ts` (see there why).
 */
import * as Module from "node:module"

const shim = new URL("./effect-data.ts", import.meta.url).href

Module.registerHooks({
  resolve: (specifier, context, nextResolve) => {
    if (specifier === "effect" && context.parentURL?.includes("/src/Wire/") === true) {
      return { url: shim, shortCircuit: true }
    }
    return nextResolve(specifier, context)
  }
})
