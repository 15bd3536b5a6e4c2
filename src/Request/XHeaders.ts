/**
 * `--xheaders`: the client address and scheme a trusted reverse proxy reports,
 * with the semantics of Tornado's `_HTTPRequestContext._apply_xheaders`.
 *
 * @since 0.1.0
 */
import { isIP } from "node:net"
import type { HTTPHeaders } from "./HTTPHeaders.ts"
import { pythonStrip } from "./PythonWhitespace.ts"

/**
 * The connection as seen through the proxy headers.
 *
 * @since 0.1.0
 */
export interface XHeadersResult {
  readonly remoteIp: string
  readonly protocol: "http" | "https"
}

/**
 * Rewrites the remote IP and protocol of a request from proxy headers:
 *
 * - Remote IP: the `X-Forwarded-For` list (repeated fields joined with `,`) is
 *   walked from the right, entries trimmed, skipping those
 *   `isTrustedDownstream` accepts; the first other entry is taken (the leftmost
 *   one when all are trusted). `X-Real-Ip`, when present, overrides it. The
 *   result is used only if it is an IPv4 or IPv6 address (`node:net` `isIP`);
 *   otherwise the socket's address stays.
 * - Protocol: `X-Scheme`, else `X-Forwarded-Proto`; its last comma-separated
 *   value, trimmed, is used only if it is exactly `http` or `https`.
 *
 * Tornado validates with `getaddrinfo`, which also accepts legacy shorthand
 * such as `127.1` or `0x7f.1`; those are rejected here.
 *
 * @since 0.1.0
 */
export function applyXHeaders(
  connection: { readonly remoteIp: string; readonly protocol: "http" | "https" },
  headers: HTTPHeaders,
  isTrustedDownstream: (ip: string) => boolean
): XHeadersResult {
  let remoteIp = connection.remoteIp
  let ip = headers.get("X-Real-Ip")
  if (ip === undefined) {
    const forwarded = headers.get("X-Forwarded-For")
    ip = forwarded === undefined ? remoteIp : lastUntrusted(forwarded, isTrustedDownstream)
  }
  if (ip.length > 0 && !ip.includes("\u0000") && isIP(ip) !== 0) remoteIp = ip

  let protocol = connection.protocol
  const proto = headers.get("X-Scheme") ?? headers.get("X-Forwarded-Proto")
  if (proto !== undefined && proto.length > 0) {
    const last = pythonStrip(proto.slice(proto.lastIndexOf(",") + 1))
    if (last === "http" || last === "https") protocol = last
  }
  return { remoteIp, protocol }
}

/** From the right, the first entry that is not a trusted downstream; the leftmost if all are. */
function lastUntrusted(list: string, isTrustedDownstream: (ip: string) => boolean): string {
  let end = list.length
  for (;;) {
    const comma = end === 0 ? -1 : list.lastIndexOf(",", end - 1)
    const candidate = pythonStrip(list.slice(comma + 1, end))
    if (comma === -1 || !isTrustedDownstream(candidate)) return candidate
    end = comma
  }
}
