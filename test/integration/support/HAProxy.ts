/**
 * A real HAProxy as the test's child: the test's sections written after a
 * `global` (with an admin socket) and a `defaults` section (`mode tcp`) to
 * a temporary directory, run in the foreground (`-db`) on loopback ports.
 * Stopped when the Scope closes.
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { Effect, type Scope } from "effect"
import { kill } from "../../support/DemoProcess.ts"
import { describeServer, spawnProcess } from "../../support/Processes.ts"
import { waitForPort } from "./Nginx.ts"

/** The HAProxy binary: `$HAPROXY`, else Debian's `/usr/sbin/haproxy`, else `haproxy` on the PATH. */
export const haproxyBinary = (): string =>
  process.env["HAPROXY"] ?? (Fs.existsSync("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : "haproxy")

export interface HAProxy {
  /** A command on the admin socket (`show stat`, ...): its answer. */
  readonly admin: (command: string) => Effect.Effect<string>
  readonly output: () => string
}

/**
 * Runs HAProxy with `sections` (frontends, backends) and waits until every
 * port of `ports` accepts connections.
 */
export const startHAProxy = (sections: string, ports: ReadonlyArray<number>): Effect.Effect<HAProxy, never, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-httpserver-haproxy-"))),
      (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
    )
    const socket = Path.join(dir, "admin.sock")
    const config = [
      "global",
      "  maxconn 1000",
      `  stats socket ${socket} mode 600 level admin`,
      "defaults",
      "  mode tcp",
      "  timeout connect 5s",
      "  timeout client 30s",
      "  timeout server 30s",
      sections,
      ""
    ].join("\n")
    const file = Path.join(dir, "haproxy.cfg")
    Fs.writeFileSync(file, config)
    const haproxy = yield* spawnProcess(haproxyBinary(), ["-db", "-f", file])
    yield* Effect.addFinalizer(() => kill(haproxy.child))
    for (const port of ports) {
      if (!(yield* waitForPort(port))) {
        return yield* Effect.die(new Error(`haproxy did not listen on ${port}: ${describeServer(haproxy)}`))
      }
    }
    const admin = (command: string) =>
      Effect.callback<string>((resume) => {
        const chunks: Array<Buffer> = []
        const client = Net.connect({ path: socket }, () => client.end(`${command}\n`))
        client.on("data", (chunk) => chunks.push(chunk))
        client.on("close", () => resume(Effect.succeed(Buffer.concat(chunks).toString("utf8"))))
        client.on("error", (error) => resume(Effect.die(error)))
      })
    return { admin, output: () => `${haproxy.stdout()}${haproxy.stderr()}` }
  })

/** A server's status (`UP`, `DOWN`, ...) in `show stat`'s CSV. */
export const serverStatus = (stat: string, backend: string, server: string): string | undefined => {
  const [header = "", ...rows] = stat.replace(/^# /, "").split("\n")
  const columns = header.split(",")
  const status = columns.indexOf("status")
  const row = rows.map((line) => line.split(",")).find((cells) => cells[0] === backend && cells[1] === server)
  return row?.[status]
}
