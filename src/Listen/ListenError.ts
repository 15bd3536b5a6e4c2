/**
 * The one error for a socket that could not be bound or listened on: it
 * names the address (or file descriptor) that failed and says why in words,
 * with the system's error code.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * The option of the server's config a listen failure is about: the host
 * (not an address of this machine, not found), the port (in use, needs
 * privileges), the Unix socket path, or none (an inherited socket).
 *
 * @since 0.1.0
 * @category models
 */
export type ListenOption = "host" | "port" | "unixSocket" | undefined

/** What the system's codes mean, for someone who has to fix it. */
const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: "address already in use",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EADDRNOTAVAIL: "not an address of this machine",
  EAFNOSUPPORT: "address family not supported here",
  ENOTFOUND: "host name not found",
  EAI_AGAIN: "host name lookup failed (temporary failure)",
  EAI_FAIL: "host name lookup failed",
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is not a directory",
  ENAMETOOLONG: "path too long",
  EINVAL: "invalid argument",
  EBADF: "not an open file descriptor",
  ENOTSOCK: "not a socket"
}

const codeOf = (cause: unknown): string | undefined => {
  const code = (cause as { code?: unknown } | undefined)?.code
  return typeof code === "string" ? code : undefined
}

/**
 * The server could not listen: the address is in use, permission is denied,
 * the host is not this machine's, the socket path is taken by a regular
 * file, ...
 *
 * Its message is one line, e.g.
 * `cannot listen on 127.0.0.1:8888: EADDRINUSE (address already in use)`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ListenError extends Data.TaggedError("ListenError")<{
  /** What failed: `127.0.0.1:8888`, `[::1]:8888`, `unix:/run/app.sock`, `fd 3`. */
  readonly address: string
  /** The option the failure is about (see {@link ListenOption}). */
  readonly option: ListenOption
  /** The system's error, or an `Error` saying what was found. */
  readonly cause: unknown
  /** Why, in words, when it is known better than the system's code says it. */
  readonly reason?: string | undefined
}> {
  /** The system's error code (`EADDRINUSE`, ...), if there is one. */
  get code(): string | undefined {
    return codeOf(this.cause)
  }

  override get message() {
    const code = this.code
    const reason = this.reason ?? (code === undefined ? undefined : REASONS[code]) ?? (this.cause as Error | undefined)?.message
    const why = reason === undefined ? code : code === undefined ? reason : `${code} (${reason})`
    return `cannot listen on ${this.address}${why === undefined || why === "" ? "" : `: ${why}`}`
  }
}
