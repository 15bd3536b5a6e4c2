/**
 * The published package, as a new user gets it: `npm pack` (its `prepack`
 * builds `dist/`), the tarball installed into an empty project (offline from
 * npm's cache where it can), its types checked there by TypeScript under
 * `nodenext` and `bundler` resolution, the public API imported by Node and
 * serving a request, and the installed `effect-httpserver` command run to
 * its `listening on` line.
 */
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { promisify } from "node:util"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { exitOf, listeningLine, processesMarked, ROOT, spawnProcess } from "./support/Processes.ts"
import * as RawClient from "./support/RawClient.ts"

const run = promisify(execFile)

/** This Node (24) first on PATH: npm scripts and the command's `#!/usr/bin/env node` use it. */
const PATH_ENV = `${Path.dirname(process.execPath)}${Path.delimiter}${process.env["PATH"] ?? ""}`

const npm = (args: ReadonlyArray<string>, cwd: string) =>
  run("npm", [...args], { cwd, env: { ...process.env, PATH: PATH_ENV }, maxBuffer: 16 * 1024 * 1024 })

interface PackedFile {
  readonly path: string
  readonly size: number
}

interface Packed {
  readonly filename: string
  readonly size: number
  readonly unpackedSize: number
  readonly files: ReadonlyArray<PackedFile>
}

/** The public modules: the namespaces `src/index.ts` re-exports, each also a subpath. */
const publicModules = (): Array<string> =>
  [...Fs.readFileSync(Path.join(ROOT, "src/index.ts"), "utf8").matchAll(/^export \* as (\w+) from/gm)].map(
    (match) => match[1] ?? ""
  )

const CONSUMER = `
import { Effect } from "effect"
import { HTTPServer, Response } from "effect-httpserver"
import * as HTTPServerModule from "effect-httpserver/HTTPServer"
import * as ResponseModule from "effect-httpserver/Response"

if (HTTPServerModule.listen !== HTTPServer.listen || ResponseModule.text !== Response.text) {
  throw new Error("the subpaths are not the root's modules")
}

const program = Effect.scoped(Effect.gen(function*() {
  const server = yield* HTTPServer.listen(
    (request) => Effect.succeed(Response.text("hello " + request.path)),
    { port: 0 }
  )
  const response = yield* Effect.promise(() => fetch(server.url + "/from-the-package"))
  const text = yield* Effect.promise(() => response.text())
  process.stdout.write(response.status + " " + text + "\\n")
}))
Effect.runPromise(program).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
`

/** Uses the types, so that types resolved to `any` would fail the check (the expected errors must occur). */
const TYPED_CONSUMER = `
import { Effect } from "effect"
import { HTTPServer, HttpErrors, Response } from "effect-httpserver"
import type { ServerConfigInput } from "effect-httpserver/ServerConfig"
import * as EffectHttpAdapter from "effect-httpserver/EffectHttpAdapter"

const handler: HTTPServer.Handler<HttpErrors.BodyError> = (request) =>
  Effect.map(request.text, (body) => Response.text(body))
const config: ServerConfigInput = { port: 0, maxBodySize: "1 MiB" }
export const served = HTTPServer.listen(handler, config)
export const adapter = EffectHttpAdapter.layer({ port: 0 })

// @ts-expect-error a status is a number
Response.text("x", { status: "200" })
// @ts-expect-error no such option
export const wrong: ServerConfigInput = { prot: 1 }
`

const tsconfig = (module: string, moduleResolution: string) =>
  JSON.stringify({
    compilerOptions: {
      module,
      moduleResolution,
      target: "es2022",
      strict: true,
      noEmit: true,
      // Our declaration files are checked too, not just used.
      skipLibCheck: false,
      types: ["node"],
      typeRoots: [Path.join(ROOT, "node_modules/@types")]
    },
    files: ["typed.ts"]
  })

