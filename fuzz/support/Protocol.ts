/**
 * The buffer the fuzz loop shares with its watchdog thread
 * (`Watchdog.ts`): before each execution the loop copies the input there
 * and sets the running flag, so that when an execution hangs the watchdog
 * finds the input.
 *
 * Layout: Int32 [0] executions, [1] input length, [2] running flag; the
 * input's bytes from byte {@link SHARED_HEADER}.
 */

/** Bytes before the input in the shared buffer. */
export const SHARED_HEADER = 16

export interface WatchdogInput {
  readonly shared: SharedArrayBuffer
  readonly hangMillis: number
  readonly crashDir: string
}
