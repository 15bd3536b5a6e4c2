/**
 * Servers run as plain JavaScript: Node's built-in TypeScript support loads a
 * WebAssembly type stripper into every process that runs a .ts file (about
 * 17 MiB of RSS on Node 24), which would inflate every server's memory
 * figures. So the runner strips the types of bench/servers/ and src/ itself
 * (same transform: `module.stripTypeScriptTypes`) into bench/.build/, keeping
 * the tree layout and rewriting relative `.ts` specifiers to `.js`.
 */
import * as Fs from "node:fs"
import * as Module from "node:module"
import * as Path from "node:path"

export interface BuildResult {
  /** Directory mirroring the repository root, holding the built files. */
  readonly outDir: string
  readonly files: number
  /** Files that could not be stripped, with the reason. */
  readonly failures: ReadonlyArray<string>
}

const tsFiles = (dir: string): Array<string> => {
  if (!Fs.existsSync(dir)) return []
  return Fs.readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
    .map((file) => Path.join(dir, file))
}

/** `"./a.ts"`, `'../b/c.ts'` → `.js`, in import/export specifiers and other relative string literals. */
const rewriteSpecifiers = (code: string): string =>
  code.replace(/(["'])(\.\.?\/[^"'\n]*?)\.ts\1/g, "$1$2.js$1")

const strip = (code: string): string => {
  // stripTypeScriptTypes warns that it is experimental on every first call: keep the report clean.
  const emitWarning = process.emitWarning
  process.emitWarning = (() => {}) as typeof process.emitWarning
  try {
    return Module.stripTypeScriptTypes(code, { mode: "strip" })
  } finally {
    process.emitWarning = emitWarning
  }
}

export const buildServers = (repoRoot: string, outDir: string): BuildResult => {
  Fs.rmSync(outDir, { recursive: true, force: true })
  const failures: Array<string> = []
  let files = 0
  for (const source of [...tsFiles(Path.join(repoRoot, "bench", "servers")), ...tsFiles(Path.join(repoRoot, "src"))]) {
    const relative = Path.relative(repoRoot, source)
    const target = Path.join(outDir, relative.replace(/\.ts$/, ".js"))
    try {
      const code = rewriteSpecifiers(strip(Fs.readFileSync(source, "utf8")))
      Fs.mkdirSync(Path.dirname(target), { recursive: true })
      Fs.writeFileSync(target, code)
      files++
    } catch (error) {
      failures.push(`${relative}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`)
    }
  }
  return { outDir, files, failures }
}
