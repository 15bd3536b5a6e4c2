/**
 * Child processes and /proc: spawning pinned to a CPU with a raised fd limit,
 * reading a process's resident memory and open descriptors.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"

/** Open-file limit for servers and clients (the idle scenario holds thousands of sockets). */
export const NOFILE = 20_000

const commandExists = (command: string): boolean => spawnSync(command, ["--version"], { stdio: "ignore" }).error === undefined

export const hasTaskset: boolean = process.platform === "linux" && commandExists("taskset")

export interface Placement {
  /** CPU list for the server under test, or undefined to leave it unpinned. */
  readonly server: string | undefined
  /** CPU list for load generators and clients. */
  readonly client: string | undefined
  readonly description: string
}

/** Server on CPU 1, clients on CPU 0, when there are two CPUs and taskset. */
export const placement = (): Placement => {
  const cpus = Os.availableParallelism()
  if (!hasTaskset) {
    return { server: undefined, client: undefined, description: `unpinned (taskset not found), ${cpus} CPUs` }
  }
  if (cpus < 2) {
    return { server: undefined, client: undefined, description: `unpinned (only ${cpus} CPU)` }
  }
  return { server: "1", client: "0", description: `server on CPU 1, load generator and runner on CPU 0 (${cpus} CPUs)` }
}

/** Pins an already running process (the runner itself) to `cpu`. */
export const pinProcess = (pid: number, cpu: string | undefined): void => {
  if (cpu !== undefined) {
    spawnSync("taskset", ["-a", "-pc", cpu, String(pid)], { stdio: "ignore" })
  }
}

/**
 * Spawns `command args` through bash so that `ulimit -n` can be raised first;
 * bash and taskset both `exec`, so the child's pid is the command's own.
 */
export const spawnPinned = (
  cpu: string | undefined,
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {}
): ChildProcess => {
  const argv = cpu === undefined ? [command, ...args] : ["taskset", "-c", cpu, command, ...args]
  return spawn("bash", ["-c", `ulimit -n ${NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`, "bench", ...argv], {
    stdio: ["pipe", "pipe", "pipe"],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: options.env })
  })
}

export interface MemoryStatus {
  /** Current resident set size, bytes. */
  readonly rss: number
  /** Peak resident set size (VmHWM), bytes, when the kernel reports it. */
  readonly peak: number | undefined
}

const kib = (status: string, field: string): number | undefined => {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1024
}

/** VmRSS and VmHWM of `pid`, or undefined when it is gone or /proc is unavailable. */
export const readMemory = (pid: number): MemoryStatus | undefined => {
  let status: string
  try {
    status = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
  } catch {
    return undefined
  }
  const rss = kib(status, "VmRSS")
  return rss === undefined ? undefined : { rss, peak: kib(status, "VmHWM") }
}

/** Number of open file descriptors of `pid`. */
export const countFds = (pid: number): number | undefined => {
  try {
    return Fs.readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return undefined
  }
}

/** Samples VmRSS every `intervalMs` and keeps the maximum, for kernels without VmHWM. */
export const sampleRss = (pid: number, intervalMs = 100): { readonly stop: () => number } => {
  let max = readMemory(pid)?.rss ?? 0
  const timer = setInterval(() => {
    const rss = readMemory(pid)?.rss
    if (rss !== undefined && rss > max) max = rss
  }, intervalMs)
  return {
    stop: () => {
      clearInterval(timer)
      const rss = readMemory(pid)?.rss
      if (rss !== undefined && rss > max) max = rss
      return max
    }
  }
}

/** Resolves with the exit code (or signal) when `child` exits, or undefined after `timeoutMs`. */
export const waitForExit = (child: ChildProcess, timeoutMs: number): Promise<number | string | undefined> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve(child.exitCode ?? child.signalCode ?? undefined)
      return
    }
    const timer = setTimeout(() => resolve(undefined), timeoutMs)
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      resolve(code ?? signal ?? undefined)
    })
  })

/** Kills `child` (SIGKILL: measurements are done, no graceful shutdown to wait for). */
export const kill = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill("SIGKILL")
  await waitForExit(child, 5_000)
}

/** Collects a child's output: the whole of it, or its last `limit` characters. */
export const collect = (stream: NodeJS.ReadableStream | null, limit = 64 * 1024): () => string => {
  let text = ""
  stream?.setEncoding("utf8")
  stream?.on("data", (chunk: string) => {
    text += chunk
    if (text.length > limit) text = text.slice(-limit)
  })
  return () => text
}

const clockTicks = ((): number => {
  const result = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" })
  const ticks = Number(result.stdout?.trim())
  return Number.isInteger(ticks) && ticks > 0 ? ticks : 100
})()

/** User + system CPU time consumed by `pid` (all its threads) so far, in seconds. */
export const readCpuSeconds = (pid: number): number | undefined => {
  let stat: string
  try {
    stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return undefined
  }
  // Fields after the command name (which may hold spaces) start at field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  const user = Number(fields[11])
  const system = Number(fields[12])
  return Number.isFinite(user) && Number.isFinite(system) ? (user + system) / clockTicks : undefined
}

/** Resets the peak RSS (VmHWM) of `pid` to its current RSS; false when the kernel does not allow it. */
export const resetPeak = (pid: number): boolean => {
  try {
    Fs.writeFileSync(`/proc/${pid}/clear_refs`, "5")
    return true
  } catch {
    return false
  }
}
