import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { HTTPHeaders } from "../../src/Request/HTTPHeaders.ts"
import { applyXHeaders } from "../../src/Request/XHeaders.ts"

const socket = { remoteIp: "10.0.0.1", protocol: "http" } as const
const proxies = ["10.0.0.1", "10.0.0.2"]
const trusted = (list: ReadonlyArray<string>) => (ip: string) => list.includes(ip)

describe("applyXHeaders", () => {
  // [headers, trusted downstream, expected [remoteIp, protocol]], from Tornado's
  // _HTTPRequestContext._apply_xheaders with remote_ip 10.0.0.1 and protocol http.
  const table: ReadonlyArray<readonly [Array<string>, Array<string>, readonly [string, string]]> = [
    [[], [], ["10.0.0.1", "http"]],
    [["X-Forwarded-For", "1.2.3.4"], [], ["1.2.3.4", "http"]],
    [["X-Forwarded-For", "1.2.3.4, 5.6.7.8"], [], ["5.6.7.8", "http"]],
    [["X-Forwarded-For", "1.2.3.4, 10.0.0.2, 10.0.0.1"], proxies, ["1.2.3.4", "http"]],
    [["X-Forwarded-For", "10.0.0.2, 10.0.0.1"], proxies, ["10.0.0.2", "http"]],
    [["X-Forwarded-For", "1.2.3.4", "X-Forwarded-For", "5.6.7.8"], [], ["5.6.7.8", "http"]],
    [["X-Forwarded-For", "1.2.3.4", "X-Real-Ip", "4.4.4.4"], [], ["4.4.4.4", "http"]],
    [["X-Real-Ip", "::1"], [], ["::1", "http"]],
    [["X-Real-Ip", "2001:db8::1"], [], ["2001:db8::1", "http"]],
    [["X-Real-Ip", "bogus"], [], ["10.0.0.1", "http"]],
    [["X-Real-Ip", " 4.4.4.4"], [], ["10.0.0.1", "http"]],
    [["X-Forwarded-For", "bogus, 1.2.3.4"], [], ["1.2.3.4", "http"]],
    [["X-Forwarded-For", "1.2.3.4, bogus"], [], ["10.0.0.1", "http"]],
    [["X-Forwarded-For", ""], [], ["10.0.0.1", "http"]],
    [["X-Forwarded-For", "1.2.3.4,"], [], ["10.0.0.1", "http"]],
    [["X-Scheme", "https"], [], ["10.0.0.1", "https"]],
    [["X-Forwarded-Proto", "https"], [], ["10.0.0.1", "https"]],
    [["X-Forwarded-Proto", "http, https"], [], ["10.0.0.1", "https"]],
    [["X-Forwarded-Proto", "https , http "], [], ["10.0.0.1", "http"]],
    [["X-Forwarded-Proto", "HTTPS"], [], ["10.0.0.1", "http"]],
    [["X-Forwarded-Proto", "ftp"], [], ["10.0.0.1", "http"]],
    [["X-Scheme", "ftp", "X-Forwarded-Proto", "https"], [], ["10.0.0.1", "http"]],
    [["X-Scheme", "", "X-Forwarded-Proto", "https"], [], ["10.0.0.1", "http"]],
    [["x-forwarded-proto", "https", "x-real-ip", "4.4.4.4"], [], ["4.4.4.4", "https"]],
    [["X-Forwarded-For", "4.4.4.4, 10.0.0.1", "X-Forwarded-Proto", "https,"], proxies, ["4.4.4.4", "http"]]
  ]

  for (const [raw, downstream, [remoteIp, protocol]] of table) {
    it(`Tornado table: ${JSON.stringify(raw)} trusting ${JSON.stringify(downstream)}`, () => {
      expect(applyXHeaders(socket, HTTPHeaders.fromRaw(raw), trusted(downstream))).toEqual({ remoteIp, protocol })
    })
  }

  it("keeps an https connection's protocol unless told otherwise", () => {
    const tls = { remoteIp: "::1", protocol: "https" } as const
    expect(applyXHeaders(tls, HTTPHeaders.fromRaw([]), () => false)).toEqual({ remoteIp: "::1", protocol: "https" })
    expect(applyXHeaders(tls, HTTPHeaders.fromRaw(["X-Scheme", "http"]), () => false).protocol).toBe("http")
  })

  it("rejects what is not an address, including shorthand getaddrinfo would take", () => {
    for (const ip of ["127.1", "0x7f.0.0.1", "1", "[::1]", "1.2.3.4.5", "256.0.0.1", "1.2.3.4\u0000"]) {
      expect(applyXHeaders(socket, HTTPHeaders.fromRaw(["X-Real-Ip", ip]), () => false).remoteIp).toBe("10.0.0.1")
    }
  })

  it("walks a leading-comma list to its empty first entry without looping", () => {
    const headers = HTTPHeaders.fromRaw(["X-Forwarded-For", ",10.0.0.1"])
    expect(applyXHeaders(socket, headers, (ip) => ip === "" || ip === "10.0.0.1").remoteIp).toBe("10.0.0.1")
  })

  const octet = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 255 }))
  const ipv4 = Arbitrary.schema(Schema.Tuple([octet, octet, octet, octet])).pipe(Arbitrary.map((o) => o.join(".")))

  it.prop(
    "the client is the address just before the trusted proxies",
    {
      client: ipv4,
      chain: Arbitrary.array(ipv4, { maxLength: 4 }),
      trustedCount: Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3 })))
    },
    ({ chain, client, trustedCount }) => {
      const hops = [...chain, client]
      const proxiesAfter = Array.from({ length: trustedCount }, (_, i) => `fd00::${i}`)
      const list = [...hops, ...proxiesAfter].join(", ")
      const result = applyXHeaders(socket, HTTPHeaders.fromRaw(["X-Forwarded-For", list]), trusted(proxiesAfter))
      expect(result.remoteIp).toBe(client)
    }
  )
})
