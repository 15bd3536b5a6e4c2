/**
 * The docs' option tables, made from the registry (`src/Config/ServerOptions.ts`):
 * README's table of the command's options and ARCHITECTURE's table of
 * `ServerConfig`, each between `<!-- options:NAME ... -->` and
 * `<!-- /options -->`. `test/Config/ServerOptions.test.ts` holds the docs to
 * them; after adding an option, `node scripts/option-tables.ts --write`
 * (through `npx`) rewrites both.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { defaultText, flagOf, flagUsage, OPTION_ENTRIES, TEXT_OPTIONS, variableOf } from "../src/Config/ServerOptions.ts"

const ROOT = Path.join(import.meta.dirname, "..")

const code = (text: string) => `\`${text.replaceAll("|", "\\|")}\``
const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  [header, header.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n")

/** README's table: the options the command line takes (flag, variable, meaning, default). */
export const commandTable = (): string =>
  table(
    ["option", "variable", "meaning", "default"],
    TEXT_OPTIONS.filter((option) => option.commandLine).map((option) => [
      code(flagUsage(option)),
      code(variableOf(option.path)),
      option.help,
      defaultText(option)
    ])
  )

/** ARCHITECTURE's table: every option of `ServerConfig` (name, default, flag, variable, meaning). */
export const configTable = (): string =>
  table(
    ["option", "default", "flag", "variable", "meaning"],
    OPTION_ENTRIES.map((entry) => {
      const text = entry.form.text !== undefined
      return [
        code(entry.path),
        defaultText(entry),
        text && entry.commandLine ? code(flagOf(entry.path)) : "",
        text && entry.environment ? code(variableOf(entry.path)) : "",
        entry.help
      ]
    })
  )

const pattern = (name: string) => new RegExp(`(<!-- options:${name}[^>]*-->\\n)([\\s\\S]*?)(\\n<!-- /options -->)`)

/** The table named `name` in a doc of the repository. */
export const tableIn = (file: string, name: string): string =>
  pattern(name).exec(Fs.readFileSync(Path.join(ROOT, file), "utf8"))?.[2] ?? `no options:${name} table in ${file}`

const write = (file: string, name: string, made: string) => {
  const path = Path.join(ROOT, file)
  Fs.writeFileSync(path, Fs.readFileSync(path, "utf8").replace(pattern(name), (_, open, __, close) => open + made + close))
}

if (process.argv.includes("--write")) {
  write("README.md", "command", commandTable())
  write("docs/ARCHITECTURE.md", "config", configTable())
}
