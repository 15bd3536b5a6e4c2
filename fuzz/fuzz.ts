/**
 * A coverage-guided fuzzer for the request parser (`HeadReader` and
 * `HeadParser`, `BodyFramer` and `ChunkedDecoder`, driven as `HttpConnection`
 * drives them: `driver.ts`), and for the PROXY protocol header reader
 * (`ProxyHeader`: every input is also a `proxyProtocol` connection's first
 * bytes, its rest read as HTTP: `checkProxyHeader`).
 *
 * ```sh
 * npm run fuzz                        # 60 s
 * npm run fuzz -- --seconds 30 --seed 42
 * npm run fuzz -- --replay fuzz/crashes/untagged-throw-1a2b3c4d5e6f.bin
 * ```
 *
 * Feedback is V8's block coverage of those four modules, read through
 * `node:inspector` after every execution (`support/Coverage.ts`); inputs
 * are mutated bytewise and with HTTP tokens (`support/Mutator.ts`). Inputs
 * that reach new blocks (or new hit counts) join the corpus and are saved
 * in `fuzz/work/corpus/` (not committed; later runs start from them too),
 * next to the committed seeds in `fuzz/corpus/`.
 *
 * A finding is anything but a request or one of our tagged errors out of
 * the parser (a non-tagged throw, a broken contract between the pieces, a
 * request read differently when its bytes arrive cut differently: see
 * `driver.ts`), or one execution running longer than `--hang-ms` (seen by
 * `support/Watchdog.ts`). Each is saved as `fuzz/crashes/KIND-HASH.bin`
 * (the input) and `.txt` (what happened), and the run exits non-zero (1; a
 * hang kills the process: 137). Saved findings are replayed at the start of
 * every run, so a finding fails every run until it is fixed (then delete
 * its files).
 *
 * Options: `--seconds N` (60), `--seed N` (from the clock), `--hang-ms N`
 * (2000), `--max-length N` (16384 bytes), `--coverage-report` (list the
 * parser's blocks no input reached), `--replay FILE...`.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { Worker } from "node:worker_threads"
import "./support/hooks.ts"
import { Coverage } from "./support/Coverage.ts"
import { saveFinding, sha1 } from "./support/Findings.ts"
import { mutate, Random } from "./support/Mutator.ts"
import { SHARED_HEADER, type WatchdogInput } from "./support/Protocol.ts"

// The parser is imported once the module hooks are installed (a static
// import would be resolved before they are).
const Driver = await import("./driver.ts")

const fuzzDir = import.meta.dirname
const seedDir = Path.join(fuzzDir, "corpus")
const foundDir = Path.join(fuzzDir, "work", "corpus")
const crashDir = Path.join(fuzzDir, "crashes")

interface Options {
  seconds: number
  seed: number
  hangMillis: number
  maxLength: number
  replay: Array<string>
  coverageReport: boolean
}

const usage = "usage: npm run fuzz -- [--seconds N] [--seed N] [--hang-ms N] [--max-length N] [--coverage-report] " +
  "[--replay FILE...]"

const parseArgs = (argv: ReadonlyArray<string>): Options => {
  const options: Options = {
    seconds: 60,
    seed: Date.now() % 0x7fffffff,
    hangMillis: 2000,
    maxLength: 16384,
    replay: [],
    coverageReport: false
  }
  const number = (name: string, value: string | undefined): number => {
    const n = Number(value)
    if (value === undefined || !Number.isFinite(n) || n < 0) {
      process.stderr.write(`${name} needs a non-negative number\n${usage}\n`)
      process.exit(2)
    }
    return n
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === "--seconds") options.seconds = number(arg, argv[++i])
    else if (arg === "--seed") options.seed = Math.floor(number(arg, argv[++i]))
    else if (arg === "--hang-ms") options.hangMillis = number(arg, argv[++i])
    else if (arg === "--max-length") options.maxLength = Math.max(1, Math.floor(number(arg, argv[++i])))
    else if (arg === "--coverage-report") options.coverageReport = true
    else if (arg === "--replay") {
      options.replay.push(...argv.slice(i + 1))
      break
    } else if (arg === "--help" || arg === "-h") {
      process.stdout.write(`${usage}\n`)
      process.exit(0)
    } else {
      process.stderr.write(`unknown option ${arg}\n${usage}\n`)
      process.exit(2)
    }
  }
  return options
}

const readDir = (dir: string, suffix = ""): Array<{ name: string; data: Buffer }> => {
  if (!Fs.existsSync(dir)) return []
  return Fs.readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(suffix) && !entry.name.startsWith("."))
    .map((entry) => entry.name)
    .sort()
    .map((name) => ({ name: Path.relative(process.cwd(), Path.join(dir, name)), data: Fs.readFileSync(Path.join(dir, name)) }))
}

const print = (line: string) => process.stdout.write(`${line}\n`)

/** `--coverage-report`: the blocks of the parser never executed, with their line and source. */
const printUncovered = (coverage: InstanceType<typeof Coverage>) => {
  const blocks = coverage.uncovered()
  print(`${blocks.length} block(s) never executed:`)
  const sources = new Map<string, string>()
  for (const { end, start, url } of blocks) {
    const file = new URL(url).pathname
    let source = sources.get(file)
    if (source === undefined) {
      source = Fs.readFileSync(file, "utf8")
      sources.set(file, source)
    }
    const line = source.slice(0, start).split("\n").length
    const text = source.slice(start, Math.min(end, start + 100)).replace(/\s+/g, " ").trim()
    print(`  ${Path.relative(process.cwd(), file)}:${line}: ${text}${end - start > 100 ? " ..." : ""}`)
  }
}

