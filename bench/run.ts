/**
 * The benchmark runner (`npm run bench`, see bench/README.md).
 *
 * Starts each server in its own process for each measurement, checks its
 * answers, warms it up, drives it with wrk (autocannon when wrk is missing) in
 * another process, and reads the server's peak RSS from /proc. Servers are
 * interleaved round by round; the report gives medians over the rounds.
 */
import { type ChildProcess, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Readline from "node:readline"
import { parseArgs } from "node:util"
import { fmtCpu, fmtInt, fmtKiB, fmtMiB, fmtMs, fmtPct, fmtRatio, fmtSeconds, median, ratio, spread, table } from "./lib/format.ts"
import { buildServers } from "./lib/build.ts"
import { checkCompressedJson, checkHttp2Hello, checkRoutes, routeName, routesLacking, warmUp } from "./lib/http.ts"
import { benchDir, type LoadResult, runLoad, type Tool, wrkVersion } from "./lib/load.ts"
import { type PeerRuntime, preparePeer } from "./lib/peers.ts"
import {
  collect,
  countFds,
  kill,
  pinProcess,
  placement as getPlacement,
  readCpuSeconds,
  readMemory,
  resetPeak,
  sampleRss,
  spawnPinned,
  waitForExit
} from "./lib/proc.ts"
import {
  idleTitle,
  type IdleScenario,
  type LoadScenario,
  PROXY_HEADER,
  type Scenario,
  scenarios as allScenarios,
  takesPart
} from "./scenarios.ts"

// ---------------------------------------------------------------------------
// Servers

interface ServerDef {
  readonly name: string
  readonly label: string
  readonly file: string
  /**
   * Runs under its own Node from bench/peers/<peer>/ (see lib/peers.ts), from
   * the type-stripped build; `module` is what that Node must load.
   */
  readonly peer?: { readonly dir: string; readonly module: string }
  /** Needs src/index.ts (skipped with the reason while it cannot be imported). */
  readonly usesSrc?: boolean
  /** Serves HTTPS: started with BENCH_TLS_CERT / BENCH_TLS_KEY (see tlsFiles). */
  readonly tls?: boolean
  /** Compresses its responses: started with BENCH_COMPRESS=1. */
  readonly compress?: boolean
  /**
   * Requires a PROXY header on each connection (`proxyProtocol`): started
   * with BENCH_PROXY_PROTOCOL=1; its checks and its load send PROXY_HEADER first.
   */
  readonly proxyProtocol?: boolean
  /** Serves HTTP/2 (`ours` started with BENCH_HTTP2=1); checked with an HTTP/2 client. */
  readonly http2?: boolean
  /** Runs this file (another checkout's server, see `--baseline`) as it is, not one of bench/servers/. */
  readonly entry?: string
}

/**
 * `--baseline DIR`: the same server from another checkout (a worktree of an
 * earlier commit), measured in the same run, so that a change to the engine
 * is judged against what it replaces: `ours` against `ours-baseline`.
 */
const baselineIndex = process.argv.indexOf("--baseline")
const baselineDir = baselineIndex === -1 ? undefined : process.argv[baselineIndex + 1]

const SERVERS: ReadonlyArray<ServerDef> = [
  { name: "node-http", label: "node:http", file: "node-http.ts" },
  { name: "effect-platform", label: "NodeHttpServer", file: "effect-platform.ts" },
  { name: "fastify", label: "fastify", file: "fastify.ts" },
  { name: "uws", label: "uWebSockets.js", file: "uws.ts", peer: { dir: "uws", module: "uwebsockets" } },
  { name: "canned", label: "canned limit", file: "canned.ts", usesSrc: true },
  { name: "ours", label: "ours", file: "ours.ts", usesSrc: true },
  { name: "ours-router", label: "ours HttpRouter", file: "ours-router.ts", usesSrc: true },
  { name: "node-https", label: "node:https", file: "node-http.ts", tls: true },
  { name: "ours-tls", label: "ours (TLS)", file: "ours.ts", usesSrc: true, tls: true },
  { name: "fastify-compress", label: "fastify + @fastify/compress", file: "fastify.ts", compress: true },
  { name: "ours-compress", label: "ours + ResponseCompression", file: "ours.ts", usesSrc: true, compress: true },
  { name: "ours-proxy", label: "ours + proxyProtocol", file: "ours.ts", usesSrc: true, proxyProtocol: true },
  { name: "node-http2", label: "node:http2", file: "node-http2.ts", http2: true },
  { name: "ours-http2", label: "ours (HTTP/2)", file: "ours.ts", usesSrc: true, http2: true },
  { name: "node-http2-tls", label: "node:http2 (TLS)", file: "node-http2.ts", http2: true, tls: true },
  { name: "ours-http2-tls", label: "ours (HTTP/2, TLS)", file: "ours.ts", usesSrc: true, http2: true, tls: true },
  ...(baselineDir === undefined ? [] : [{
    name: "ours-baseline",
    label: `ours (baseline: ${Path.basename(baselineDir)})`,
    file: "ours.ts",
    entry: Path.join(Path.resolve(baselineDir), "bench", "servers", "ours.ts")
  }])
]

/**
 * The ratio lines: each subject against its peers. `ours` against the peers
 * and the canned limit; the HttpRouter app on our adapter against the same
 * app on NodeHttpServer, and against ours without effect/http.
 */
const COMPARISONS: ReadonlyArray<{ readonly subject: string; readonly versus: ReadonlyArray<string> }> = [
  { subject: "ours", versus: ["node-http", "effect-platform", "uws", "canned", "ours-baseline"] },
  { subject: "ours-router", versus: ["effect-platform", "ours"] },
  { subject: "ours-tls", versus: ["node-https"] },
  { subject: "ours-compress", versus: ["fastify-compress"] },
  // The same engine and load, the PROXY header read on each connection or not (issue 21: within 3%).
  { subject: "ours-proxy", versus: ["ours"] },
  { subject: "ours-http2", versus: ["node-http2"] },
  { subject: "ours-http2-tls", versus: ["node-http2-tls"] }
]

let tlsEnv: NodeJS.ProcessEnv | undefined

/**
 * The environment of a TLS server: a throwaway self-signed certificate (EC
 * P-256, made once per run with openssl) in BENCH_TLS_CERT / BENCH_TLS_KEY.
 */
const tlsFiles = (): NodeJS.ProcessEnv => {
  if (tlsEnv === undefined) {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "bench-tls-"))
    process.once("exit", () => Fs.rmSync(dir, { recursive: true, force: true }))
    const cert = Path.join(dir, "cert.pem")
    const key = Path.join(dir, "key.pem")
    const made = spawnSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"
    ], { stdio: "ignore" })
    if (made.status !== 0) throw new Error("openssl could not make the TLS scenarios' certificate")
    tlsEnv = { ...process.env, BENCH_TLS_CERT: cert, BENCH_TLS_KEY: key }
  }
  return tlsEnv
}

