/**
 * Byte-level mutations of HTTP/1.1 request streams: bit and byte flips,
 * inserts, deletes, duplications, splices with other corpus entries,
 * tokens of the grammar (`\r\n`, `Transfer-Encoding`, `chunked`,
 * `Content-Length`, hex digits, ...), and numbers replaced by boundary
 * values. All randomness comes from one seeded generator, so a run can be
 * repeated with `--seed`.
 */

/** xorshift128+ reduced to 32-bit outputs: fast, seedable, good enough for mutation choices. */
export class Random {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number) {
    this.a = seed >>> 0 || 1
    this.b = 0x9e3779b9
    this.c = 0x243f6a88
    this.d = 0xb7e15162
    for (let i = 0; i < 16; i++) this.next()
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    const t = this.a ^ (this.a << 11)
    this.a = this.b
    this.b = this.c
    this.c = this.d
    this.d = (this.d ^ (this.d >>> 19) ^ (t ^ (t >>> 8))) >>> 0
    return this.d
  }

  /** An integer in `[0, n)`. */
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n
  }

  chance(p: number): boolean {
    return this.next() / 0x100000000 < p
  }

  pick<A>(items: ReadonlyArray<A>): A {
    return items[this.below(items.length)] as A
  }
}

const latin1 = (s: string): Buffer => Buffer.from(s, "latin1")

/** Pieces of the request grammar, and of what smuggling attempts are made of. */
export const DICTIONARY: ReadonlyArray<Buffer> = [
  "\r\n",
  "\r\n\r\n",
  "\n",
  "\n\n",
  "\r",
  " ",
  "\t",
  ":",
  ";",
  ",",
  "=",
  "\"",
  "\\",
  "\x00",
  "\x7f",
  "\x80",
  "\xa0",
  "\xff",
  "PROXY TCP4 ",
  "PROXY TCP6 ",
  "PROXY UNKNOWN\r\n",
  "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
  "\r\n\r\n\x00\r\nQUIT\n",
  "\x21\x11\x00\x0c",
  "\x21\x21\x00\x24",
  "\x20\x00\x00\x00",
  "GET / HTTP/1.1\r\n",
  "POST /p HTTP/1.1\r\n",
  "HEAD / HTTP/1.0\r\n",
  "CONNECT h:1 HTTP/1.1\r\n",
  "OPTIONS * HTTP/1.1\r\n",
  "HTTP/1.1",
  "HTTP/1.0",
  "HTTP/2.0",
  "HTTP/1.1\r\n",
  "http://h/",
  "Host: h\r\n",
  "Host: ",
  "Transfer-Encoding: chunked\r\n",
  "Transfer-Encoding",
  "transfer-encoding",
  "chunked",
  "CHUNKED",
  "gzip, chunked",
  "chunked, gzip",
  "identity",
  "Content-Length: 5\r\n",
  "Content-Length",
  "content-length",
  "Content-Length: 0\r\n",
  "Connection: close\r\n",
  "Connection: keep-alive\r\n",
  "close",
  "keep-alive",
  "Expect: 100-continue\r\n",
  "100-continue",
  "0\r\n\r\n",
  "0\r\n",
  "5\r\nhello\r\n",
  "1\r\nx\r\n",
  ";ext=val",
  ";a=\"q\\\"s\"",
  "Trailer: t\r\n",
  "X-T: v\r\n",
  "fffffffffffff",
  "10000000000000",
  "999999999999999",
  "9999999999999999",
  "-1",
  "+1",
  "0x10",
  "00000000000001",
  "a",
  "F",
  "0",
  "1"
].map(latin1)

const INTERESTING_BYTES = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x2c, 0x30, 0x39, 0x3a, 0x3b, 0x41, 0x46, 0x61, 0x66, 0x7f, 0x80, 0xa0, 0xff]

const INTERESTING_NUMBERS = [
  "0",
  "1",
  "00",
  "7",
  "8",
  "f",
  "10",
  "ff",
  "100",
  "4096",
  "65535",
  "65536",
  "2147483647",
  "4294967296",
  "9007199254740991",
  "9007199254740993",
  "18446744073709551616",
  "fffffffffffff",
  "10000000000000"
]

export interface MutatorOptions {
  readonly maxLength: number
}

/** Mutates `parent` (never in place) using `corpus` for splices. */
export const mutate = (
  random: Random,
  parent: Buffer,
  corpus: ReadonlyArray<Buffer>,
  options: MutatorOptions
): Buffer => {
  let data: Buffer = Buffer.from(parent)
  const rounds = 1 << random.below(4) // 1, 2, 4 or 8 stacked mutations
  for (let r = 0; r < rounds; r++) {
    data = mutateOnce(random, data, corpus)
    if (data.length > options.maxLength) data = data.subarray(0, options.maxLength)
  }
  return data.length === 0 ? Buffer.from(random.pick(DICTIONARY)) : data
}