/** `--replay`: each file through the harness, its outcome or finding printed. */
const replay = (files: ReadonlyArray<string>): number => {
  let failures = 0
  for (const file of files) {
    try {
      const data = Fs.readFileSync(file)
      const outcome = Driver.check(data)
      const afterProxyHeader = Driver.checkProxyHeader(data)
      print(`${file}: ${JSON.stringify(afterProxyHeader === undefined ? outcome : { outcome, afterProxyHeader }, null, 1)}`)
    } catch (error) {
      failures++
      print(`${file}: FINDING ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
    }
  }
  return failures === 0 ? 0 : 1
}

const fuzz = async (options: Options): Promise<number> => {
  const seeds = readDir(seedDir)
  const found = readDir(foundDir, ".bin")
  const regressions = readDir(crashDir, ".bin")
  if (seeds.length === 0) {
    process.stderr.write(`no seed corpus in ${seedDir}\n`)
    return 2
  }
  Fs.mkdirSync(foundDir, { recursive: true })
  print(
    `fuzzing the parser for ${options.seconds} s, seed ${options.seed}: ${seeds.length} seeds, ` +
      `${found.length} inputs found by earlier runs, ${regressions.length} saved findings to replay`
  )

  const shared = new SharedArrayBuffer(SHARED_HEADER + options.maxLength)
  const header = new Int32Array(shared, 0, 4)
  const bytes = new Uint8Array(shared, SHARED_HEADER)
  const watchdogInput: WatchdogInput = { shared, hangMillis: options.hangMillis, crashDir }
  const watchdog = new Worker(new URL("./support/Watchdog.ts", import.meta.url), { workerData: watchdogInput })
  await new Promise<void>((resolve, reject) => {
    watchdog.once("online", resolve)
    watchdog.once("error", reject)
  })
  watchdog.unref()

  const targets = [
    "/src/Wire/HeadReader.ts",
    "/src/Wire/HeadParser.ts",
    "/src/Wire/BodyFramer.ts",
    "/src/Wire/ChunkedDecoder.ts",
    "/src/Wire/ProxyHeader.ts"
  ]
  const coverage = new Coverage((url) => targets.some((t) => url.endsWith(t)))
  const random = new Random(options.seed)
  const corpus: Array<Buffer> = []
  const signatures = new Set<string>()
  const findings: Array<string> = []
  let execs = 0

  /** Runs one input; saves a finding the first time its signature is met. Returns the new features. */
  const execute = (data: Buffer, regression?: string): number => {
    bytes.set(data.subarray(0, bytes.length))
    Atomics.store(header, 1, Math.min(data.length, bytes.length))
    Atomics.store(header, 2, 1)
    let finding: { kind: string; message: string } | undefined
    try {
      Driver.check(data)
      Driver.checkProxyHeader(data)
    } catch (error) {
      finding = error instanceof Driver.Finding
        ? { kind: error.kind, message: error.message }
        : { kind: "harness-error", message: error instanceof Error ? error.stack ?? error.message : String(error) }
    }
    Atomics.store(header, 2, 0)
    Atomics.add(header, 0, 1)
    execs++
    const fresh = coverage.collect()
    if (finding !== undefined) {
      // One report per kind and first line of the message (quoted input bytes left out).
      const signature = `${finding.kind}|${finding.message.split("\n")[0]?.replace(/"(?:[^"\\]|\\.)*"/g, "\"\"")}`
      if (regression !== undefined || !signatures.has(signature)) {
        signatures.add(signature)
        const file = regression ?? saveFinding(crashDir, finding.kind, finding.message, data)
        const line = `${finding.kind} ${file}: ${finding.message.split("\n")[0] ?? ""}`
        findings.push(line)
        print(`FINDING ${line}`)
      }
    }
    return fresh
  }

  const started = Date.now()
  const deadline = started + options.seconds * 1000
  coverage.reset()
  for (const { data, name } of regressions) execute(data, name)
  for (const { data } of seeds) {
    const entry = data.subarray(0, options.maxLength)
    execute(entry)
    corpus.push(entry)
  }
  // Inputs of earlier runs that add nothing to the seeds and to each other are dropped (and deleted).
  let dropped = 0
  for (const { data, name } of found) {
    const entry = data.subarray(0, options.maxLength)
    if (execute(entry) > 0) corpus.push(entry)
    else {
      Fs.rmSync(name, { force: true })
      dropped++
    }
  }
  if (dropped > 0) print(`dropped ${dropped} inputs of earlier runs that add no coverage`)
  print(`corpus read: ${corpus.length} entries, ${coverage.featureCount} features, ${coverage.blockCounts.covered} blocks covered`)

  const summary = () => {
    const blocks = coverage.blockCounts
    return `${execs} execs, corpus ${corpus.length}, features ${coverage.featureCount}, ` +
      `blocks covered ${blocks.covered} of ${blocks.known} seen`
  }
  let nextStatus = Date.now() + 5000
  while (Date.now() < deadline) {
    // Favour recent finds a little: they are the frontier.
    const parent = corpus.length > 8 && random.chance(0.3)
      ? corpus[corpus.length - 1 - random.below(Math.ceil(corpus.length / 4))] as Buffer
      : random.pick(corpus)
    const child = mutate(random, parent, corpus, { maxLength: options.maxLength })
    if (execute(child) > 0) {
      corpus.push(child)
      Fs.writeFileSync(Path.join(foundDir, `${sha1(child)}.bin`), child)
    }
    if (Date.now() >= nextStatus) {
      nextStatus = Date.now() + 5000
      print(`  ${Math.round((Date.now() - started) / 1000)} s: ${summary()}`)
    }
  }
  await watchdog.terminate()
  const seconds = (Date.now() - started) / 1000
  print(`done in ${seconds.toFixed(1)} s (${Math.round(execs / seconds)} execs/s): ${summary()}`)
  if (options.coverageReport) printUncovered(coverage)
  if (findings.length === 0) {
    print("no findings")
    return 0
  }
  print(`${findings.length} finding(s), saved in ${Path.relative(process.cwd(), crashDir)}:`)
  for (const line of findings) print(`  ${line}`)
  return 1
}

const options = parseArgs(process.argv.slice(2))
process.exitCode = options.replay.length > 0 ? replay(options.replay) : await fuzz(options)
