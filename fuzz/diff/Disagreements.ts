import type { Difference } from "./Compare.ts"
import type { PeerName } from "./Differential.ts"

export interface KnownDifference {
  readonly id: string
}

export const KNOWN: ReadonlyArray<KnownDifference> = []

export const classify = (_peer: PeerName, _difference: Difference, _bytes: Buffer): KnownDifference | undefined => undefined
