/**
 * A real nginx as the test's child: the test's config written to a
 * temporary directory (which also holds its pid file, error log and temp
 * paths), run in the foreground as one process (`daemon off`,
 * `master_process off`: nothing to set up, no user to switch to, works for
 * root and non-root alike), on loopback ports. Stopped when the Scope closes.
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { Effect, type Scope } from "effect"
import { kill } from "../../support/DemoProcess.ts"
import { describeServer, spawnProcess } from "../../support/Processes.ts"
import { sleepReal } from "../../support/RawClient.ts"

/** The nginx binary: `$NGINX`, else Debian's `/usr/sbin/nginx`, else `nginx` on the PATH. */
export const nginxBinary = (): string =>
  process.env["NGINX"] ?? (Fs.existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx")

/** A free loopback port (bound, then released). */
export const freePort = (): Effect.Effect<number> =>
  Effect.callback<number>((resume) => {
    const server = Net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      server.close(() => resume(Effect.succeed(port)))
    })
  })

/** Waits until something accepts connections on the port (up to `millis`). */
export const waitForPort = (port: number, millis = 10_000): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const deadline = performance.now() + millis
    while (performance.now() < deadline) {
      const open = yield* Effect.callback<boolean>((resume) => {
        const socket = Net.connect({ host: "127.0.0.1", port }, () => {
          socket.destroy()
          resume(Effect.succeed(true))
        })
        socket.once("error", () => resume(Effect.succeed(false)))
      })
      if (open) return true
      yield* sleepReal(50)
    }
    return false
  })

export interface Nginx {
  /** The directory holding the config, logs and temp files. */
  readonly dir: string
  readonly errorLog: () => string
}

/** Debian ships nginx's `stream` module as a dynamic module (package `libnginx-mod-stream`). */
const STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"

/**
 * Runs nginx with `http` as the body of its `http { }` block (the paths
 * nginx writes to are set here), and `stream` as that of a `stream { }`
 * block when given (loading Debian's dynamic module for it), and waits until
 * every port of `ports` accepts connections.
 */
export const startNginx = (
  http: string,
  ports: ReadonlyArray<number>,
  stream?: string
): Effect.Effect<Nginx, never, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-httpserver-nginx-"))),
      (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
    )
    const at = (name: string) => Path.join(dir, name)
    const config = [
      ...(stream !== undefined && Fs.existsSync(STREAM_MODULE) ? [`load_module ${STREAM_MODULE};`] : []),
      "daemon off;",
      "master_process off;",
      "worker_processes 1;",
      `pid ${at("nginx.pid")};`,
      `error_log ${at("error.log")} warn;`,
      "events { worker_connections 1024; }",
      "http {",
      "  access_log off;",
      `  client_body_temp_path ${at("client_body")};`,
      `  proxy_temp_path ${at("proxy")};`,
      `  fastcgi_temp_path ${at("fastcgi")};`,
      `  uwsgi_temp_path ${at("uwsgi")};`,
      `  scgi_temp_path ${at("scgi")};`,
      http,
      "}",
      ...(stream === undefined ? [] : ["stream {", stream, "}"]),
      ""
    ].join("\n")
    Fs.writeFileSync(at("nginx.conf"), config)
    const errorLog = () => {
      try {
        return Fs.readFileSync(at("error.log"), "utf8")
      } catch {
        return ""
      }
    }
    const nginx = yield* spawnProcess(nginxBinary(), ["-p", dir, "-c", at("nginx.conf"), "-e", at("error.log")])
    yield* Effect.addFinalizer(() => kill(nginx.child))
    for (const port of ports) {
      if (!(yield* waitForPort(port))) {
        return yield* Effect.die(new Error(`nginx did not listen on ${port}: ${describeServer(nginx)} ${errorLog()}`))
      }
    }
    return { dir, errorLog }
  })
