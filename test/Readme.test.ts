/**
 * The README's code is the code in `examples/`: each block marked
 * `<!-- examples/NAME.ts -->` is that file as a user writes it (without its
 * header comment, importing `effect-httpserver` where the file imports
 * `../src/index.ts`). The files are type-checked with the project
 * (`tsconfig.json` includes `examples/`), so the quotes compile.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { ROOT } from "./support/Processes.ts"

const README = Fs.readFileSync(Path.join(ROOT, "README.md"), "utf8")

const quotes = [...README.matchAll(/<!-- (examples\/[\w-]+\.ts) -->\n```ts\n([\s\S]*?)\n```/g)].map((match) => ({
  path: match[1] ?? "",
  quoted: match[2] ?? ""
}))

/** A file as the README shows it. */
const asQuoted = (path: string): string =>
  Fs.readFileSync(Path.join(ROOT, path), "utf8")
    .replace(/^\/\*\*[\s\S]*?\*\/\n/, "")
    .replaceAll("\"../src/index.ts\"", "\"effect-httpserver\"")
    .replace(/^\n+|\n+$/g, "")

describe("README snippets", () => {
  it("quote the start-up patterns, the Layer example and the compression examples from examples/", () => {
    expect(quotes.map((quote) => quote.path)).toEqual([
      "examples/serve-layer.ts",
      "examples/listen.ts",
      "examples/start-processes.ts",
      "examples/fork-processes.ts",
      "examples/socket-activation.ts",
      "examples/compress-handler.ts",
      "examples/compress-http-router.ts"
    ])
  })

  for (const { path, quoted } of quotes) {
    it(`${path} is quoted as it is`, () => {
      expect(quoted).toBe(asQuoted(path))
      // Only the public API: what a user of the package can import.
      expect(quoted).not.toMatch(/from "\.\.?\//)
    })
  }

  it("each quoted example names the Tornado way it stands for, in its header", () => {
    for (const path of ["examples/listen.ts", "examples/start-processes.ts", "examples/fork-processes.ts"]) {
      expect(Fs.readFileSync(Path.join(ROOT, path), "utf8")).toMatch(/^\/\*\*\n \* Tornado's `/)
    }
  })
})
