/**
 * The inputs of the differential run: one connection's bytes each, a valid
 * request (and often a second one pipelined after it) with one to three
 * mutations on the spots where parsers decide how a message is framed:
 * the request line, Host, Content-Length and Transfer-Encoding (names and
 * values), whitespace and obs-fold, line ends and control bytes, chunk
 * sizes, extensions, data ends and trailers, and the bytes between two
 * requests; now and then a byte-level mutation of the fuzzer's
 * (`fuzz/support/Mutator.ts`) on top. Seeded: the same seed gives the same
 * inputs.
 */
import { DICTIONARY, mutate, Random } from "../support/Mutator.ts"

/** A request under construction: the request line's parts, header lines (without line ends), the body as sent. */
interface Draft {
  method: string
  sp1: string
  target: string
  sp2: string
  version: string
  /** The line end of the request line and of each header line, unless a line sets its own. */
  eol: string
  headers: Array<string>
  /** The body bytes as sent (framing included: chunked lines and all). */
  body: string
  /** Chunked body parts, joined into `body` when the draft is written out. */
  chunked: ChunkedDraft | undefined
}

interface ChunkedDraft {
  chunks: Array<{ size: string; ext: string; data: string; dataEnd: string }>
  last: string
  trailers: Array<string>
  end: string
}

/** One generated input: its bytes and the spots that were mutated. */
export interface Input {
  readonly bytes: Buffer
  readonly spots: ReadonlyArray<string>
}

const pickWeighted = <A>(random: Random, items: ReadonlyArray<readonly [number, A]>): A => {
  let total = 0
  for (const [w] of items) total += w
  let r = random.below(total)
  for (const [w, a] of items) {
    if (r < w) return a
    r -= w
  }
  return items[items.length - 1]![1]
}

const baseDraft = (random: Random): Draft => {
  const kind = random.below(3)
  const draft: Draft = {
    method: kind === 0 ? random.pick(["GET", "HEAD", "DELETE", "OPTIONS"]) : random.pick(["POST", "PUT", "PATCH"]),
    sp1: " ",
    target: random.pick(["/", "/a", "/p?q=1", "/x/y.z"]),
    sp2: " ",
    version: random.chance(0.9) ? "HTTP/1.1" : "HTTP/1.0",
    eol: "\r\n",
    headers: ["Host: h"],
    body: "",
    chunked: undefined
  }
  if (random.chance(0.3)) draft.headers.push("User-Agent: d")
  if (kind === 1) {
    const body = random.pick(["hello", "x", "0123456789", "a=1&b=2"])
    draft.headers.push(`Content-Length: ${body.length}`)
    draft.body = body
  } else if (kind === 2) {
    draft.version = "HTTP/1.1"
    draft.headers.push("Transfer-Encoding: chunked")
    const count = 1 + random.below(3)
    const chunks = []
    for (let i = 0; i < count; i++) {
      const data = random.pick(["hello", "x", "abc", "0123456789abcdef"])
      chunks.push({ size: data.length.toString(16), ext: "", data, dataEnd: "\r\n" })
    }
    draft.chunked = { chunks, last: "0", trailers: [], end: "\r\n" }
  }
  if (random.chance(0.15)) draft.headers.push(random.pick(["Connection: keep-alive", "Connection: close"]))
  if (random.chance(0.3)) draft.headers.reverse()
  return draft
}

const writeDraft = (d: Draft): string => {
  let out = `${d.method}${d.sp1}${d.target}${d.sp2}${d.version}${d.eol}`
  for (const h of d.headers) out += h.endsWith("\n") || h.endsWith("\r") ? h : h + d.eol
  out += d.eol
  if (d.chunked !== undefined) {
    for (const c of d.chunked.chunks) out += `${c.size}${c.ext}\r\n${c.data}${c.dataEnd}`
    out += `${d.chunked.last}\r\n`
    for (const t of d.chunked.trailers) out += t.endsWith("\n") ? t : t + "\r\n"
    out += d.chunked.end
  } else {
    out += d.body
  }
  return out
}

const headerIndex = (d: Draft, name: string): number =>
  d.headers.findIndex((h) => h.toLowerCase().startsWith(name.toLowerCase()))

/** Sets (or adds) the value of the first header line named `name`. */
const setHeader = (d: Draft, name: string, line: string): void => {
  const i = headerIndex(d, name)
  if (i === -1) d.headers.push(line)
  else d.headers[i] = line
}

const long = (random: Random, c: string): string => c.repeat(random.pick([100, 1000, 8000, 8200, 9000]))

/** A mutation of one spot: changes the draft (or the written-out text, for the ones that work on bytes). */
type Spot = (random: Random, d: Draft) => void