/** Why "ours" cannot run yet (its public API is missing or broken), or undefined when it can. */
const oursUnavailable = async (): Promise<string | undefined> => {
  const url = new URL("../src/index.ts", import.meta.url)
  if (!Fs.existsSync(url)) return "src/index.ts does not exist yet"
  try {
    const mod = (await import(url.href)) as Record<string, unknown>
    const server = mod["HTTPServer"] as Record<string, unknown> | undefined
    const response = mod["Response"] as Record<string, unknown> | undefined
    const missing = [
      typeof server?.["listen"] === "function" ? undefined : "HTTPServer.listen",
      typeof response?.["text"] === "function" ? undefined : "Response.text",
      typeof response?.["bytes"] === "function" ? undefined : "Response.bytes"
    ].filter((name) => name !== undefined)
    return missing.length === 0 ? undefined : `src/index.ts does not export ${missing.join(", ")}`
  } catch (error) {
    return `importing src/index.ts failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`
  }
}

const live = new Set<ChildProcess>()

const track = (child: ChildProcess): ChildProcess => {
  live.add(child)
  child.once("exit", () => live.delete(child))
  return child
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    for (const child of live) child.kill("SIGKILL")
    process.exit(130)
  })
}

/** Resolves with the first stdout line of `child` matching `pattern`. */
const waitForLine = (
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs: number,
  describe: () => string
): Promise<RegExpExecArray> =>
  new Promise((resolve, reject) => {
    if (child.stdout === null) {
      reject(new Error("no stdout"))
      return
    }
    const lines = Readline.createInterface({ input: child.stdout })
    const done = (): void => {
      clearTimeout(timer)
      lines.removeListener("line", onLine)
      child.removeListener("exit", onExit)
    }
    const onLine = (line: string): void => {
      const match = pattern.exec(line)
      if (match !== null) {
        done()
        resolve(match)
      }
    }
    const onExit = (code: number | null, signal: string | null): void => {
      done()
      reject(new Error(`exited (${code ?? signal}) before printing ${pattern}: ${describe()}`))
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`no ${pattern} within ${timeoutMs} ms: ${describe()}`))
    }, timeoutMs)
    lines.on("line", onLine)
    child.once("exit", onExit)
  })

interface RunningServer {
  readonly child: ChildProcess
  readonly pid: number
  readonly port: number
  /** From spawning to the "listening on" line. */
  readonly startupMs: number
  /** Measurements made on this process so far. */
  measurements: number
}

/** Where the built (type-stripped) tree is, when the servers run from it. */
let buildDir: string | undefined
/** Where the build went, whether or not the servers on the runner's Node use it (peers always do). */
let builtDir: string | undefined

/** The runtimes of the peers that run under their own Node, by server name. */
const runtimes = new Map<string, PeerRuntime>()

/** A server's label, with the Node version beside it when it is not the runner's. */
const labelOf = (def: ServerDef): string => {
  const runtime = runtimes.get(def.name)
  return runtime === undefined ? def.label : `${def.label} (Node ${runtime.version.replace(/^v/, "")})`
}

const builtEntry = (dir: string, def: ServerDef): string =>
  Path.join(dir, "bench", "servers", def.file.replace(/\.ts$/, ".js"))

const serverEntry = (def: ServerDef): string => {
  if (def.entry !== undefined) return def.entry
  if (def.peer !== undefined && builtDir !== undefined) return builtEntry(builtDir, def)
  return buildDir === undefined ? Path.join(benchDir, "servers", def.file) : builtEntry(buildDir, def)
}

