/**
 * The layer rule of `src/` holds (scripts/check-layers.ts), and the checker
 * finds what breaks it.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { checkLayers, importsOf } from "../scripts/check-layers.ts"

/** Checks a source tree made of `files` (in a temporary directory, removed after). */
const checkTree = (files: Record<string, string>) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "layers-"))
  try {
    for (const [file, text] of Object.entries(files)) {
      Fs.mkdirSync(Path.dirname(Path.join(dir, file)), { recursive: true })
      Fs.writeFileSync(Path.join(dir, file), text)
    }
    return checkLayers(dir)
  } finally {
    Fs.rmSync(dir, { recursive: true, force: true })
  }
}

describe("layers", () => {
  it("src: every import points down a layer, and none forms a cycle", () => {
    expect(checkLayers(Path.resolve(import.meta.dirname, "..", "src"))).toEqual([])
  })

  it("docs/ARCHITECTURE.md names every module of src/", () => {
    const root = Path.resolve(import.meta.dirname, "..")
    const doc = Fs.readFileSync(Path.join(root, "docs", "ARCHITECTURE.md"), "utf8")
    const modules = Fs.readdirSync(Path.join(root, "src"), { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".ts"))
    expect(modules.length).toBeGreaterThan(30)
    const unnamed = modules.filter((file) => !doc.includes(Path.basename(file)))
    expect(unnamed).toEqual([])
  })

  it("reads every form of import and re-export, and nothing else", () => {
    const source = [
      `import { a } from "./a.ts"`,
      `import type { B } from "./b.ts"`,
      `import {\n  c,\n  type D\n} from "./c.ts"`,
      `import * as E from "./e.ts"`,
      `import "./side-effect.ts"`,
      `export * as F from "./f.ts"`,
      `export { g } from "./g.ts"`,
      `export {\n  /**\n   * A re-exported name's doc (see \`j.ts\`).\n   *\n   * @since 0.1.0\n   */\n  J\n} from "./j.ts"`,
      `export const h = "from './not-an-import.ts'"`,
      `const i = await import("./i.ts")`
    ].join("\n")
    expect(importsOf(source)).toEqual([
      "./a.ts",
      "./b.ts",
      "./c.ts",
      "./e.ts",
      "./side-effect.ts",
      "./f.ts",
      "./g.ts",
      "./j.ts",
      "./i.ts"
    ])
  })

  it("finds an upward import, a sideways one, a cycle, an unknown layer", () => {
    const found = checkTree({
      "Wire/Parser.ts": `import { x } from "../Request/Body.ts"\n`,
      "Request/Body.ts": `export const x = 1\n`,
      "Config/Options.ts": `import type { R } from "../Response/Response.ts"\n`,
      "Response/Response.ts": `export type R = 1\n`,
      "Server/A.ts": `import { b } from "./B.ts"\nexport const a = 1\n`,
      "Server/B.ts": `import { a } from "./A.ts"\nexport const b = 1\n`,
      "Elsewhere/X.ts": `export const y = 1\n`
    })
    expect(found.map((v) => v.kind).sort()).toEqual(["cycle", "sideways", "unknown-layer", "upward"])
    expect(found.find((v) => v.kind === "upward")?.message).toContain("Wire/Parser.ts (Wire) imports Request/Body.ts (Request)")
    expect(found.find((v) => v.kind === "cycle")?.message).toMatch(/Server\/A\.ts -> Server\/B\.ts -> Server\/A\.ts/)
  })

  it("Compression sits above Request and Response, beside Connection, below Server", () => {
    const found = checkTree({
      "Request/Req.ts": `export const r = 1\n`,
      "Response/Response.ts": `export const s = 1\n`,
      "Compression/Middleware.ts": `import { r } from "../Request/Req.ts"\nimport { s } from "../Response/Response.ts"\n` +
        `import { c } from "../Connection/Conn.ts"\nexport const m = r + s + c\n`,
      "Connection/Conn.ts": `export const c = 1\n`,
      "Server/Uses.ts": `import { m } from "../Compression/Middleware.ts"\nexport const u = m\n`,
      "Request/Up.ts": `import { m } from "../Compression/Middleware.ts"\nexport const v = m\n`
    })
    expect(found.map((v) => v.message).sort()).toEqual([
      "Compression/Middleware.ts (Compression) imports Connection/Conn.ts (Connection), a layer beside it",
      "Request/Up.ts (Request) imports Compression/Middleware.ts (Compression), a higher layer"
    ])
  })

  it("Listen knows no HTTP, Accept stands over both protocols, EffectHttp and cli over Server, Observation beside Connection", () => {
    const found = checkTree({
      "Request/Req.ts": `export const r = 1\n`,
      "Listen/Sockets.ts": `import { r } from "../Request/Req.ts"\nexport const l = r\n`,
      "Connection/Conn.ts": `import { o } from "../Observation/Log.ts"\nexport const c = o\n`,
      "Observation/Log.ts": `import { r } from "../Request/Req.ts"\nexport const o = r\n`,
      "Http2/Session.ts": `import { c } from "../Connection/Conn.ts"\nexport const h = c\n`,
      "Http2/Sniff.ts": `import { a } from "../Accept/Accept.ts"\nexport const s = a\n`,
      "Accept/Accept.ts": `import { c } from "../Connection/Conn.ts"\nimport { h } from "../Http2/Session.ts"\nexport const a = c + h\n`,
      "Server/HTTPServer.ts": `import { a } from "../Accept/Accept.ts"\nexport const s = a\n`,
      "EffectHttp/Adapter.ts": `import { s } from "../Server/HTTPServer.ts"\nexport const e = s\n`,
      "cli/main.ts": `import { e } from "../EffectHttp/Adapter.ts"\nexport const m = e\n`
    })
    expect(found.map((v) => v.message).sort()).toEqual([
      "Connection/Conn.ts (Connection) imports Observation/Log.ts (Observation), a layer beside it",
      "Http2/Sniff.ts (Http2) imports Accept/Accept.ts (Accept), a higher layer",
      "Listen/Sockets.ts (Listen) imports Request/Req.ts (Request), a higher layer",
      "cli/main.ts (cli) imports EffectHttp/Adapter.ts (EffectHttp), a layer beside it"
    ])
  })

  it("a downward import and the index re-exporting every layer are fine", () => {
    const found = checkTree({
      "Wire/Parser.ts": `export const p = 1\n`,
      "Request/Body.ts": `import { p } from "../Wire/Parser.ts"\nexport const x = p\n`,
      "index.ts": `export * as Body from "./Request/Body.ts"\nexport * as Parser from "./Wire/Parser.ts"\n`
    })
    expect(found).toEqual([])
  })
})
