/**
 * Coverage feedback from V8's block coverage, read through `node:inspector`
 * on the running isolate (`Profiler.startPreciseCoverage` with
 * `callCount` and `detailed`; `Profiler.takePreciseCoverage` returns the
 * counts since the last call and resets them).
 *
 * V8 reports, per function, nested source ranges with execution counts, and
 * leaves out a block whose count equals its parent's. So the blocks are
 * catalogued as they show up (every block shows up the first time its count
 * differs from its parent's, e.g. 0 when not taken), and for each execution
 * each catalogued block gets the count of the innermost reported range that
 * contains it. A feature is a block with its count in a power-of-two bucket
 * (AFL's hit-count classes): an input is kept when it shows a feature never
 * seen before.
 */
import { Session } from "node:inspector"

interface Range {
  readonly startOffset: number
  readonly endOffset: number
  readonly count: number
}

interface ScriptCoverage {
  readonly url: string
  readonly functions: ReadonlyArray<{ readonly ranges: ReadonlyArray<Range> }>
}

/** The hit-count class of a count: 0 for none, then 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+. */
const bucket = (count: number): number =>
  count === 0
    ? 0
    : count <= 3
    ? count
    : count <= 7
    ? 4
    : count <= 15
    ? 5
    : count <= 31
    ? 6
    : count <= 127
    ? 7
    : 8

export class Coverage {
  private readonly session = new Session()
  private readonly isTarget: (url: string) => boolean
  /** Known blocks per script, as `[start, end, id]`. */
  private readonly blocks = new Map<string, Array<readonly [number, number, number]>>()
  private readonly blockIds = new Map<string, number>()
  private readonly seen = new Set<number>()
  /** Blocks of the targets ever executed. */
  private readonly covered = new Set<number>()

  constructor(isTarget: (url: string) => boolean) {
    this.isTarget = isTarget
    this.session.connect()
    this.post("Profiler.enable")
    this.post("Profiler.startPreciseCoverage", { callCount: true, detailed: true })
  }

  private post(method: string, params: object = {}): unknown {
    let result: unknown
    let failure: Error | null = null
    let answered = false
    this.session.post(method, params, (error, value) => {
      failure = error
      result = value
      answered = true
    })
    // A session on the isolate's own thread answers synchronously.
    if (!answered) throw new Error(`inspector did not answer ${method} synchronously`)
    if (failure !== null) throw failure
    return result
  }

  /** Features seen so far. */
  get featureCount(): number {
    return this.seen.size
  }

  /** Blocks of the target scripts known, and executed at least once. */
  get blockCounts(): { readonly known: number; readonly covered: number } {
    return { known: this.blockIds.size, covered: this.covered.size }
  }

  /** The blocks of the target scripts seen but never executed, as script URL and source offsets. */
  uncovered(): Array<{ readonly url: string; readonly start: number; readonly end: number }> {
    const out: Array<{ url: string; start: number; end: number }> = []
    for (const [url, blocks] of this.blocks) {
      for (const [start, end, id] of blocks) if (!this.covered.has(id)) out.push({ url, start, end })
    }
    return out.sort((a, b) => a.url.localeCompare(b.url) || a.start - b.start)
  }

  /** Drops the counts gathered so far (e.g. of module loading). */
  reset(): void {
    this.post("Profiler.takePreciseCoverage")
  }

  /**
   * The features of what ran since the last call; returns how many were new
   * (and records them as seen when `record`).
   */
  collect(record = true): number {
    const { result } = this.post("Profiler.takePreciseCoverage") as { result: ReadonlyArray<ScriptCoverage> }
    let fresh = 0
    for (const script of result) {
      if (!this.isTarget(script.url)) continue
      const ranges: Array<Range> = []
      for (const fn of script.functions) for (const range of fn.ranges) ranges.push(range)
      let known = this.blocks.get(script.url)
      if (known === undefined) {
        known = []
        this.blocks.set(script.url, known)
      }
      for (const range of ranges) {
        const key = `${script.url}:${range.startOffset}:${range.endOffset}`
        if (!this.blockIds.has(key)) {
          const id = this.blockIds.size
          this.blockIds.set(key, id)
          known.push([range.startOffset, range.endOffset, id])
        }
      }
      for (const [start, end, id] of known) {
        let count = 0
        let span = Infinity
        for (const range of ranges) {
          if (range.startOffset <= start && end <= range.endOffset) {
            const s = range.endOffset - range.startOffset
            if (s < span) {
              span = s
              count = range.count
            }
          }
        }
        if (count === 0) continue
        this.covered.add(id)
        const feature = id * 16 + bucket(count)
        if (!this.seen.has(feature)) {
          fresh++
          if (record) this.seen.add(feature)
        }
      }
    }
    return fresh
  }
}
