/**
 * The fuzzer's watchdog, a worker thread: the parser runs synchronously on
 * the main thread, so an input that makes it loop can only be seen from
 * another thread. When one execution has been running longer than the
 * bound, the watchdog saves the input (from the shared buffer) as a `hang`
 * finding, says so on stderr (written directly: the main thread, which
 * relays a worker's output, is stuck), and kills the process (exit status
 * 137), since nothing else can stop a loop on the main thread.
 */
import * as Fs from "node:fs"
import { workerData } from "node:worker_threads"
import { saveFinding } from "./Findings.ts"
import { SHARED_HEADER, type WatchdogInput } from "./Protocol.ts"

const { crashDir, hangMillis, shared } = workerData as WatchdogInput
const header = new Int32Array(shared, 0, 4)
let seenExecs = -1
let seenAt = Date.now()

setInterval(() => {
  const execs = Atomics.load(header, 0)
  if (execs !== seenExecs) {
    seenExecs = execs
    seenAt = Date.now()
    return
  }
  if (Atomics.load(header, 2) === 1 && Date.now() - seenAt > hangMillis) {
    const length = Math.min(Atomics.load(header, 1), shared.byteLength - SHARED_HEADER)
    const data = Buffer.from(new Uint8Array(shared, SHARED_HEADER, length))
    const file = saveFinding(crashDir, "hang", `one execution ran longer than ${hangMillis} ms`, data)
    Fs.writeSync(2, `FINDING hang ${file}: one execution ran longer than ${hangMillis} ms; killing the fuzzer\n`)
    process.kill(process.pid, "SIGKILL")
  }
}, 100)