const startServer = async (def: ServerDef, cpu: string | undefined): Promise<RunningServer> => {
  const spawnedAt = performance.now()
  const runtime = runtimes.get(def.name)
  const child = track(
    spawnPinned(cpu, runtime?.node ?? process.execPath, [serverEntry(def), "0"], {
      ...(runtime === undefined ? {} : { cwd: runtime.dir }),
      env: {
        ...(def.tls === true ? tlsFiles() : process.env),
        ...(def.compress === true ? { BENCH_COMPRESS: "1" } : {}),
        ...(def.proxyProtocol === true ? { BENCH_PROXY_PROTOCOL: "1" } : {}),
        ...(def.http2 === true ? { BENCH_HTTP2: "1" } : {})
      }
    })
  )
  child.stdin?.end()
  const stderr = collect(child.stderr, 4096)
  try {
    const match = await waitForLine(child, /^listening on http:\/\/127\.0\.0\.1:(\d+)$/, 30_000, () => stderr().trim().slice(-1500))
    child.stdout?.resume()
    if (child.pid === undefined) throw new Error("no pid")
    return { child, pid: child.pid, port: Number(match[1]), startupMs: Math.round(performance.now() - spawnedAt), measurements: 0 }
  } catch (error) {
    await kill(child)
    throw error
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------
// Options

const usage = `Usage: npm run bench -- [options]

  --quick                 short smoke run: 1 round, 0.25 s warm-up + 1 s per measurement, 1,000 idle
                          connections, --reuse
  --reuse                 one server process per server and round for all load scenarios (faster; peak RSS
                          is then reset between scenarios, see bench/README.md)
  --only a,b              servers to run: ${SERVERS.map((s) => s.name).join(", ")}
  --scenario x,y          scenarios to run: ${allScenarios.map((s) => s.name).join(", ")}
  --rounds N              rounds (default 3; each server is measured once per round and scenario)
  --duration S            seconds per measurement (default 2; wrk takes whole seconds)
  --warmup S              seconds of warm-up before each measurement (default 0.75)
  --idle-connections N    connections in the idle scenario (default 5000)
  --tool wrk|autocannon   load generator (default: wrk when on PATH, else autocannon)
  --no-build              run the servers' .ts files directly (Node's type stripper then adds ~17 MiB RSS to each)
  --baseline DIR          also run ours from another checkout (DIR, e.g. a worktree of an earlier commit,
                          with its own node_modules) as ours-baseline, compared with ours in the same run
  --no-json               do not write bench/results/<timestamp>.json
  --help`

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    scenario: { type: "string" },
    rounds: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    "idle-connections": { type: "string" },
    tool: { type: "string" },
    "no-json": { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
    reuse: { type: "boolean", default: false },
    baseline: { type: "string" },
    help: { type: "boolean", default: false }
  },
  strict: true
})

if (args.help) {
  console.log(usage)
  process.exit(0)
}

const fail = (message: string): never => {
  console.error(`${message}\n\n${usage}`)
  process.exit(2)
}

const numberArg = (name: string, raw: string | undefined, fallback: number, min: number): number => {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < min) fail(`--${name}: expected a number >= ${min}, got ${raw}`)
  return n
}

const listArg = <A extends { readonly name: string }>(name: string, raw: string | undefined, all: ReadonlyArray<A>): Array<A> => {
  if (raw === undefined) return [...all]
  const wanted = raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
  const unknown = wanted.filter((w) => !all.some((a) => a.name === w))
  if (unknown.length > 0) fail(`--${name}: unknown ${unknown.join(", ")}`)
  return all.filter((a) => wanted.includes(a.name))
}

const quick = args.quick
const options = {
  quick,
  rounds: Math.floor(numberArg("rounds", args.rounds, quick ? 1 : 3, 1)),
  duration: Math.round(numberArg("duration", args.duration, quick ? 1 : 2, 1)),
  warmup: numberArg("warmup", args.warmup, quick ? 0.25 : 0.75, 0),
  idleConnections: Math.floor(numberArg("idle-connections", args["idle-connections"], quick ? 1000 : 5000, 1)),
  reuse: quick || args.reuse,
  /** Pause before each RSS reading of the idle scenario. */
  settleMs: quick ? 250 : 500
}
const selectedServers = listArg("only", args.only, SERVERS)
const selectedScenarios: Array<Scenario> = listArg("scenario", args.scenario, allScenarios).map((s) =>
  s.kind === "idle" ? { ...s, connections: options.idleConnections, title: idleTitle(options.idleConnections) } : s
)

const detectedWrk = wrkVersion()
let tool: Tool
if (args.tool === undefined) {
  tool = detectedWrk === undefined ? "autocannon" : "wrk"
} else if (args.tool === "wrk" || args.tool === "autocannon") {
  tool = args.tool
  if (tool === "wrk" && detectedWrk === undefined) fail("--tool wrk: wrk is not on PATH (apt-get install -y wrk)")
} else {
  tool = fail(`--tool: expected wrk or autocannon, got ${args.tool}`)
}
const toolVersion = tool === "wrk" ? `wrk ${detectedWrk ?? "?"}` : "autocannon (npm)"

// ---------------------------------------------------------------------------
// Measurements

interface LoadRun {
  readonly round: number
  readonly ok: true
  readonly startupMs: number
  readonly load: LoadResult
  readonly peakRss: number
  /** Server CPU time during the measurement / its wall time (1 = one core busy). */
  readonly cpuUse: number | null
  /** Responses per second of server CPU time: less sensitive to other load on the machine. */
  readonly rpsPerCpu: number | null
}

interface IdleRun {
  readonly round: number
  readonly ok: true
  readonly startupMs: number
  readonly requested: number
  readonly opened: number
  readonly failed: number
  readonly openMs: number
  readonly closedByServer: number
  readonly rssBefore: number
  readonly rssAfter: number
  readonly perConnection: number
  readonly fdsBefore: number | null
  readonly fdsAfter: number | null
  readonly peakRss: number
}

interface FailedRun {
  readonly round: number
  readonly ok: false
  readonly error: string
}

type Run = LoadRun | IdleRun | FailedRun

const cpuCount = Os.availableParallelism()
const placement = getPlacement()
pinProcess(process.pid, placement.client)

/**
 * The routes a `--baseline` checkout's server lacks (it may predate some), by
 * server name: found once before the rounds, not checked, and the scenarios
 * that need them are skipped for it.
 */
const lackingRoutes = new Map<string, ReadonlySet<string>>()

