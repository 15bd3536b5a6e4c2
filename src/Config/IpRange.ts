/**
 * IP addresses and CIDR ranges, as used by `trustedDownstream`.
 *
 * An entry is an IPv4 or IPv6 address (`10.0.0.1`, `::1`) or a CIDR range
 * (`10.0.0.0/8`, `fd00::/8`). Matching uses node:net's `BlockList`, so an
 * IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a dual-stack socket
 * reports for an IPv4 peer) matches an IPv4 range, and the reverse.
 *
 * @since 0.1.0
 */
import { BlockList, isIP } from "node:net"

/**
 * A parsed address or range. An exact address has the full prefix length
 * (32 for IPv4, 128 for IPv6).
 *
 * @since 0.1.0
 * @category models
 */
export interface IpRange {
  /** The address family. */
  readonly family: 4 | 6
  /** The address part, as written. */
  readonly address: string
  /** Number of leading bits that must match. */
  readonly prefix: number
}

const PREFIX = /^\d{1,3}$/

/**
 * Parses an IP address or a CIDR range; `undefined` when `text` is neither.
 * Zone identifiers (`fe80::1%eth0`) are not accepted.
 *
 * @example
 * parseIpRange("10.0.0.0/8") // { family: 4, address: "10.0.0.0", prefix: 8 }
 * parseIpRange("::1")        // { family: 6, address: "::1", prefix: 128 }
 * parseIpRange("10.0.0.0/33") // undefined
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseIpRange = (text: string): IpRange | undefined => {
  const slash = text.indexOf("/")
  const address = slash === -1 ? text : text.slice(0, slash)
  const family = isIP(address)
  if ((family !== 4 && family !== 6) || address.includes("%")) return undefined
  const bits = family === 4 ? 32 : 128
  if (slash === -1) return { family, address, prefix: bits }
  const prefixText = text.slice(slash + 1)
  if (!PREFIX.test(prefixText)) return undefined
  const prefix = Number(prefixText)
  return prefix <= bits ? { family, address, prefix } : undefined
}

const familyName = (family: 4 | 6): "ipv4" | "ipv6" => family === 4 ? "ipv4" : "ipv6"

/**
 * Builds a predicate telling whether an IP address is one of `entries` or
 * inside one of their ranges. Entries that do not parse are ignored (validate
 * them first, as the `ServerConfig` schema does); an `ip` that is not an IP
 * address never matches. A zone identifier on `ip` is ignored.
 *
 * @example
 * const trusted = makeIpMatcher(["10.0.0.0/8", "::1"])
 * trusted("10.1.2.3")        // true
 * trusted("::ffff:10.0.0.1") // true
 * trusted("192.168.0.1")     // false
 *
 * @since 0.1.0
 * @category matching
 */
export const makeIpMatcher = (entries: ReadonlyArray<string>): (ip: string) => boolean => {
  const list = new BlockList()
  let empty = true
  for (const entry of entries) {
    const range = parseIpRange(entry)
    if (range === undefined) continue
    list.addSubnet(range.address, range.prefix, familyName(range.family))
    empty = false
  }
  return (ip) => {
    if (empty) return false
    const zone = ip.indexOf("%")
    const address = zone === -1 ? ip : ip.slice(0, zone)
    const family = isIP(address)
    if (family !== 4 && family !== 6) return false
    return list.check(address, familyName(family))
  }
}
