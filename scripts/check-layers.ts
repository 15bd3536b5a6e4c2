/**
 * The layer rule of `src/`, checked (run by `npm test` through
 * `test/Layers.test.ts`, or alone: `node scripts/check-layers.ts`).
 *
 * Layers, lowest first; a module may import its own layer's modules and
 * those of lower layers, never a higher one's, and no import cycle may form
 * (type-only imports count: a cycle of types is still a knot for the
 * reader):
 *
 *   Config, Response < Wire, Listen < Request < Compression, Connection, Observation, WebSocket
 *     < Http2 < Accept < Server < EffectHttp, cli < index
 *
 * Modules of one rank stand side by side and know nothing of each other:
 * `Config` and `Response` at the bottom; `Wire` (the bytes of HTTP) and
 * `Listen` (listening sockets and worker processes, no HTTP at all); the
 * four on the request model (`Compression` a handler middleware,
 * `Connection` the HTTP/1.1 connection, `Observation` spans, metrics and
 * the access log, `WebSocket` a connection taken from HTTP); the
 * `effect/http` adapter (`EffectHttp`) and the command (`cli`), both over
 * `Server`. `Accept` (an accepted socket's stages up to its protocol) is
 * above both protocols, since it picks one.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"

/** The rank of each top folder of `src/` (and of `src/index.ts`). */
export const layers: Readonly<Record<string, number>> = {
  Config: 0,
  Response: 0,
  Wire: 1,
  Listen: 1,
  Request: 2,
  Compression: 3,
  Connection: 3,
  Observation: 3,
  WebSocket: 3,
  Http2: 4,
  Accept: 5,
  Server: 6,
  EffectHttp: 7,
  cli: 7,
  index: 8
}

export interface Violation {
  readonly kind: "upward" | "sideways" | "cycle" | "unknown-layer" | "missing"
  readonly message: string
}

/** The import specifiers of a module (exported for the test): `import ... from`, `export ... from`, `import(...)`. */
export const importsOf = (source: string): Array<string> => {
  const found: Array<string> = []
  // Between the keyword and `from` only names, braces, commas, `*`,
  // whitespace and block comments (a re-exported name's doc): a statement
  // such as `export const x = ...` cannot match.
  const pattern = /(?:^|\n)\s*(?:import|export)\s(?:[\w$*\s{},]|\/\*[\s\S]*?\*\/)*?\bfrom\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g
  for (const match of source.matchAll(pattern)) found.push((match[1] ?? match[2] ?? match[3]) as string)
  return found
}

const listModules = (dir: string): Array<string> =>
  Fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = Path.join(dir, entry.name)
    if (entry.isDirectory()) return listModules(path)
    return entry.name.endsWith(".ts") ? [path] : []
  })

/** `Wire` for `src/Wire/HeadParser.ts`, `index` for `src/index.ts`. */
const layerOf = (srcDir: string, file: string): string => {
  const relative = Path.relative(srcDir, file).split(Path.sep)
  return relative.length === 1 ? Path.basename(relative[0] as string, ".ts") : (relative[0] as string)
}

/** Every breach of the layer rule in the modules under `srcDir`. */
export const checkLayers = (srcDir: string): Array<Violation> => {
  const violations: Array<Violation> = []
  const modules = listModules(srcDir).sort()
  const graph = new Map<string, Array<string>>()
  const name = (file: string) => Path.relative(srcDir, file)
  for (const file of modules) {
    const from = layerOf(srcDir, file)
    const rank = layers[from]
    if (rank === undefined) {
      violations.push({ kind: "unknown-layer", message: `${name(file)}: ${from} is not a layer (${Object.keys(layers).join(", ")})` })
      continue
    }
    const edges: Array<string> = []
    for (const specifier of importsOf(Fs.readFileSync(file, "utf8"))) {
      if (!specifier.startsWith(".")) continue
      const target = Path.resolve(Path.dirname(file), specifier)
      if (!Fs.existsSync(target)) {
        violations.push({ kind: "missing", message: `${name(file)} imports ${specifier}, which does not exist` })
        continue
      }
      edges.push(target)
      const to = layerOf(srcDir, target)
      const toRank = layers[to]
      if (toRank === undefined || to === from) continue
      if (toRank > rank) {
        violations.push({ kind: "upward", message: `${name(file)} (${from}) imports ${name(target)} (${to}), a higher layer` })
      } else if (toRank === rank) {
        violations.push({ kind: "sideways", message: `${name(file)} (${from}) imports ${name(target)} (${to}), a layer beside it` })
      }
    }
    graph.set(file, edges)
  }
  for (const cycle of findCycles(graph)) {
    violations.push({ kind: "cycle", message: `import cycle: ${cycle.map(name).join(" -> ")}` })
  }
  return violations
}

/** One cycle per strongly connected knot found by a depth-first search (each reported once). */
const findCycles = (graph: ReadonlyMap<string, ReadonlyArray<string>>): Array<Array<string>> => {
  const cycles: Array<Array<string>> = []
  const state = new Map<string, "open" | "done">()
  const stack: Array<string> = []
  const visit = (node: string): void => {
    state.set(node, "open")
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      const seen = state.get(next)
      if (seen === "open") cycles.push([...stack.slice(stack.indexOf(next)), next])
      else if (seen === undefined) visit(next)
    }
    stack.pop()
    state.set(node, "done")
  }
  for (const node of graph.keys()) if (!state.has(node)) visit(node)
  return cycles
}

if (import.meta.main) {
  const srcDir = Path.resolve(import.meta.dirname, "..", "src")
  const violations = checkLayers(srcDir)
  for (const violation of violations) console.error(`${violation.kind}: ${violation.message}`)
  if (violations.length > 0) process.exit(1)
  console.log(`layers: ${listModules(srcDir).length} modules, imports point down, no cycles`)
}