const requestLine: Spot = (random, d) => {
  switch (random.below(6)) {
    case 0:
      d.method = random.pick(["get", "Get", "FOO", "M-SEARCH", "PROPFIND", "PURGE", "G@T", "GE T", "G\x00T", "", "QUERY", "GET\t"])
      break
    case 1:
      d.method = long(random, random.pick(["G", "A"]))
      break
    case 2:
      d.target = random.pick([
        "*",
        "http://h/x",
        "h:80",
        "/a b",
        "/#f",
        "/\x7f",
        "/\x80",
        "//",
        "/a?b#c",
        "",
        "/\t",
        "%",
        "http://h:80",
        "/\x00",
        "\\"
      ])
      break
    case 3:
      d.target = "/" + long(random, "a")
      break
    case 4:
      d.sp1 = random.pick([" ", "  ", "\t", "", " \t", "\x0b", "\x0c"])
      d.sp2 = random.pick([" ", "  ", "\t", "", "\r"])
      break
    default:
      d.version = random.pick([
        "HTTP/1.1",
        "HTTP/1.0",
        "http/1.1",
        "HTTP/1.10",
        "HTTP/2.0",
        "HTTP/1",
        "HTTP/0.9",
        "HTTP/1.1 ",
        "HTTP/1.2",
        "HTTP/3.0",
        "HTTP/11",
        "",
        "HTTP/1.1\t",
        "HTTPS/1.1",
        " HTTP/1.1"
      ])
  }
}

const host: Spot = (random, d) => {
  const i = headerIndex(d, "host")
  const line = random.pick([
    "",
    "Host: h\r\nHost: h",
    "Host: h\r\nHost: i",
    "Host:",
    "Host: h:80",
    "Host: [::1]:80",
    "Host: h h",
    "Host: h/p",
    "Host: h@i",
    "Host : h",
    "host: h",
    "HOST: h",
    "Host:\th",
    "Host: h\x00",
    "Host: \x80",
    "Host: h,i",
    " Host: h",
    "Host: h:",
    "Host: h:x"
  ])
  if (i === -1) d.headers.push(line)
  else if (line === "") d.headers.splice(i, 1)
  else d.headers[i] = line
}

const CL_VALUES = [
  "5",
  " 5",
  "5 ",
  "+5",
  "-5",
  "05",
  "5,5",
  "5, 5",
  "5,6",
  "0x5",
  "5\x00",
  "",
  "99999999999999999",
  "1e1",
  "5\t",
  "\t5",
  "5;",
  ",5",
  "5,",
  "0",
  "3",
  "7",
  "000000000000005",
  "0000000000000005",
  "5 5",
  "5\xa0",
  "\xa05"
]

const CL_NAMES = ["Content-Length", "content-length", "CONTENT-LENGTH", "Content-Length ", "Content_Length", "Content-Length\t", " Content-Length", "Content-Lengthx"]

const contentLength: Spot = (random, d) => {
  const name = random.chance(0.7) ? "Content-Length" : random.pick(CL_NAMES)
  const value = random.pick(CL_VALUES)
  const line = `${name}:${random.chance(0.8) ? " " : ""}${value}`
  switch (random.below(3)) {
    case 0:
      setHeader(d, "content-length", line)
      if (d.chunked === undefined && d.body === "") d.body = "hello"
      break
    case 1: // a second Content-Length line
      d.headers.push(line)
      if (d.chunked === undefined && d.body === "") d.body = "hello"
      break
    default: // Content-Length on a chunked request, or with a body not its length
      if (d.chunked === undefined) {
        d.headers.push("Transfer-Encoding: chunked")
        d.chunked = { chunks: [{ size: "5", ext: "", data: "hello", dataEnd: "\r\n" }], last: "0", trailers: [], end: "\r\n" }
        setHeader(d, "content-length", line)
      } else {
        d.headers.push(line)
      }
  }
}

const TE_VALUES = [
  "chunked",
  "Chunked",
  "CHUNKED",
  " chunked",
  "chunked ",
  "chunked\xa0",
  "gzip, chunked",
  "chunked, gzip",
  "identity",
  "identity, chunked",
  "chunked, chunked",
  "x-chunked",
  "chunked;q=1",
  "\tchunked",
  ",chunked",
  "chunked,",
  "chunked , ",
  "chunk",
  "chunked\x00",
  "chunked\x0b",
  "\"chunked\"",
  "gzip",
  "",
  "chunked,,",
  "deflate,chunked"
]

const TE_NAMES = ["Transfer-Encoding", "transfer-encoding", "TRANSFER-ENCODING", "Transfer-Encoding ", "Transfer_Encoding", " Transfer-Encoding", "Transfer-Encodings"]