/** The route a scenario's requests go to (the idle scenario's one request per connection is a `GET /hello`). */
const routeOfScenario = (scenario: Scenario): string =>
  scenario.kind === "idle" ? routeName("GET", "/hello") : routeName(scenario.method, scenario.path)

/** Whether `def` takes part in `scenario`: named by it (or not excluded), and having its route. */
const joins = (scenario: Scenario, def: ServerDef): boolean =>
  takesPart(scenario, def.name) && lackingRoutes.get(def.name)?.has(routeOfScenario(scenario)) !== true

/**
 * Starts a `--baseline` checkout's server once to ask which routes it lacks
 * (answers 404), so that the scenarios needing them are skipped for it.
 */
const findLackingRoutes = async (def: ServerDef): Promise<ReadonlySet<string>> => {
  const server = await startServer(def, placement.server)
  try {
    return await routesLacking(server.port)
  } finally {
    await kill(server.child)
  }
}

/** What each connection to `def` begins with: the PROXY header when it requires one. */
const preambleOf = (def: ServerDef): string | undefined => def.proxyProtocol === true ? PROXY_HEADER : undefined

/** Starts a server and checks its answers. */
const startChecked = async (def: ServerDef): Promise<RunningServer> => {
  const server = await startServer(def, placement.server)
  const problems = [
    ...def.http2 === true
      ? await checkHttp2Hello(server.port, def.tls === true)
      : await checkRoutes(server.port, def.tls === true, preambleOf(def), lackingRoutes.get(def.name)),
    ...def.compress === true ? await checkCompressedJson(server.port) : []
  ]
  if (problems.length > 0) {
    await kill(server.child)
    throw new Error(`wrong answers: ${problems.join("; ")}`)
  }
  return server
}

/** Warms `server` up for `scenario`, then measures it. */
const measureOn = async (def: ServerDef, server: RunningServer, scenario: LoadScenario, round: number): Promise<LoadRun> => {
  // A reused server's peak so far belongs to the previous scenarios: start this one's afresh.
  const peakReset = server.measurements === 0 || resetPeak(server.pid)
  server.measurements++
  // The WebSocket and PROXY clients warm up over their own connections;
  // h2load warms up by itself (--warm-up-time).
  if (scenario.websocket === undefined && scenario.proxyClient !== true && scenario.http2 === undefined) {
    await warmUp(server.port, scenario, scenario.connections, options.warmup * 1000)
  }
  const sampler = sampleRss(server.pid)
  const cpuBefore = readCpuSeconds(server.pid)
  const client = { preamble: preambleOf(def) ?? "", warmupSeconds: options.warmup }
  const load = await runLoad(tool, scenario, server.port, options.duration, placement.client, client)
  const cpuAfter = readCpuSeconds(server.pid)
  const sampled = sampler.stop()
  const memory = readMemory(server.pid)
  if (memory === undefined || server.child.exitCode !== null) throw new Error("the server exited during the measurement")
  const cpu = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore
  return {
    round,
    ok: true,
    startupMs: server.startupMs,
    load,
    peakRss: peakReset ? Math.max(memory.peak ?? 0, sampled) : sampled,
    // Over the load generator's own measured time: its start-up costs the server nothing.
    cpuUse: cpu === undefined || load.seconds <= 0 ? null : cpu / load.seconds,
    rpsPerCpu: cpu === undefined || cpu === 0 ? null : load.requests / cpu
  }
}

/** One measurement on a fresh server process. */
const measureLoad = async (def: ServerDef, scenario: LoadScenario, round: number): Promise<LoadRun> => {
  const server = await startChecked(def)
  try {
    return await measureOn(def, server, scenario, round)
  } finally {
    await kill(server.child)
  }
}

/**
 * `--reuse`: all the load scenarios on one server process (started again only
 * if it dies), reporting each run as it completes.
 */
const measureLoadSeries = async (
  def: ServerDef,
  scenarios: ReadonlyArray<LoadScenario>,
  round: number,
  report: (scenario: LoadScenario, run: Run) => void
): Promise<void> => {
  let server: RunningServer | undefined
  try {
    for (const scenario of scenarios) {
      let run: Run
      try {
        if (server === undefined || server.child.exitCode !== null || server.child.signalCode !== null) {
          server = await startChecked(def)
        }
        run = await measureOn(def, server, scenario, round)
      } catch (error) {
        run = { round, ok: false, error: error instanceof Error ? error.message : String(error) }
      }
      report(scenario, run)
    }
  } finally {
    if (server !== undefined) await kill(server.child)
  }
}

const measureIdle = async (def: ServerDef, scenario: IdleScenario, round: number): Promise<IdleRun> => {
  const server = await startChecked(def)
  let client: ChildProcess | undefined
  try {
    const hello = { method: "GET", path: "/hello", bodySize: 0, close: false } as const
    await warmUp(server.port, hello, 50, options.warmup * 1000)
    await sleep(options.settleMs)
    const before = readMemory(server.pid)
    const fdsBefore = countFds(server.pid) ?? null
    if (before === undefined) throw new Error("cannot read the server's memory")

    const script = Path.join(benchDir, "clients", "idle.ts")
    const child = track(spawnPinned(placement.client, process.execPath, [script, String(server.port), String(scenario.connections), "200"]))
    client = child
    const clientErr = collect(child.stderr, 4096)
    const ready = await waitForLine(child, /^IDLE_READY (.*)$/, 120_000, () => clientErr().trim().slice(-1000))
    const opened = JSON.parse(ready[1] ?? "{}") as { opened: number; failed: number; ms: number }
    await sleep(options.settleMs)
    const after = readMemory(server.pid)
    const fdsAfter = countFds(server.pid) ?? null
    if (after === undefined) throw new Error("the server exited while the connections were open")
    const reportLine = waitForLine(child, /^IDLE_REPORT (.*)$/, 10_000, () => clientErr().trim().slice(-1000))
    child.stdin?.write("report\n")
    const report = JSON.parse((await reportLine)[1] ?? "{}") as { open: number; closedByServer: number }
    await waitForExit(child, 10_000)
    if (opened.opened === 0) throw new Error(`no connection could be opened (${opened.failed} failed)`)
    return {
      round,
      ok: true,
      startupMs: server.startupMs,
      requested: scenario.connections,
      opened: opened.opened,
      failed: opened.failed,
      openMs: opened.ms,
      closedByServer: report.closedByServer,
      rssBefore: before.rss,
      rssAfter: after.rss,
      perConnection: (after.rss - before.rss) / opened.opened,
      fdsBefore,
      fdsAfter,
      peakRss: readMemory(server.pid)?.peak ?? after.rss
    }
  } finally {
    if (client !== undefined) await kill(client)
    await kill(server.child)
  }
}

