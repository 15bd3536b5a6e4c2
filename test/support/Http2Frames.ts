/**
 * Raw HTTP/2 frames (RFC 9113 section 4.1) for tests that do what no
 * well-behaved client does: floods, endless CONTINUATION, streams past the
 * limit. Header blocks use HPACK's static table and literals without
 * indexing (RFC 7541), so they need no encoder state.
 */
import * as Net from "node:net"
import { Effect, type Scope } from "effect"
import { HTTP2_PREFACE } from "../../src/Http2/Http2Preface.ts"

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, CONTINUATION: 9 } as const
export const FLAG = { ACK: 0x1, END_STREAM: 0x1, END_HEADERS: 0x4 } as const

/** GOAWAY and RST_STREAM error codes (RFC 9113 section 7). */
export const ERROR = { PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2, REFUSED_STREAM: 7, CANCEL: 8, ENHANCE_YOUR_CALM: 11 } as const

/** One frame: 9-byte header, then the payload. */
export const frame = (type: number, flags: number, streamId: number, payload: Uint8Array = new Uint8Array(0)): Buffer => {
  const header = Buffer.alloc(9)
  header.writeUIntBE(payload.byteLength, 0, 3)
  header[3] = type
  header[4] = flags
  header.writeUInt32BE(streamId & 0x7fffffff, 5)
  return Buffer.concat([header, payload])
}

/** A string's length as an HPACK integer with a 7-bit prefix, Huffman off (RFC 7541 section 5.1). */
const stringLength = (n: number): Buffer => {
  if (n < 127) return Buffer.from([n])
  const bytes = [127]
  let rest = n - 127
  while (rest >= 128) {
    bytes.push((rest % 128) + 128)
    rest = Math.floor(rest / 128)
  }
  bytes.push(rest)
  return Buffer.from(bytes)
}

/** A literal header field without indexing, new name (RFC 7541 section 6.2.2). */
export const literal = (name: string, value: string): Buffer =>
  Buffer.concat([Buffer.from([0x00]), stringLength(name.length), Buffer.from(name), stringLength(value.length), Buffer.from(value)])

/** `GET /` over http, authority `localhost`: static-table entries 2, 4 and 6, `:authority` by name index 1. */
export const GET_ROOT: Buffer = Buffer.concat([Buffer.from([0x82, 0x84, 0x86, 0x01, 9]), Buffer.from("localhost")])

/** The client's opening: the preface and an empty SETTINGS frame. */
export const OPENING: Buffer = Buffer.concat([HTTP2_PREFACE, frame(FRAME.SETTINGS, 0, 0)])

/** The acknowledgement of the server's SETTINGS (RFC 9113 section 6.5.3). */
export const SETTINGS_ACK: Buffer = frame(FRAME.SETTINGS, FLAG.ACK, 0)

export interface RawHttp2 {
  readonly socket: Net.Socket
  /** Whether the server has closed the connection (or reset it). */
  readonly closed: () => boolean
  /** Resolves once the connection is closed. */
  readonly whenClosed: Effect.Effect<void>
  /** Bytes received so far. */
  readonly received: () => Buffer
}

/**
 * A TCP connection to `127.0.0.1:port` that has sent {@link OPENING};
 * `read: false` leaves what the server sends unread (a client that does not
 * read its ACKs). Destroyed with the Scope.
 */
export const open = (port: number, options: { readonly read?: boolean } = {}): Effect.Effect<RawHttp2, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<RawHttp2>((resume) => {
      const socket = Net.connect(port, "127.0.0.1")
      const chunks: Array<Buffer> = []
      let closed = false
      const waiters: Array<() => void> = []
      socket.on("error", () => {})
      socket.on("close", () => {
        closed = true
        for (const wake of waiters.splice(0)) wake()
      })
      if (options.read ?? true) socket.on("data", (chunk: Buffer) => chunks.push(chunk))
      else socket.pause()
      socket.once("connect", () => {
        socket.write(OPENING)
        resume(Effect.succeed({
          socket,
          closed: () => closed,
          whenClosed: Effect.callback<void>((wake) => {
            if (closed) wake(Effect.void)
            else waiters.push(() => wake(Effect.void))
          }),
          received: () => Buffer.concat(chunks)
        }))
      })
    }),
    (raw) => Effect.sync(() => raw.socket.destroy())
  )

/** Writes frames as fast as the socket takes them, until `count` are written or the connection is closed. */
export const flood = (raw: RawHttp2, make: (i: number) => Buffer, count: number): Effect.Effect<number> =>
  Effect.callback<number>((resume) => {
    let i = 0
    const pump = () => {
      while (i < count && !raw.closed() && !raw.socket.destroyed) {
        const ok = raw.socket.write(make(i))
        i++
        if (!ok) {
          raw.socket.once("drain", pump)
          return
        }
      }
      resume(Effect.succeed(i))
    }
    raw.socket.once("close", () => resume(Effect.succeed(i)))
    pump()
  })

/** The frames of `type` in `bytes` (whole ones): their stream ids and payloads. */
const framesOf = (bytes: Buffer, type: number): Array<{ readonly streamId: number; readonly payload: Buffer }> => {
  const found: Array<{ readonly streamId: number; readonly payload: Buffer }> = []
  let at = 0
  while (at + 9 <= bytes.byteLength) {
    const length = bytes.readUIntBE(at, 3)
    if (at + 9 + length > bytes.byteLength) break
    if (bytes[at + 3] === type) {
      found.push({ streamId: bytes.readUInt32BE(at + 5) & 0x7fffffff, payload: bytes.subarray(at + 9, at + 9 + length) })
    }
    at += 9 + length
  }
  return found
}

/** The GOAWAY frames the server sent: their error codes (11: ENHANCE_YOUR_CALM). */
export const goawayCodes = (bytes: Buffer): Array<number> => framesOf(bytes, 7).map((f) => f.payload.readUInt32BE(4))

/** The RST_STREAM frames the server sent: stream id and error code. */
export const resets = (bytes: Buffer): Array<{ readonly streamId: number; readonly code: number }> =>
  framesOf(bytes, FRAME.RST_STREAM).map((f) => ({ streamId: f.streamId, code: f.payload.readUInt32BE(0) }))

/** The HEADERS frames the server sent: their stream ids. */
export const responseStreams = (bytes: Buffer): Array<number> => framesOf(bytes, FRAME.HEADERS).map((f) => f.streamId)

/** The header block the server sent on `streamId` (HPACK-encoded), if any. */
export const responseBlock = (bytes: Buffer, streamId: number): Buffer | undefined =>
  framesOf(bytes, FRAME.HEADERS).find((f) => f.streamId === streamId)?.payload