describe("the npm package", () => {
  it.live("packs, installs into an empty project, type-checks, imports, serves, and runs its command", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-httpserver-package-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))

      // Pack (prepack builds dist/).
      const packed = yield* Effect.promise(() => npm(["pack", "--json", "--pack-destination", dir], ROOT))
      const [info] = JSON.parse(packed.stdout) as Array<Packed>
      if (info === undefined) throw new Error(`npm pack said ${packed.stdout}`)
      const paths = info.files.map((file) => file.path)
      // The build, the command, and the README with the files it names (read, not run).
      for (const path of paths) {
        expect(path).toMatch(
          /^(dist\/.+\.(js|d\.ts)|bin\/effect-httpserver\.js|README\.md|LICENSE|package\.json|examples\/[\w-]+\.ts|docs\/ARCHITECTURE\.md|bench\/README\.md)$/
        )
      }
      expect(paths).toContain("dist/index.js")
      expect(paths).toContain("dist/index.d.ts")
      expect(paths).toContain("dist/cli/main.js")
      expect(paths.filter((path) => /(^|\/)(test|fuzz)\//.test(path) || path.includes(".test."))).toEqual([])
      // A guard against shipping something big by mistake.
      expect(info.size).toBeLessThan(500_000)
      expect(info.unpackedSize).toBeLessThan(2_000_000)
      // The sizes the README states, within 15%.
      const stated = /about (\d+) KB packed, (\d+) KB unpacked/.exec(Fs.readFileSync(Path.join(ROOT, "README.md"), "utf8"))
      expect(stated).not.toBeNull()
      expect(Math.abs(info.size / 1000 / Number(stated?.[1]) - 1)).toBeLessThan(0.15)
      expect(Math.abs(info.unpackedSize / 1000 / Number(stated?.[2]) - 1)).toBeLessThan(0.15)

      // Every public module is a subpath, pointing at files in the tarball.
      const manifest = JSON.parse(Fs.readFileSync(Path.join(ROOT, "package.json"), "utf8")) as {
        exports: Record<string, string | { types: string; default: string }>
      }
      const subpaths = Object.keys(manifest.exports).filter((key) => key !== "." && key !== "./package.json")
      expect(subpaths.sort()).toEqual(publicModules().map((name) => `./${name}`).sort())
      for (const target of Object.values(manifest.exports)) {
        if (typeof target === "string") continue
        expect(paths).toContain(target.types.slice(2))
        expect(paths).toContain(target.default.slice(2))
      }

      // Install into an empty project.
      const project = Path.join(dir, "consumer")
      Fs.mkdirSync(project)
      Fs.writeFileSync(Path.join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
      yield* Effect.promise(() =>
        npm(["install", "--prefer-offline", "--no-audit", "--no-fund", Path.join(dir, info.filename)], project)
      )
      expect(Fs.existsSync(Path.join(project, "node_modules/effect-httpserver/src"))).toBe(false)

      // Types, under both resolutions TypeScript users have.
      Fs.writeFileSync(Path.join(project, "typed.ts"), TYPED_CONSUMER)
      Fs.writeFileSync(Path.join(project, "tsconfig.nodenext.json"), tsconfig("nodenext", "nodenext"))
      Fs.writeFileSync(Path.join(project, "tsconfig.bundler.json"), tsconfig("preserve", "bundler"))
      const tsc = Path.join(ROOT, "node_modules/.bin/tsc")
      for (const config of ["tsconfig.nodenext.json", "tsconfig.bundler.json"]) {
        const checked = yield* Effect.promise(() =>
          run(tsc, ["-p", config], { cwd: project }).then(() => "", (error: { stdout?: string }) => error.stdout ?? String(error))
        )
        expect(checked, config).toBe("")
      }

      // The public API, imported by Node, serves a request.
      Fs.writeFileSync(Path.join(project, "consumer.mjs"), CONSUMER)
      const served = yield* Effect.promise(() => run(process.execPath, ["consumer.mjs"], { cwd: project }))
      expect(served.stdout).toBe("200 hello /from-the-package\n")

      // The installed command (dist, not src) gets to its listening line and serves.
      const command = yield* spawnProcess(Path.join(project, "node_modules/.bin/effect-httpserver"), ["--port", "0"], {
        cwd: project,
        env: { PATH: PATH_ENV }
      })
      const line = yield* listeningLine(command)
      const port = Number(/^listening on http:\/\/127\.0\.0\.1:(\d+)$/.exec(line)?.[1])
      expect(port).toBeGreaterThan(0)
      const response = yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* RawClient.connect(port)
        yield* client.write(RawClient.get("/hello", "Connection: close"))
        return yield* client.readResponse({ timeoutMillis: 5000 })
      }))
      expect([response.status, response.text]).toEqual([200, "Hello world"])
      process.kill(command.pid, "SIGTERM")
      expect(yield* exitOf(command)).toEqual({ code: 0, signal: null })
      expect(processesMarked(command.marker)).toEqual([])
    }), 180_000)
})