// ---------------------------------------------------------------------------
// Report

interface LoadSummary {
  readonly kind: "load"
  readonly runs: number
  readonly rps: number | null
  readonly rpsSpread: number | null
  readonly p50Ms: number | null
  readonly p99Ms: number | null
  readonly peakRss: number | null
  readonly cpuUse: number | null
  readonly rpsPerCpu: number | null
  /** Server CPU-seconds per 100,000 responses (1e5 / rpsPerCpu): the load generator is not in it. */
  readonly cpuPer100k: number | null
  readonly errors: number
}

interface IdleSummary {
  readonly kind: "idle"
  readonly runs: number
  readonly perConnection: number | null
  readonly rssBefore: number | null
  readonly rssAfter: number | null
  readonly opened: number | null
  readonly closedByServer: number
  readonly fdsAfter: number | null
  readonly peakRss: number | null
}

type Summary = LoadSummary | IdleSummary

const medianOf = <A>(items: ReadonlyArray<A>, get: (a: A) => number | null): number | null =>
  median(items.flatMap((a) => {
    const v = get(a)
    return v === null ? [] : [v]
  }))

const summarize = (scenario: Scenario, runs: ReadonlyArray<Run>): Summary | undefined => {
  if (scenario.kind === "load") {
    const ok = runs.filter((r): r is LoadRun => r.ok && "load" in r)
    if (ok.length === 0) return undefined
    const rps = ok.map((r) => r.load.rps)
    const rpsPerCpu = medianOf(ok, (r) => r.rpsPerCpu)
    return {
      kind: "load",
      runs: ok.length,
      rps: median(rps),
      rpsSpread: spread(rps),
      p50Ms: medianOf(ok, (r) => r.load.p50Ms),
      p99Ms: medianOf(ok, (r) => r.load.p99Ms),
      peakRss: median(ok.map((r) => r.peakRss)),
      cpuUse: medianOf(ok, (r) => r.cpuUse),
      rpsPerCpu,
      cpuPer100k: rpsPerCpu === null || rpsPerCpu === 0 ? null : 1e5 / rpsPerCpu,
      errors: ok.reduce((sum, r) => sum + r.load.errors, 0)
    }
  }
  const ok = runs.filter((r): r is IdleRun => r.ok && "perConnection" in r)
  if (ok.length === 0) return undefined
  const fds = ok.flatMap((r) => (r.fdsAfter === null ? [] : [r.fdsAfter]))
  return {
    kind: "idle",
    runs: ok.length,
    perConnection: median(ok.map((r) => r.perConnection)),
    rssBefore: median(ok.map((r) => r.rssBefore)),
    rssAfter: median(ok.map((r) => r.rssAfter)),
    opened: Math.min(...ok.map((r) => r.opened)),
    closedByServer: ok.reduce((sum, r) => sum + r.closedByServer, 0),
    fdsAfter: fds.length === 0 ? null : Math.min(...fds),
    peakRss: median(ok.map((r) => r.peakRss))
  }
}

/** One subject against one peer in one scenario: subject / peer for each metric. */
interface Ratios {
  readonly subject: string
  readonly versus: string
  readonly rps?: number | null
  readonly cpuPerRequest?: number | null
  readonly p99?: number | null
  readonly peakRss?: number | null
  readonly perConnection?: number | null
}

const labelByName = (name: string): string => {
  const def = SERVERS.find((s) => s.name === name)
  return def === undefined ? name : labelOf(def)
}

const ratiosFor = (summaries: ReadonlyMap<string, Summary>): Array<Ratios> =>
  COMPARISONS.flatMap(({ subject: subjectName, versus: peers }) => {
    const subject = summaries.get(subjectName)
    if (subject === undefined) return []
    return peers.flatMap((name): Array<Ratios> => {
      const base = summaries.get(name)
      if (base === undefined) return []
      const names = { subject: subjectName, versus: name }
      if (subject.kind === "load" && base.kind === "load") {
        return [{
          ...names,
          rps: ratio(subject.rps, base.rps),
          cpuPerRequest: ratio(subject.cpuPer100k, base.cpuPer100k),
          p99: ratio(subject.p99Ms, base.p99Ms),
          peakRss: ratio(subject.peakRss, base.peakRss)
        }]
      }
      if (subject.kind === "idle" && base.kind === "idle") {
        return [{ ...names, perConnection: ratio(subject.perConnection, base.perConnection), peakRss: ratio(subject.peakRss, base.peakRss) }]
      }
      return []
    })
  })

/** An error message on one line, at most 300 characters. */
const oneLine = (message: string): string => {
  const flat = message.replace(/\s*\n\s*/g, " | ")
  return flat.length > 300 ? `${flat.slice(0, 297)}...` : flat
}

