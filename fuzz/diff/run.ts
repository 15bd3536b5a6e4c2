/**
 * The differential run from the command line:
 *
 * ```sh
 * npm run fuzz:diff                          # 22,000 inputs, seed 1
 * npm run fuzz:diff -- --count 5000 --seed 7
 * npm run fuzz:diff -- --all                 # list every difference, not one example per class
 * ```
 *
 * Prints the differences by peer, kind and reason, each with the table
 * entry that explains it and an example input; exits 1 when one is a
 * boundary disagreement or is not in the table.
 */
import { runDifferential, summarize } from "./Differential.ts"

const args = process.argv.slice(2)
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`)
  if (at === -1) return fallback
  const value = Number(args[at + 1])
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`--${name} needs a whole number, got ${JSON.stringify(args[at + 1])}`)
    process.exit(2)
  }
  return value
}
const count = option("count", 22_000)
const seed = option("seed", 1)
const all = args.includes("--all")

const started = performance.now()
const result = await runDifferential({ count, seed })
const seconds = ((performance.now() - started) / 1000).toFixed(1)

/** The input as a JSON string, DEL and bytes above 0x7e escaped too (a terminal would hide them). */
const show = (bytes: Buffer) =>
  JSON.stringify(bytes.toString("latin1").slice(0, 300)).replace(
    /[\x7f-\xff]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16)}`
  )
let failures = 0
for (const s of summarize(result.found)) {
  const bad = s.kind === "boundary" || s.rule === undefined
  if (bad) failures += s.count
  console.log(`${bad ? "FAIL" : "ok  "} ${s.peer} ${s.kind} x${s.count} [${s.rule ?? "not in the table"}] ${s.key}`)
  console.log(`       e.g. ${show(s.example.input.bytes)} (${s.example.input.spots.join(", ")})`)
  if (s.kind === "boundary" || s.rule === undefined) console.log(`       ${s.example.difference.detail}`)
}
if (all) {
  for (const f of result.found) {
    console.log(`${f.peer} ${f.difference.kind} [${f.known?.id ?? "?"}] ${f.difference.detail} ${show(f.input.bytes)}`)
  }
}
const byKind = (kind: string) => result.found.filter((f) => f.difference.kind === kind).length
console.log(
  `\n${result.inputs} inputs (seed ${seed}) against ours and ${result.peers.join(", ")} in ${seconds} s: ` +
    `${byKind("boundary")} boundary, ${byKind("ours-rejects")} ours-rejects, ${byKind("ours-accepts")} ours-accepts; ` +
    `${failures} failing`
)
process.exit(failures === 0 ? 0 : 1)
