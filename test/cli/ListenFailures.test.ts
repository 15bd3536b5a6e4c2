/**
 * The command when it cannot listen: as for a bad option, exit 2 with one
 * line on stderr naming the option and the real cause, no stack trace,
 * nothing on stdout. One real attempt per cause.
 */
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ROOT } from "../support/Processes.ts"

const MAIN = Path.join(ROOT, "src/cli/main.ts")

interface Ran {
  readonly status: number | null
  readonly stdout: string
  readonly lines: ReadonlyArray<string>
}

const run = (args: ReadonlyArray<string>, user?: { uid: number; gid: number }): Ran => {
  const result = spawnSync(process.execPath, [MAIN, ...args], {
    encoding: "utf8",
    timeout: 15_000,
    cwd: Os.tmpdir(),
    ...(user ?? {})
  })
  return { status: result.status, stdout: result.stdout, lines: result.stderr.split("\n").filter((line) => line !== "") }
}

const refused = (ran: Ran, line: string) => {
  expect(ran.lines).toEqual([line])
  expect(ran.stdout).toBe("")
  expect(ran.status).toBe(2)
}

let dir = ""
let holder: Net.Server | undefined
let takenPort = 0

beforeAll(async () => {
  dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-httpserver-listen-"))
  Fs.chmodSync(dir, 0o755)
  holder = Net.createServer()
  await new Promise<void>((resolve) => holder?.listen({ host: "127.0.0.1", port: 0 }, resolve))
  takenPort = (holder.address() as Net.AddressInfo).port
})

afterAll(() => {
  holder?.close()
  Fs.rmSync(dir, { recursive: true, force: true })
})

describe("effect-httpserver when it cannot listen (child process)", () => {
  it("a port in use", () => {
    refused(
      run(["--port", String(takenPort)]),
      `--port: cannot listen on 127.0.0.1:${takenPort}: EADDRINUSE (address already in use)`
    )
  })

  it("a port in use, with worker processes: the parent binds first and says so", () => {
    refused(
      run(["--port", String(takenPort), "--processes", "2"]),
      `--port: cannot listen on 127.0.0.1:${takenPort}: EADDRINUSE (address already in use)`
    )
  })

  it("permission denied (EACCES)", () => {
    // Root may bind anything: then the command runs as nobody.
    const user = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined
    const unprivileged = Number(Fs.readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8"))
    if (unprivileged > 1) {
      const port = unprivileged - 1
      refused(run(["--port", String(port)], user), `--port: cannot listen on 127.0.0.1:${port}: EACCES (permission denied)`)
    } else {
      // Every port is unprivileged here: a directory the command may not write to instead.
      const locked = Path.join(dir, "locked")
      Fs.mkdirSync(locked, { mode: 0o555 })
      const path = Path.join(locked, "s.sock")
      refused(
        run(["--unix-socket", path], user ?? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }),
        `--unix-socket: cannot listen on unix:${path}: EACCES (permission denied)`
      )
    }
  })

  it("a host that is not an address of this machine", () => {
    refused(
      run(["--host", "192.0.2.1", "--port", "0"]),
      "--host: cannot listen on 192.0.2.1:0: EADDRNOTAVAIL (not an address of this machine)"
    )
  })

  it("a host name that does not resolve", () => {
    refused(
      run(["--host", "no-such-host.invalid", "--port", "0"]),
      "--host: cannot listen on no-such-host.invalid:0: ENOTFOUND (host name not found)"
    )
  })

  it("a Unix socket in a directory that does not exist (not EACCES)", () => {
    const path = Path.join(dir, "missing", "s.sock")
    refused(
      run(["--unix-socket", path]),
      `--unix-socket: cannot listen on unix:${path}: the directory ${Path.join(dir, "missing")} does not exist`
    )
  })

  it("a regular file at the socket path, left alone", () => {
    const path = Path.join(dir, "regular")
    Fs.writeFileSync(path, "keep me")
    refused(run(["--unix-socket", path]), `--unix-socket: cannot listen on unix:${path}: a regular file is in the way (it is left alone)`)
    expect(Fs.readFileSync(path, "utf8")).toBe("keep me")
  })

  it("a socket path over 107 bytes", () => {
    const path = Path.join(dir, "s".repeat(110))
    refused(
      run(["--unix-socket", path]),
      `--unix-socket: cannot listen on unix:${path}: the path is ${Buffer.byteLength(path)} bytes; a Unix socket path has at most 107`
    )
  })

  it("--unix-socket with --port is a conflict, not a choice", () => {
    refused(
      run(["--unix-socket", Path.join(dir, "s.sock"), "--port", "0"]),
      "--unix-socket: cannot be used with --port (a Unix socket has no port)"
    )
  })
})