/** The progress lines' scenario column: as wide as the longest name selected. */
const scenarioWidth = Math.max(...selectedScenarios.map((s) => s.name.length))

const progressLine = (round: number, scenario: Scenario, def: ServerDef, run: Run): string => {
  const head = `  round ${round}/${options.rounds}  ${scenario.name.padEnd(scenarioWidth)}  ${labelOf(def).padEnd(29)}`
  if (!run.ok) return `${head}  FAILED: ${oneLine(run.error)}`
  if ("load" in run) {
    const errors = run.load.errors > 0 ? `  errors ${fmtInt(run.load.errors)}` : ""
    const cpu = run.cpuUse === null ? "" : `  CPU ${fmtCpu(run.cpuUse).padStart(4)}`
    const per100k = run.rpsPerCpu === null || run.rpsPerCpu === 0 ? "" : `  ${fmtSeconds(1e5 / run.rpsPerCpu)}/100k`
    return `${head}  ${fmtInt(run.load.rps).padStart(9)} req/s  p99 ${fmtMs(run.load.p99Ms).padStart(9)}  peak RSS ${
      fmtMiB(run.peakRss).padStart(10)
    }${cpu}${per100k}${errors}`
  }
  const closed = run.closedByServer > 0 ? `  closed by server ${run.closedByServer}` : ""
  return `${head}  ${fmtInt(run.opened)} open in ${run.openMs} ms  RSS ${fmtMiB(run.rssBefore)} -> ${fmtMiB(run.rssAfter)}  ${fmtKiB(run.perConnection)}/conn${closed}`
}

const ratioLine = (scenario: Scenario, r: Ratios): string =>
  scenario.kind === "load"
    ? `  ${labelByName(r.subject)} / ${labelByName(r.versus)}: req/s ${fmtRatio(r.rps ?? null)}, CPU per request ${
      fmtRatio(r.cpuPerRequest ?? null)
    }, p99 ${fmtRatio(r.p99 ?? null)}, peak RSS ${fmtRatio(r.peakRss ?? null)}`
    : `  ${labelByName(r.subject)} / ${labelByName(r.versus)}: RSS growth per connection ${fmtRatio(r.perConnection ?? null)}, peak RSS ${
      fmtRatio(r.peakRss ?? null)
    }`

const scenarioReport = (
  scenario: Scenario,
  summaries: ReadonlyMap<string, Summary>,
  failures: ReadonlyMap<string, string>,
  servers: ReadonlyArray<ServerDef>
): string => {
  const lines = [`${scenario.name}: ${scenario.title}`, `  measures: ${scenario.measures}`]
  const rows: Array<Array<string>> = []
  if (scenario.kind === "load") {
    rows.push(["server", "req/s (median)", "spread", "p50", "p99", "peak RSS", "server CPU", "CPU-s/100k req", "errors"])
    for (const def of servers) {
      const s = summaries.get(def.name)
      if (s?.kind === "load") {
        rows.push([
          labelOf(def),
          fmtInt(s.rps),
          fmtPct(s.rpsSpread),
          fmtMs(s.p50Ms),
          fmtMs(s.p99Ms),
          fmtMiB(s.peakRss),
          fmtCpu(s.cpuUse),
          fmtSeconds(s.cpuPer100k),
          fmtInt(s.errors)
        ])
      } else {
        rows.push([labelOf(def), "failed"])
      }
    }
  } else {
    rows.push(["server", "RSS growth/conn", "RSS before", "RSS after", "open conns", "server fds", "peak RSS"])
    for (const def of servers) {
      const s = summaries.get(def.name)
      if (s?.kind === "idle") {
        const open = s.closedByServer > 0 ? `${fmtInt(s.opened)} (${s.closedByServer} closed)` : fmtInt(s.opened)
        rows.push([labelOf(def), fmtKiB(s.perConnection), fmtMiB(s.rssBefore), fmtMiB(s.rssAfter), open, fmtInt(s.fdsAfter), fmtMiB(s.peakRss)])
      } else {
        rows.push([labelOf(def), "failed"])
      }
    }
  }
  lines.push(table(rows))
  for (const def of servers) {
    const failure = failures.get(def.name)
    if (failure !== undefined) lines.push(`  ${labelOf(def)} failed${summaries.has(def.name) ? " in some rounds" : ""}: ${oneLine(failure)}`)
  }
  const ratios = ratiosFor(summaries)
  for (const r of ratios) lines.push(ratioLine(scenario, r))
  if (ratios.length === 0) lines.push("  no ratios (no result for ours or its peers)")
  if (scenario.kind === "load" && scenario.pipeline > 1) {
    lines.push(`  (p50 and p99 are per batch of ${scenario.pipeline} pipelined requests; n/a where wrk reports none)`)
  }
  return lines.join("\n")
}

