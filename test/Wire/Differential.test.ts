/**
 * A bounded slice of the differential run (`fuzz/diff/`, the full run is
 * `npm run fuzz:diff`): generated requests, mutated where parsers decide how
 * a message is framed, read by our parser and by llhttp (a real `node:http`
 * server on loopback) and, where Python has it, h11. Our parser must never
 * read a message boundary differently from a peer (how many requests, which
 * bodies), and every accept/reject difference must be one of the table's,
 * each with the RFC rule that decides it.
 */
import { describe, expect, it } from "@effect/vitest"
import { compare } from "../../fuzz/diff/Compare.ts"
import { type Found, runDifferential } from "../../fuzz/diff/Differential.ts"
import { classify, FIXED, KNOWN } from "../../fuzz/diff/Disagreements.ts"
import { startLlhttpPeer } from "../../fuzz/diff/LlhttpPeer.ts"
import { runOurs } from "../../fuzz/diff/OurPeer.ts"

const SLICE = 1500
const SEED = 20_260_407

const show = (f: Found) =>
  `${f.peer} ${f.difference.kind}: ${f.difference.detail}\n  input ${JSON.stringify(f.input.bytes.toString("latin1").slice(0, 200))}`

describe("differential run against llhttp and h11", () => {
  it(`${SLICE} generated inputs: no boundary disagreement, every other difference in the table`, async () => {
    const result = await runDifferential({ count: SLICE, seed: SEED })
    expect(result.inputs).toBe(SLICE)
    expect(result.peers).toContain("llhttp")
    const boundary = result.found.filter((f) => f.difference.kind === "boundary")
    expect(boundary.map(show)).toEqual([])
    const unexplained = result.found.filter((f) => f.known === undefined)
    expect(unexplained.map(show)).toEqual([])
    // The slice reaches the rules, both ways: a run that meets none would prove nothing.
    const hit = new Set(result.found.map((f) => f.known?.id))
    for (const id of ["chunk-ext-grammar", "request-line-limit", "host", "chunk-ext-bws", "unknown-method"]) {
      expect(hit, id).toContain(id)
    }
  }, 120_000)

  it("the issue's examples: ours and llhttp now agree on each", async () => {
    const llhttp = await startLlhttpPeer()
    try {
      const post = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      const get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
      const inputs = [
        post + "5;a=\"b\r\nhello\r\n0\r\n\r\n", // an unclosed quoted-string
        post + "5 \r\nhello\r\n0\r\n\r\n", // whitespace after a size, then CRLF
        post + "5\r\nhello\r\n0;\r\n\r\n", // ";" without a name
        post + "5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", // bytes after a closing quote
        get + "\x00" + get // a stray byte between requests
      ].map((s) => Buffer.from(s, "latin1"))
      const theirs = await llhttp.run(inputs)
      inputs.forEach((input, i) => {
        const ours = runOurs(input)
        expect(ours.end, JSON.stringify(input.toString("latin1"))).toBe("rejected")
        expect(compare(ours, theirs[i]!), JSON.stringify(input.toString("latin1"))).toBeUndefined()
      })
    } finally {
      await llhttp.close()
    }
  })

  it("the table: unique ids, each entry with its RFC rule and reason; a boundary difference is never explained", () => {
    expect(new Set(KNOWN.map((k) => k.id)).size).toBe(KNOWN.length)
    for (const k of [...KNOWN, ...FIXED]) expect(k.rule, k.id).toMatch(/^RFC \d+ §/)
    for (const k of KNOWN) {
      expect(k.kind, k.id).not.toBe("boundary")
      expect(k.why.length, k.id).toBeGreaterThan(40)
    }
    const boundary = { kind: "boundary" as const, at: 0, detail: "ours 1 request, theirs 2" }
    expect(classify("llhttp", boundary, Buffer.from("GET / HTTP/1.1\r\n\r\n"))).toBeUndefined()
  })
})
