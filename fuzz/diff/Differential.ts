/**
 * The differential run: `count` generated inputs ({@link Generator}) read by
 * our parser and by each peer present (llhttp through `node:http`, h11),
 * every difference found ({@link compare}) and looked up in the table of
 * known differences (`Disagreements.ts`).
 */
import { compare, type Difference, type DifferenceKind } from "./Compare.ts"
import { classify, type KnownDifference } from "./Disagreements.ts"
import { Generator, type Input } from "./Generator.ts"
import { findH11Python, runH11 } from "./H11Peer.ts"
import { startLlhttpPeer } from "./LlhttpPeer.ts"
import { runOurs } from "./OurPeer.ts"
import type { Verdict } from "./Verdict.ts"

export type PeerName = "llhttp" | "h11"

export interface Found {
  readonly peer: PeerName
  readonly input: Input
  readonly ours: Verdict
  readonly theirs: Verdict
  readonly difference: Difference
  /** The table's entry for it; `undefined`: not explained (a failure). */
  readonly known: KnownDifference | undefined
}

export interface RunResult {
  readonly inputs: number
  readonly peers: ReadonlyArray<PeerName>
  readonly found: ReadonlyArray<Found>
}

export interface RunOptions {
  readonly count: number
  readonly seed: number
  /** Skip h11 even when present. */
  readonly withoutH11?: boolean
}

export const generateInputs = (count: number, seed: number): Array<Input> => {
  const generator = new Generator(seed)
  return Array.from({ length: count }, () => generator.next())
}

export const runDifferential = async (options: RunOptions): Promise<RunResult> => {
  const inputs = generateInputs(options.count, options.seed)
  const bytes = inputs.map((i) => i.bytes)
  const ours = bytes.map((b) => runOurs(b))
  const byPeer: Array<[PeerName, Array<Verdict>]> = []

  const llhttp = await startLlhttpPeer()
  try {
    byPeer.push(["llhttp", await llhttp.run(bytes)])
  } finally {
    await llhttp.close()
  }
  const python = options.withoutH11 === true ? undefined : findH11Python()
  if (python !== undefined) byPeer.push(["h11", await runH11(python, bytes)])

  const found: Array<Found> = []
  for (const [peer, verdicts] of byPeer) {
    verdicts.forEach((theirs, i) => {
      const difference = compare(ours[i]!, theirs)
      if (difference === undefined) return
      const input = inputs[i]!
      found.push({ peer, input, ours: ours[i]!, theirs, difference, known: classify(peer, difference, input.bytes) })
    })
  }
  return { inputs: inputs.length, peers: byPeer.map(([p]) => p), found }
}

/** A peer's reason with the bytes it quotes and its numbers taken out, so that one rule gives one key. */
export const detailKey = (detail: string): string =>
  detail
    .replace(/bytearray\(b(['"]).*?\1\)/g, "…")
    .replace(/b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*"/g, "…")
    .replace(/\d+/g, "N")
    .slice(0, 120)

export interface Summary {
  readonly kind: DifferenceKind
  readonly peer: PeerName
  readonly key: string
  readonly rule: string | undefined
  readonly count: number
  readonly example: Found
}

/** The differences grouped by peer, kind and reason. */
export const summarize = (found: ReadonlyArray<Found>): Array<Summary> => {
  const groups = new Map<string, { count: number; example: Found }>()
  for (const f of found) {
    const key = `${f.peer}\u0000${f.difference.kind}\u0000${f.known?.id ?? "?"}\u0000${detailKey(f.difference.detail)}`
    const g = groups.get(key)
    if (g === undefined) groups.set(key, { count: 1, example: f })
    else g.count++
  }
  return [...groups.entries()]
    .map(([key, g]) => {
      const [peer, kind, , detail] = key.split("\u0000") as [PeerName, DifferenceKind, string, string]
      return { kind, peer, key: detail, rule: g.example.known?.id, count: g.count, example: g.example }
    })
    .sort((a, b) => a.kind.localeCompare(b.kind) || b.count - a.count)
}
