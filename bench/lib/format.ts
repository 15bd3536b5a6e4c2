/** Number formatting and plain-text tables for the report. */

export const median = (values: ReadonlyArray<number>): number | null => {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** (max - min) / median, the spread of the rounds around their median. */
export const spread = (values: ReadonlyArray<number>): number | null => {
  const m = median(values)
  if (m === null || m === 0 || values.length < 2) return null
  return (Math.max(...values) - Math.min(...values)) / m
}

export const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b

const NA = "n/a"

export const fmtInt = (n: number | null): string => (n === null ? NA : Math.round(n).toLocaleString("en-US"))
export const fmtMs = (n: number | null): string => (n === null ? NA : `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`)
export const fmtMiB = (bytes: number | null): string => (bytes === null ? NA : `${(bytes / 1048576).toFixed(1)} MiB`)
export const fmtKiB = (bytes: number | null): string => (bytes === null ? NA : `${(bytes / 1024).toFixed(2)} KiB`)
export const fmtPct = (fraction: number | null): string => (fraction === null ? "" : `±${((fraction * 100) / 2).toFixed(1)}%`)
export const fmtRatio = (n: number | null): string => (n === null ? NA : `${n.toFixed(2)}x`)

/** Left-aligns the first column and right-aligns the others. */
export const table = (rows: ReadonlyArray<ReadonlyArray<string>>, indent = "  "): string => {
  const widths: Array<number> = []
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length)
    })
  }
  return rows
    .map((row) =>
      indent +
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join("  ")
        .trimEnd()
    )
    .join("\n")
}

/** CPU use as a percentage of one core. */
export const fmtCpu = (fraction: number | null): string => (fraction === null ? "n/a" : `${Math.round(fraction * 100)}%`)

/** CPU-seconds. */
export const fmtSeconds = (seconds: number | null): string => (seconds === null ? NA : `${seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1)} s`)