/** Every ratio of every scenario, one column per subject/peer pair that has a result. */
const summaryTable = (
  scenarios: ReadonlyArray<Scenario>,
  summaries: ReadonlyMap<string, ReadonlyMap<string, Summary>>
): string => {
  const byScenario = new Map(scenarios.map((s) => [s.name, ratiosFor(summaries.get(s.name) ?? new Map())]))
  const pairs = COMPARISONS.flatMap(({ subject, versus }) => versus.map((v) => ({ subject, versus: v }))).filter((pair) =>
    [...byScenario.values()].some((rs) => rs.some((r) => r.subject === pair.subject && r.versus === pair.versus))
  )
  const short = (name: string): string => labelByName(name).replace(/ \(Node [^)]*\)$/, "")
  const rows: Array<Array<string>> = [["scenario", "metric", ...pairs.map((p) => `${short(p.subject)} / ${short(p.versus)}`)]]
  for (const scenario of scenarios) {
    const ratios = byScenario.get(scenario.name) ?? []
    const metrics: ReadonlyArray<readonly [string, (r: Ratios) => number | null | undefined]> = scenario.kind === "load"
      ? [["req/s", (r) => r.rps], ["CPU/req", (r) => r.cpuPerRequest], ["p99", (r) => r.p99], ["peak RSS", (r) => r.peakRss]]
      : [["RSS/conn", (r) => r.perConnection], ["peak RSS", (r) => r.peakRss]]
    metrics.forEach(([metric, get], i) => {
      const cells = pairs.map((pair) => {
        const r = ratios.find((x) => x.subject === pair.subject && x.versus === pair.versus)
        return r === undefined ? "n/a" : fmtRatio(get(r) ?? null)
      })
      rows.push([i === 0 ? scenario.name : "", metric, ...cells])
    })
  }
  return pairs.length === 0 ? "  no ratios (no result for ours or its peers)" : table(rows)
}

/**
 * Each server's result in a scenario against its own in the scenario it is
 * read against (`readAgainst`: `chunked` against `hello`), when both ran.
 */
const againstTable = (
  scenarios: ReadonlyArray<Scenario>,
  summaries: ReadonlyMap<string, ReadonlyMap<string, Summary>>,
  servers: ReadonlyArray<ServerDef>
): string | undefined => {
  const rows: Array<Array<string>> = [["scenario", "server", "req/s", "CPU per request"]]
  for (const scenario of scenarios) {
    if (scenario.kind !== "load" || scenario.readAgainst === undefined) continue
    const against = summaries.get(scenario.readAgainst)
    for (const def of servers) {
      const subject = summaries.get(scenario.name)?.get(def.name)
      const base = against?.get(def.name)
      if (subject?.kind !== "load" || base?.kind !== "load") continue
      rows.push([
        `${scenario.name} / ${scenario.readAgainst}`,
        labelOf(def),
        fmtRatio(ratio(subject.rps, base.rps)),
        fmtRatio(ratio(subject.cpuPer100k, base.cpuPer100k))
      ])
    }
  }
  return rows.length === 1 ? undefined : table(rows)
}

// ---------------------------------------------------------------------------
// Main

