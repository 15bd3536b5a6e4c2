/**
 * What every benchmark server shares: the routes' fixed payloads, the port
 * argument and the start-up line the runner waits for.
 */

/** `GET /hello` answers this, as `text/plain`. */
export const HELLO = "Hello world"

/**
 * `GET /chunked` sends {@link HELLO} in these two pieces, as two chunks
 * (`Transfer-Encoding: chunked`, `text/plain`): a streamed response whose
 * chunks are all ready in the turn it starts.
 */
export const HELLO_PIECES: readonly [string, string] = [HELLO.slice(0, 6), HELLO.slice(6)]

/** {@link HELLO_PIECES} as bytes, for the servers whose streams carry bytes: made once at start-up. */
export const makeHelloPieceBytes = (): readonly [Uint8Array, Uint8Array] => {
  const encoder = new TextEncoder()
  return [encoder.encode(HELLO_PIECES[0]), encoder.encode(HELLO_PIECES[1])]
}

/** `GET /large` answers this many bytes. */
export const LARGE_SIZE = 1024 * 1024

/** Allocated once per server process at start-up, then reused for every `GET /large`. */
export const makeLargeBody = (): Buffer => Buffer.alloc(LARGE_SIZE, 0x78)

/**
 * `GET /json` answers this value serialized per request: 10 KiB of JSON
 * (10,205 bytes), records of the kind an API returns.
 */
export const makeJsonValue = (): ReadonlyArray<Record<string, unknown>> =>
  Array.from({ length: 97 }, (_, id) => ({
    id,
    name: `user ${id}`,
    email: `user${id}@example.com`,
    active: id % 3 !== 0,
    score: (id * 37) % 101,
    tags: ["alpha", "beta", "gamma"].slice(0, 1 + (id % 3))
  }))

/**
 * `GET /json-small` answers this value serialized per request, as
 * `application/json`: a small object (99 bytes of JSON), the kind of answer
 * most API calls give.
 */
export const makeSmallJsonValue = (): Record<string, unknown> => ({
  id: 42,
  name: "effect-httpserver",
  message: "Hello, World!",
  active: true,
  tags: ["http", "json"]
})

/**
 * What the `json-post` scenario sends to `POST /echo-json` (as
 * `application/json`): each server parses it and answers it serialized
 * again, which gives these same bytes back.
 */
export const ECHO_JSON_BODY = JSON.stringify({ user: "alice", action: "update", count: 3, items: [1, 2, 3], done: false })

/**
 * Idle keep-alive connections must survive the idle-connection scenario, so
 * servers whose default is short (node:http closes after 5 s) are given this.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000

/** The port from `argv[2]`, else `$PORT`, else 0 (a free port). */
export const portFromArgs = (): number => {
  const raw = process.argv[2] ?? process.env["PORT"] ?? "0"
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`invalid port: ${raw}`)
    process.exit(2)
  }
  return port
}

/** The line the runner waits for on stdout. */
export const announce = (port: number): void => {
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`)
}