const chunkedBody = (): ChunkedDraft => ({
  chunks: [{ size: "5", ext: "", data: "hello", dataEnd: "\r\n" }],
  last: "0",
  trailers: [],
  end: "\r\n"
})

const transferEncoding: Spot = (random, d) => {
  const name = random.chance(0.7) ? "Transfer-Encoding" : random.pick(TE_NAMES)
  const line = `${name}:${random.chance(0.85) ? " " : ""}${random.pick(TE_VALUES)}`
  if (d.chunked === undefined) {
    d.chunked = chunkedBody()
    const cl = headerIndex(d, "content-length")
    if (cl !== -1 && random.chance(0.7)) d.headers.splice(cl, 1)
  }
  switch (random.below(3)) {
    case 0:
      setHeader(d, "transfer-encoding", line)
      break
    case 1:
      d.headers.push(line)
      break
    default:
      setHeader(d, "transfer-encoding", line)
      if (random.chance(0.5)) d.version = "HTTP/1.0"
      else d.headers.push("Content-Length: " + random.pick(["0", "5", "10"]))
  }
}

const whitespace: Spot = (random, d) => {
  const i = random.below(d.headers.length + 1)
  switch (random.below(5)) {
    case 0: // obs-fold: a line starting with whitespace
      d.headers.splice(i, 0, random.pick([" x", "\tx", " chunked", " 5", " ", "\t"]))
      break
    case 1: // whitespace before a colon
      if (d.headers[i] !== undefined) d.headers[i] = d.headers[i]!.replace(":", random.pick([" :", "\t:", "  :"]))
      break
    case 2: // a header line of whitespace, or leading whitespace on the first
      d.headers.unshift(random.pick([" ", "\t", " X: y", "\tX: y"]))
      break
    case 3: // odd header lines
      d.headers.splice(i, 0, random.pick(["X", ": y", "X:", "X: y\x00z", "X: y\rz", "X:\x7fy", "X y: z", "X\x00: y", "\x80: y", "X: \x01"]))
      break
    default: // whitespace around a value
      if (d.headers[i] !== undefined) d.headers[i] = d.headers[i]!.replace(": ", random.pick([":", ":\t", ":  ", ": \t "])) + random.pick(["", " ", "\t", " \t"])
  }
}

const lineEnds: Spot = (random, d) => {
  const eol = random.pick(["\n", "\r", "\r\r\n", "\n\r", "\r\n\r", " \r\n", "\x00\r\n"])
  if (random.chance(0.3)) {
    d.eol = eol
    return
  }
  const i = random.below(d.headers.length + 1)
  if (i === d.headers.length) d.headers.push("X-E: 1" + eol)
  else d.headers[i] = d.headers[i]! + eol
}

/** A chunked body for the draft, made a plain chunked request first if it was not one. */
const chunkedOf = (d: Draft): ChunkedDraft => {
  if (d.chunked === undefined) {
    d.headers = d.headers.filter((h) => !h.toLowerCase().startsWith("content-length"))
    d.headers.push("Transfer-Encoding: chunked")
    d.version = "HTTP/1.1"
    d.chunked = chunkedBody()
  }
  return d.chunked
}

const chunkSize: Spot = (random, d) => {
  const c = chunkedOf(d)
  const target = random.chance(0.25) ? undefined : random.pick(c.chunks)
  const sizes = (n: number): Array<string> => {
    const hex = n.toString(16)
    return [hex, hex.toUpperCase(), "0" + hex, "000000000000" + hex, "0x" + hex, " " + hex, hex + " ", hex + "\t", "+" + hex, "-" + hex, hex + "g", (n + 1).toString(16), (n - 1).toString(16), "ffffffffffffffff", "1" + "0".repeat(15), hex + " \t", hex + "  ", hex + "\x00", "\t" + hex, ""]
  }
  if (target === undefined) c.last = random.pick(["0", "00", "000", "0 ", " 0", "0\t", "0x0", "+0", "-0", "0000000000000000", ""])
  else target.size = random.pick(sizes(target.data.length))
}