const main = async (): Promise<void> => {
  const startedAt = new Date()
  const loadAtStart = Os.loadavg()
  const skipped = new Map<string, string>()
  // The build is made even with --no-build: the peers under their own Node (which strips no types) run from it.
  const repoRoot = Path.dirname(benchDir)
  const build = buildServers(repoRoot, Path.join(benchDir, ".build"))
  const benchFailures = build.failures.filter((f) => f.startsWith(`bench${Path.sep}`))
  const srcFailures = build.failures.filter((f) => !f.startsWith(`bench${Path.sep}`))
  let buildNote = "servers run from their .ts files (--no-build)"
  if (benchFailures.length === 0) {
    builtDir = build.outDir
    if (!args["no-build"]) {
      buildDir = build.outDir
      buildNote = `servers run as type-stripped JavaScript from bench/.build (${build.files} files)`
      if (srcFailures.length > 0) {
        for (const def of SERVERS) if (def.usesSrc === true) skipped.set(def.name, `type stripping failed: ${srcFailures.join("; ")}`)
      }
    }
  } else {
    buildNote = `servers run from their .ts files (type stripping failed: ${benchFailures.join("; ")})`
  }
  if (selectedServers.some((s) => s.usesSrc === true)) {
    const reason = await oursUnavailable()
    if (reason !== undefined) {
      for (const def of SERVERS) if (def.usesSrc === true && !skipped.has(def.name)) skipped.set(def.name, reason)
    }
  }
  for (const def of selectedServers) {
    if (def.peer === undefined || skipped.has(def.name)) continue
    if (builtDir === undefined) {
      skipped.set(def.name, "it runs from the type-stripped build, which failed")
      continue
    }
    const runtime = preparePeer(Path.join(benchDir, "peers", def.peer.dir), def.peer.module, (line) => console.log(line))
    if ("unavailable" in runtime) skipped.set(def.name, runtime.unavailable)
    else runtimes.set(def.name, runtime)
  }
  for (const def of selectedServers) {
    if (def.entry === undefined || skipped.has(def.name)) continue
    try {
      lackingRoutes.set(def.name, await findLackingRoutes(def))
    } catch (error) {
      skipped.set(def.name, `could not be started to ask for its routes: ${oneLine(error instanceof Error ? error.message : String(error))}`)
    }
  }
  const servers = selectedServers.filter((s) => !skipped.has(s.name))
  if (servers.length === 0 || selectedScenarios.length === 0) {
    for (const [name, reason] of skipped) console.log(`skipping ${name}: ${reason}`)
    fail("nothing to run")
  }

  const loadRuns = selectedScenarios.filter((s) => s.kind === "load").length
  const idleRuns = selectedScenarios.length - loadRuns
  const startup = 0.6
  const estimate = options.rounds * servers.length * (
    (options.reuse ? startup : loadRuns * startup) +
    loadRuns * (0.2 + options.warmup + options.duration) +
    idleRuns * (startup + 2 + options.warmup + (2 * options.settleMs) / 1000)
  )

  console.log(`effect-httpserver benchmark${quick ? " (quick)" : ""}`)
  console.log(`  node ${process.version}, ${Os.cpus()[0]?.model ?? "unknown CPU"}, ${cpuCount} CPUs`)
  console.log(`  load generator: ${toolVersion}, 1 thread; ${placement.description}`)
  console.log(`  ${buildNote}`)
  console.log(
    `  ${options.rounds} round(s) x ${servers.length} server(s) x ${selectedScenarios.length} scenario(s); ` +
      `${options.warmup} s warm-up + ${options.duration} s measurement, ` +
      `${options.reuse ? "one server process per server and round for the load scenarios" : "a fresh server process each"}; ` +
      `about ${Math.ceil(estimate)} s`
  )
  for (const [name, reason] of skipped) console.log(`  skipping ${name}: ${reason}`)
  for (const def of servers) {
    const lacking = lackingRoutes.get(def.name) ?? new Set()
    const left = selectedScenarios.filter((s) => takesPart(s, def.name) && !joins(s, def)).map((s) => s.name)
    if (lacking.size > 0) {
      console.log(`  ${def.name} lacks ${[...lacking].join(", ")}: ${left.length > 0 ? `not run in ${left.join(", ")}` : "no selected scenario needs it"}`)
    }
  }
  const [load1] = Os.loadavg()
  if (load1 !== undefined && load1 > 0.5) {
    console.log(`  warning: load average ${load1.toFixed(2)}: other processes are using the CPUs, expect noisy numbers`)
  }
  console.log("")

  const runs = new Map<string, Map<string, Array<Run>>>()
  for (const scenario of selectedScenarios) {
    runs.set(scenario.name, new Map(servers.filter((s) => joins(scenario, s)).map((s) => [s.name, []])))
  }

  for (let round = 1; round <= options.rounds; round++) {
    // Rotate the order each round so that no server is always measured first.
    const shift = (round - 1) % servers.length
    const order = [...servers.slice(shift), ...servers.slice(0, shift)]
    const record = (scenario: Scenario, def: ServerDef, run: Run): void => {
      runs.get(scenario.name)?.get(def.name)?.push(run)
      console.log(progressLine(round, scenario, def, run))
    }
    const measure = async (scenario: Scenario, def: ServerDef): Promise<void> => {
      let run: Run
      try {
        run = scenario.kind === "load"
          ? await measureLoad(def, scenario, round)
          : await measureIdle(def, scenario, round)
      } catch (error) {
        run = { round, ok: false, error: error instanceof Error ? error.message : String(error) }
      }
      record(scenario, def, run)
    }
    if (options.reuse) {
      const loadScenarios = selectedScenarios.filter((s): s is LoadScenario => s.kind === "load")
      for (const def of order) {
        const own = loadScenarios.filter((s) => joins(s, def))
        await measureLoadSeries(def, own, round, (scenario, run) => record(scenario, def, run))
      }
      for (const scenario of selectedScenarios.filter((s) => s.kind === "idle")) {
        for (const def of order) if (joins(scenario, def)) await measure(scenario, def)
      }
    } else {
      for (const scenario of selectedScenarios) {
        for (const def of order) if (joins(scenario, def)) await measure(scenario, def)
      }
    }
  }

  const summaries = new Map<string, Map<string, Summary>>()
  const report: Array<string> = []
  const json: Array<unknown> = []
  for (const scenario of selectedScenarios) {
    const byServer = new Map<string, Summary>()
    const failures = new Map<string, string>()
    const results: Record<string, unknown> = {}
    const taking = servers.filter((def) => joins(scenario, def))
    for (const def of taking) {
      const serverRuns = runs.get(scenario.name)?.get(def.name) ?? []
      const summary = summarize(scenario, serverRuns)
      if (summary !== undefined) byServer.set(def.name, summary)
      const failed = serverRuns.find((r): r is FailedRun => !r.ok)
      if (failed !== undefined) failures.set(def.name, failed.error)
      results[def.name] = { label: labelOf(def), summary: summary ?? null, runs: serverRuns }
    }
    summaries.set(scenario.name, byServer)
    report.push(scenarioReport(scenario, byServer, failures, taking))
    json.push({ ...scenario, results, ratios: ratiosFor(byServer) })
  }

  const finishedAt = new Date()
  const elapsed = (finishedAt.getTime() - startedAt.getTime()) / 1000
  console.log("")
  console.log(report.join("\n\n"))
  console.log("")
  console.log("Ratios, subject / peer (req/s: higher is better; CPU per request, p99, RSS: lower is better)")
  console.log(summaryTable(selectedScenarios, summaries))
  const against = againstTable(selectedScenarios, summaries, servers)
  if (against !== undefined) {
    console.log("")
    console.log("Each server against itself in the scenario read against (chunked / hello: what streaming the answer costs)")
    console.log(against)
  }
  console.log("")
  console.log(`done in ${elapsed.toFixed(0)} s`)

  if (!args["no-json"]) {
    const dir = Path.join(benchDir, "results")
    Fs.mkdirSync(dir, { recursive: true })
    const file = Path.join(dir, `${startedAt.toISOString().replace(/[:.]/g, "-")}.json`)
    const document = {
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      elapsedSeconds: elapsed,
      machine: {
        node: process.version,
        platform: `${Os.type()} ${Os.release()} ${Os.arch()}`,
        cpu: Os.cpus()[0]?.model ?? null,
        cpus: cpuCount,
        placement: placement.description,
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: Os.loadavg()
      },
      tool: toolVersion,
      build: buildNote,
      options,
      servers: SERVERS.map((s) => ({
        ...s,
        node: runtimes.get(s.name)?.version ?? process.version,
        run: servers.includes(s),
        skipped: skipped.get(s.name) ?? (selectedServers.includes(s) ? null : "not selected"),
        lacksRoutes: [...lackingRoutes.get(s.name) ?? []]
      })),
      scenarios: json
    }
    Fs.writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`)
    console.log(`results: ${Path.relative(process.cwd(), file)}`)
  }
}

await main()
