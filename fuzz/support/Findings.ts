/**
 * Saving a finding: the input as `fuzz/crashes/KIND-HASH.bin`, and what
 * happened, with the command that replays it, as `.txt` next to it.
 */
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"

export const sha1 = (data: Uint8Array): string => createHash("sha1").update(data).digest("hex")

/** Saves a finding; returns the input's path relative to the working directory. */
export const saveFinding = (crashDir: string, kind: string, message: string, data: Uint8Array): string => {
  Fs.mkdirSync(crashDir, { recursive: true })
  const base = Path.join(crashDir, `${kind}-${sha1(data).slice(0, 12)}`)
  const file = Path.relative(process.cwd(), `${base}.bin`)
  Fs.writeFileSync(`${base}.bin`, data)
  Fs.writeFileSync(
    `${base}.txt`,
    `${message}\n\ninput (${data.length} bytes, as a Latin-1 JSON string): ` +
      `${JSON.stringify(Buffer.from(data).toString("latin1"))}\nreplay: npm run fuzz -- --replay ${file}\n`
  )
  return file
}
