/**
 * Request header fields: ordered, case-insensitive, multi-valued.
 *
 * The engine's head parser produces a flat `[name0, value0, name1, value1, ...]`
 * array (Latin-1 text, names as sent, values trimmed). `HTTPHeaders` wraps that
 * array as it is: nothing is copied when a request arrives, and the lower-case
 * index is only built the first time a field is looked up by name.
 *
 * Lookups follow Tornado's `HTTPHeaders`: names match case-insensitively,
 * `get` joins the values of a repeated field with `","` (Tornado's
 * `__getitem__`), `getAll` returns them one by one (`get_list`).
 *
 * @since 0.1.0
 */

const emptyValues: ReadonlyArray<string> = Object.freeze([])

/**
 * An immutable view of a request's header fields.
 *
 * - `get` / `getAll` / `has` match names case-insensitively.
 * - `entries()` / iteration give every field line in the order received, with
 *   names as sent.
 *
 * @example
 * ```ts
 * const headers = HTTPHeaders.fromRaw(["Host", "a", "Accept", "x", "accept", "y"])
 * headers.get("ACCEPT")    // "x,y"
 * headers.getAll("accept") // ["x", "y"]
 * headers.entries()        // [["Host", "a"], ["Accept", "x"], ["accept", "y"]]
 * ```
 *
 * @since 0.1.0
 */
export class HTTPHeaders implements Iterable<readonly [string, string]> {
  /** `[name0, value0, name1, value1, ...]`, never modified. */
  readonly #raw: ReadonlyArray<string>
  /** lower-case name → values, in order; built on the first lookup. */
  #index: Map<string, Array<string>> | undefined
  /** `[name, value]` pairs; built on the first call to `entries()`. */
  #entries: ReadonlyArray<readonly [string, string]> | undefined

  private constructor(raw: ReadonlyArray<string>) {
    this.#raw = raw
    this.#index = undefined
    this.#entries = undefined
  }

  /**
   * Wraps the parser's flat `[name0, value0, name1, value1, ...]` array without
   * copying it. The array must not be modified afterwards. A trailing name with
   * no value is ignored.
   *
   * @since 0.1.0
   */
  static fromRaw(raw: ReadonlyArray<string>): HTTPHeaders {
    return new HTTPHeaders(raw)
  }

  /**
   * Builds headers from `[name, value]` pairs, keeping their order.
   *
   * @since 0.1.0
   */
  static fromEntries(entries: Iterable<readonly [string, string]>): HTTPHeaders {
    const raw: Array<string> = []
    for (const [name, value] of entries) raw.push(name, value)
    return new HTTPHeaders(raw)
  }

  /**
   * The number of field lines (a repeated field counts once per line), which
   * is also the number of pairs `entries()` and iteration give.
   *
   * @since 0.1.0
   */
  get size(): number {
    return this.#raw.length >>> 1
  }

  /**
   * The value of a field, matched case-insensitively. A field received several
   * times gives its values joined with `","` (as Tornado's `headers[name]`);
   * `undefined` when absent.
   *
   * @since 0.1.0
   */
  get(name: string): string | undefined {
    const values = this.#lookup(name)
    if (values === undefined) return undefined
    return values.length === 1 ? values[0] : values.join(",")
  }

  /**
   * Every value of a field, matched case-insensitively, in the order received;
   * empty when absent (Tornado's `get_list`).
   *
   * @since 0.1.0
   */
  getAll(name: string): ReadonlyArray<string> {
    return this.#lookup(name) ?? emptyValues
  }

  /**
   * Whether the field is present, matched case-insensitively.
   *
   * @since 0.1.0
   */
  has(name: string): boolean {
    return this.#lookup(name) !== undefined
  }

  /**
   * Every field line as `[name, value]`, in the order received, names as sent.
   * The array is built once and shared: do not modify it.
   *
   * @since 0.1.0
   */
  entries(): ReadonlyArray<readonly [string, string]> {
    let entries = this.#entries
    if (entries === undefined) {
      const raw = this.#raw
      const count = raw.length >>> 1
      const built = new Array<readonly [string, string]>(count)
      for (let i = 0; i < count; i++) built[i] = [raw[2 * i]!, raw[2 * i + 1]!]
      this.#entries = entries = built
    }
    return entries
  }

  /**
   * A copy without every line of the field `name` (matched case-insensitively),
   * the other lines kept in order. Used after request decompression to drop
   * `Content-Encoding`. Returns this same (immutable) instance when the field is
   * absent.
   *
   * @since 0.1.0
   */
  without(name: string): HTTPHeaders {
    if (!this.has(name)) return this
    const lower = name.toLowerCase()
    const raw = this.#raw
    const kept: Array<string> = []
    const end = raw.length - (raw.length & 1)
    for (let i = 0; i < end; i += 2) {
      const fieldName = raw[i]!
      if (fieldName.toLowerCase() !== lower) kept.push(fieldName, raw[i + 1]!)
    }
    return new HTTPHeaders(kept)
  }

  /**
   * Iterates the field lines as `[name, value]`, in the order received.
   *
   * @since 0.1.0
   */
  [Symbol.iterator](): Iterator<readonly [string, string]> {
    return this.entries()[Symbol.iterator]()
  }

  /**
   * The field lines as `[name, value]` pairs, for `JSON.stringify`.
   *
   * @since 0.1.0
   */
  toJSON(): ReadonlyArray<readonly [string, string]> {
    return this.entries()
  }

  #lookup(name: string): Array<string> | undefined {
    let index = this.#index
    if (index === undefined) {
      index = new Map()
      const raw = this.#raw
      const end = raw.length - (raw.length & 1)
      for (let i = 0; i < end; i += 2) {
        const key = raw[i]!.toLowerCase()
        const values = index.get(key)
        if (values === undefined) index.set(key, [raw[i + 1]!])
        else values.push(raw[i + 1]!)
      }
      this.#index = index
    }
    return index.get(name.toLowerCase())
  }
}
