/**
 * Peers that run under their own Node: a folder under bench/peers/ with its
 * own package.json and lock file (a `node` package and the server's module),
 * so that the project's dependencies and engines stay as they are.
 * uWebSockets.js is one: the `uwebsockets` binaries load on this machine's
 * glibc only under Node 20/21, the project runs on Node 24.
 */
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"

/** A peer's runtime, ready to start servers with. */
export interface PeerRuntime {
  /** The peer's folder: the servers' working directory, where their module is resolved from. */
  readonly dir: string
  /** Its Node executable. */
  readonly node: string
  /** `process.version` of that Node. */
  readonly version: string
}

const lines = (text: string): Array<string> => text.split("\n").map((l) => l.trim()).filter((l) => l.length > 0)

const lastLines = (text: string, n: number): string => lines(text).slice(-n).join(" | ")

/** The `Error: ...` lines of a Node stack trace (a load failure nests the loader's error in the module's). */
const errorLines = (text: string): string => {
  const errors = lines(text).filter((l) => /^\w*Error\b/.test(l))
  return errors.length > 0 ? errors.join(" | ") : lastLines(text, 2)
}

/**
 * Installs the peer in `dir` when it is missing (`npm ci --prefix dir`, which
 * `log` announces: the first install downloads a few hundred MiB), then checks
 * that its Node loads `module`. Returns the runtime, or why the peer cannot run.
 */
export const preparePeer = (
  dir: string,
  module: string,
  log: (line: string) => void
): PeerRuntime | { readonly unavailable: string } => {
  const node = Path.join(dir, "node_modules", ".bin", "node")
  const installed = Fs.existsSync(node) && Fs.existsSync(Path.join(dir, "node_modules", module))
  if (!installed) {
    log(`  installing ${Path.basename(dir)}'s own runtime: npm ci --prefix ${dir}`)
    const install = spawnSync("npm", ["ci", "--prefix", dir, "--no-audit", "--no-fund"], { encoding: "utf8", timeout: 600_000 })
    if (install.error !== undefined || install.status !== 0) {
      return { unavailable: `npm ci --prefix ${dir} failed: ${install.error?.message ?? lastLines(install.stderr, 3)}` }
    }
  }
  const probe = spawnSync(node, ["-e", `require(${JSON.stringify(module)}); process.stdout.write(process.version)`], {
    cwd: dir,
    encoding: "utf8",
    timeout: 30_000
  })
  if (probe.error !== undefined) return { unavailable: `cannot run ${node}: ${probe.error.message}` }
  if (probe.status !== 0) {
    return { unavailable: `${module} does not load under this peer's Node: ${errorLines(probe.stderr)}` }
  }
  return { dir, node, version: probe.stdout.trim() }
}