const insertAt = (data: Buffer, at: number, piece: Uint8Array): Buffer =>
  Buffer.concat([data.subarray(0, at), piece, data.subarray(at)])

const replaceRange = (data: Buffer, from: number, to: number, piece: Uint8Array): Buffer =>
  Buffer.concat([data.subarray(0, from), piece, data.subarray(to)])

/** Offsets just after each LF: where lines (header lines, chunk lines) start. */
const lineStarts = (data: Buffer): Array<number> => {
  const starts = [0]
  for (let i = 0; i < data.length; i++) if (data[i] === 0x0a) starts.push(i + 1)
  return starts
}

const isDigitLike = (b: number | undefined): boolean =>
  b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66))

const mutateOnce = (random: Random, data: Buffer, corpus: ReadonlyArray<Buffer>): Buffer => {
  const n = data.length
  const at = () => random.below(n + 1)
  switch (random.below(14)) {
    case 0: { // flip a bit
      if (n === 0) return data
      const out = Buffer.from(data)
      const i = random.below(n)
      out[i] = (out[i] as number) ^ (1 << random.below(8))
      return out
    }
    case 1: { // set a byte to an interesting or random value
      if (n === 0) return data
      const out = Buffer.from(data)
      out[random.below(n)] = random.chance(0.6) ? random.pick(INTERESTING_BYTES) : random.below(256)
      return out
    }
    case 2: { // insert a few random bytes
      const count = 1 + random.below(4)
      const piece = Buffer.alloc(count)
      for (let i = 0; i < count; i++) piece[i] = random.chance(0.5) ? random.pick(INTERESTING_BYTES) : random.below(256)
      return insertAt(data, at(), piece)
    }
    case 3: { // delete a range
      if (n === 0) return data
      const from = random.below(n)
      const to = Math.min(n, from + 1 + random.below(random.chance(0.8) ? 4 : 64))
      return replaceRange(data, from, to, Buffer.alloc(0))
    }
    case 4: { // duplicate a range
      if (n === 0) return data
      const from = random.below(n)
      const to = Math.min(n, from + 1 + random.below(64))
      return insertAt(data, random.below(n + 1), data.subarray(from, to))
    }
    case 5: // insert a token
    case 6:
      return insertAt(data, at(), random.pick(DICTIONARY))
    case 7: { // a token at the start of a line
      const starts = lineStarts(data)
      return insertAt(data, random.pick(starts), random.pick(DICTIONARY))
    }
    case 8: { // overwrite with a token
      if (n === 0) return data
      const token = random.pick(DICTIONARY)
      const from = random.below(n)
      return replaceRange(data, from, Math.min(n, from + token.length), token)
    }
    case 9: { // replace a run of digits (decimal or hex) with a boundary number
      if (n === 0) return data
      let i = random.below(n)
      let tries = 0
      while (!isDigitLike(data[i]) && tries++ < n) i = (i + 1) % n
      if (!isDigitLike(data[i])) return insertAt(data, at(), Buffer.from(random.pick(INTERESTING_NUMBERS), "latin1"))
      let from = i
      let to = i
      while (from > 0 && isDigitLike(data[from - 1])) from--
      while (to < n && isDigitLike(data[to])) to++
      return replaceRange(data, from, to, Buffer.from(random.pick(INTERESTING_NUMBERS), "latin1"))
    }
    case 10: { // splice: this one's head, another's tail
      const other = random.pick(corpus)
      if (other === undefined || other.length === 0) return data
      return Buffer.concat([data.subarray(0, at()), other.subarray(random.below(other.length))])
    }
    case 11: { // insert a piece of another entry
      const other = random.pick(corpus)
      if (other === undefined || other.length === 0) return data
      const from = random.below(other.length)
      const to = Math.min(other.length, from + 1 + random.below(128))
      return insertAt(data, at(), other.subarray(from, to))
    }
    case 12: { // swap CRLF and LF line ends, or drop a CR
      const out: Array<number> = []
      const mode = random.below(3)
      for (let i = 0; i < n; i++) {
        const b = data[i] as number
        if (mode === 0 && b === 0x0d && data[i + 1] === 0x0a && random.chance(0.3)) continue
        if (mode === 1 && b === 0x0a && data[i - 1] !== 0x0d && random.chance(0.3)) out.push(0x0d)
        if (mode === 2 && b === 0x20 && random.chance(0.2)) {
          out.push(random.chance(0.5) ? 0x09 : 0x20)
        }
        out.push(b)
      }
      return Buffer.from(out)
    }
    default: { // repeat a line (duplicate headers, chunk lines)
      const starts = lineStarts(data)
      const i = random.below(starts.length)
      const from = starts[i] as number
      const to = starts[i + 1] ?? n
      if (to <= from) return data
      return insertAt(data, to, data.subarray(from, to))
    }
  }
}
