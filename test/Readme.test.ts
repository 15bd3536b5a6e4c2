/**
 * The README's code is the code in `examples/`: each block marked
 * `<!-- examples/NAME.ts -->` is that file as a user writes it (without its
 * header comment, importing `effect-httpserver` where the file imports
 * `../src/index.ts`). The files are type-checked with the project
 * (`tsconfig.json` includes `examples/`), so the quotes compile. Every
 * other `ts` block is a whole file too, imports included: each is
 * type-checked on its own, `effect-httpserver` being this checkout.
 */
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { promisify } from "node:util"
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
      "examples/compress-http-router.ts",
      "examples/draining.ts"
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

/** The `ts` blocks that are not quotes of `examples/`. */
const snippets = [...README.matchAll(/(<!-- examples\/[\w-]+\.ts -->\n)?```ts\n([\s\S]*?)\n```/g)]
  .filter((match) => match[1] === undefined)
  .map((match) => match[2] ?? "")

describe("README snippets that are not examples", () => {
  it("each has its imports and type-checks on its own", async () => {
    expect(snippets.length).toBeGreaterThanOrEqual(6)
    // Under node_modules so that packages resolve as from the checkout.
    const dir = Fs.mkdtempSync(Path.join(ROOT, "node_modules", ".readme-snippets-"))
    try {
      const files = snippets.map((snippet, index) => {
        const file = `snippet${index}.ts`
        const source = snippet.replaceAll("\"effect-httpserver\"", "\"../../src/index.ts\"")
        // A file without imports would be a script sharing one scope with the others.
        expect(source, `snippet ${index}`).toMatch(/^import /m)
        Fs.writeFileSync(Path.join(dir, file), source)
        return file
      })
      Fs.writeFileSync(
        Path.join(dir, "tsconfig.json"),
        JSON.stringify({ extends: Path.join(ROOT, "tsconfig.json"), include: files, compilerOptions: { noEmit: true } })
      )
      const checked = await promisify(execFile)(Path.join(ROOT, "node_modules/.bin/tsc"), ["-p", dir]).then(
        () => "",
        (error: { stdout?: string }) => error.stdout ?? String(error)
      )
      expect(checked).toBe("")
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})

/**
 * The files the README names: quoted paths of the repository's folders
 * (`examples/listen.ts`, `docs/ARCHITECTURE.md`, ...) and relative links.
 */
const cited = [
  ...[...README.matchAll(/`((?:src|test|examples|docs|bench|fuzz|scripts)\/[\w./-]+\.(?:ts|js|md|json))`/g)].map(
    (match) => match[1] ?? ""
  ),
  ...[...README.matchAll(/\]\(([^)#:\s]+)(?:#[^)]*)?\)/g)].map((match) => match[1] ?? "")
]

describe("README citations", () => {
  it("every file of the repository the README names exists", () => {
    expect(cited.length).toBeGreaterThan(5)
    expect(cited.filter((path) => !Fs.existsSync(Path.join(ROOT, path)))).toEqual([])
  })

  it("every file the README names is in the package, so that it resolves from the npm page", async () => {
    // What `npm pack` would put in the tarball (scripts skipped: dist/ is not named).
    const { stdout } = await promisify(execFile)("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024
    })
    const [packed] = JSON.parse(stdout) as Array<{ readonly files: ReadonlyArray<{ readonly path: string }> }>
    const shipped = new Set(packed?.files.map((file) => file.path))
    expect(shipped.has("README.md")).toBe(true)
    expect(cited.filter((path) => !shipped.has(path))).toEqual([])
  }, 60_000)
})