const EXTENSIONS = [
  ";a",
  ";a=b",
  ";a=\"b\"",
  ";a=\"b",
  ";a=\"b\\\"c\"",
  ";a=\"b\\",
  " ;a",
  "\t;a",
  "  ;a=b",
  "; a",
  ";\ta",
  ";a =b",
  ";a= b",
  ";a = b",
  ";=b",
  ";a=",
  ";a=b c",
  ";a=\"\x7f\"",
  ";a=\"\x01\"",
  ";a=\"\x80\"",
  ";;",
  ";",
  ";a,b",
  ";a=b;c=d",
  ";a=b ;c",
  ";a=b; c",
  ";a=\"b;c\"",
  ";a=\"b\r\"",
  ";a=\"b\"c",
  ";a=b\"",
  ";a@b",
  ";a=b@",
  ";a\x00",
  ";a=\"\"",
  ";a=\"\\x\"",
  " ",
  ";a ",
  ";a=b ",
  ";a=\"b\" ",
  ";a=b\t",
  ";a=\"b\"\t;c",
  ";" + "a".repeat(2000),
  ";a=\"" + "b".repeat(1100) + "\""
]

const chunkExtension: Spot = (random, d) => {
  const c = chunkedOf(d)
  const ext = random.pick(EXTENSIONS)
  if (random.chance(0.25)) c.last = c.last + ext
  else random.pick(c.chunks).ext = ext
}

const chunkDataEnd: Spot = (random, d) => {
  if (d.chunked === undefined) return chunkSize(random, d)
  random.pick(d.chunked.chunks).dataEnd = random.pick(["\n", "\r", "", "xx\r\n", "\r\n\r\n", "\r\r\n", " \r\n", "\n\r"])
}

const trailers: Spot = (random, d) => {
  if (d.chunked === undefined) return chunkSize(random, d)
  const t = random.pick([
    "X: y",
    "X:y",
    "X : y",
    " X: y",
    "X",
    ": y",
    "X: \x00",
    "X: y\n",
    "Content-Length: 5",
    "Transfer-Encoding: chunked",
    "X: y\r",
    "X\x80: y",
    "X: \x80",
    "X:\ty\t",
    "X: y\r\n Z",
    "\tX: y",
    "X: " + "v".repeat(9000)
  ])
  d.chunked.trailers.push(t)
  if (random.chance(0.2)) d.chunked.end = random.pick(["\n", "", "\r", "\r\n\r\n", " \r\n"])
}

const SEPARATORS = ["", "\r\n", "\n", "\r\n\r\n", "\n\n", " ", "\r", "\x00", "x", "\t\r\n", "\r\n\r\n\r\n", " \r\n", "\r\r\n", "\r\n ", "\x0b", "\xff"]

const SPOTS: ReadonlyArray<readonly [number, string, Spot]> = [
  [3, "request-line", requestLine],
  [2, "host", host],
  [3, "content-length", contentLength],
  [3, "transfer-encoding", transferEncoding],
  [2, "whitespace", whitespace],
  [2, "line-ends", lineEnds],
  [3, "chunk-size", chunkSize],
  [3, "chunk-extension", chunkExtension],
  [2, "chunk-data-end", chunkDataEnd],
  [2, "trailers", trailers]
]

/** The generator: `next()` gives the next input of the seeded sequence. */
export class Generator {
  private readonly random: Random
  private readonly corpus: Array<Buffer> = []

  constructor(seed: number) {
    this.random = new Random(seed)
  }

  next(): Input {
    const random = this.random
    const spots: Array<string> = []
    const first = baseDraft(random)
    const rounds = 1 + random.below(3)
    for (let r = 0; r < rounds; r++) {
      const [, name, spot] = pickWeighted(random, SPOTS.map((s) => [s[0], s] as const))
      spot(random, first)
      spots.push(name)
    }
    let text = writeDraft(first)
    if (random.chance(0.1)) {
      spots.push("before-request")
      text = random.pick(SEPARATORS) + text
    }
    if (random.chance(0.5)) {
      const separator = random.chance(0.5) ? "" : random.pick(SEPARATORS)
      if (separator !== "") spots.push("between-requests")
      const second = baseDraft(random)
      if (random.chance(0.2)) {
        const [, name, spot] = pickWeighted(random, SPOTS.map((s) => [s[0], s] as const))
        spot(random, second)
        spots.push(`second:${name}`)
      }
      text += separator + writeDraft(second)
    } else if (random.chance(0.15)) {
      spots.push("after-request")
      text += random.pick(SEPARATORS)
    }
    let bytes: Buffer = Buffer.from(text, "latin1")
    if (random.chance(0.12)) {
      spots.push("bytes")
      bytes = mutate(random, bytes, this.corpus, { maxLength: 20_000 })
    } else if (random.chance(0.05)) {
      spots.push("token")
      const token = random.pick(DICTIONARY)
      const at = random.below(bytes.length + 1)
      bytes = Buffer.concat([bytes.subarray(0, at), token, bytes.subarray(at)])
    }
    if (this.corpus.length < 64) this.corpus.push(bytes)
    return { bytes, spots }
  }
}
