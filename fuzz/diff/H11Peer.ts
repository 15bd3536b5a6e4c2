/**
 * Python's h11 as a peer of the differential run: `h11_peer.py` in a child
 * process, fed every input at once (one base64 line each), answering one
 * JSON verdict per line. Present only where a Python with h11 is
 * (`apt-get install -y python3-h11`); {@link findH11Python} says which.
 */
import * as ChildProcess from "node:child_process"
import type { Verdict } from "./Verdict.ts"

const script = new URL("./h11_peer.py", import.meta.url).pathname

/**
 * The first Python that can import h11: `$H11_PYTHON`, then Debian's, then
 * whatever `python3` is on the path (a pyenv one may lack the Debian
 * package); `undefined` when there is none.
 */
export const findH11Python = (): string | undefined => {
  const candidates = [process.env["H11_PYTHON"], "/usr/bin/python3", "python3"].filter((c) => c !== undefined && c !== "")
  for (const python of candidates) {
    const probe = ChildProcess.spawnSync(python as string, ["-c", "import h11"], { stdio: "ignore" })
    if (probe.status === 0) return python
  }
  return undefined
}

/** Runs every input through h11; verdicts in the order of the inputs. */
export const runH11 = (python: string, inputs: ReadonlyArray<Buffer>): Promise<Array<Verdict>> =>
  new Promise((resolve, reject) => {
    const child = ChildProcess.spawn(python, [script], { stdio: ["pipe", "pipe", "pipe"] })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk))
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk))
    child.on("error", reject)
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`h11 peer exited with ${code}: ${Buffer.concat(err).toString()}`))
      const lines = Buffer.concat(out).toString("utf8").split("\n").filter((l) => l !== "")
      if (lines.length !== inputs.length) {
        return reject(new Error(`h11 peer gave ${lines.length} verdicts for ${inputs.length} inputs`))
      }
      resolve(lines.map((l) => JSON.parse(l) as Verdict))
    })
    child.stdin.end(inputs.map((i) => i.toString("base64")).join("\n") + "\n")
  })
