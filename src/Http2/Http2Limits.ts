/**
 * What an HTTP/2 session runs under: the SETTINGS the server sends (RFC
 * 9113 section 6.5.2) and nghttp2's own defences, which Node exposes. The
 * abusive patterns each end with the session closed and the others served:
 *
 * - streams past `maxConcurrentStreams`: once the client has acknowledged
 *   the server's SETTINGS, nghttp2 ends the session at the first one
 *   (GOAWAY `PROTOCOL_ERROR`, RFC 9113 section 5.1.2); before that (a
 *   client's first flight may cross its SETTINGS in flight), each is refused
 *   with `RST_STREAM` `REFUSED_STREAM`, leaves nothing behind (no state, no
 *   handler) and counts as an invalid frame: a client that goes on opening
 *   them meets `maxSessionInvalidFrames` (GOAWAY, then the session closes);
 * - the 2023 "rapid reset" (CVE-2023-44487: streams opened and reset at
 *   once) meets nghttp2's reset rate limit (`streamResetBurst`,
 *   `streamResetRate`): GOAWAY, then the session closes;
 * - `SETTINGS` and `PING` floods from a client that reads none of the ACKs
 *   meet nghttp2's cap on queued ACKs ("flooding was detected"), and
 *   `maxSessionMemory` bounds what a session may hold (`maxSettings` bounds
 *   the entries of one SETTINGS frame, `maxOutstandingPings` the server's own
 *   unanswered PINGs);
 * - an endless `CONTINUATION` sequence (CVE-2024-28182) meets nghttp2's cap
 *   on CONTINUATION frames per header block, and `maxHeaderListPairs`;
 * - frames nghttp2 finds invalid are counted to `maxSessionInvalidFrames`
 *   ({@link MAX_INVALID_FRAMES}).
 *
 * @since 0.1.0
 */
import type * as Http2 from "node:http2"

/**
 * The server's HTTP/2 options (from the registry).
 *
 * @since 0.1.0
 * @category models
 */
export interface Http2Options {
  /** `SETTINGS_MAX_CONCURRENT_STREAMS`. */
  readonly maxConcurrentStreams: number
  /** `SETTINGS_MAX_HEADER_LIST_SIZE`: the server's `maxHeaderSize`. */
  readonly maxHeaderSize: number
}

/**
 * Invalid frames a session may send (streams refused past
 * `maxConcurrentStreams` among them) before it is closed; Node's default is
 * 1000. Browsers assume 100 concurrent streams until the server's SETTINGS
 * arrive (Chromium, Firefox), so a browser's first flight is at most 100
 * streams and fewer than 100 of them can be refused whatever the server's
 * limit; a well-behaved client sends no other invalid frame. The 101st is
 * abuse: the session ends after about as many refusals as a browser's
 * first flight could cause, not ten times as many.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_INVALID_FRAMES = 100

/**
 * The options of `http2.performServerHandshake` for one session.
 *
 * @since 0.1.0
 * @category constructors
 */
export const sessionOptions = (options: Http2Options): Http2.ServerOptions => ({
  settings: {
    maxConcurrentStreams: options.maxConcurrentStreams,
    maxHeaderListSize: options.maxHeaderSize,
    // Server push is the server's to offer; this one never pushes.
    enablePush: false
  },
  // Node's defaults but one (maxSessionInvalidFrames), written out: they are the flood limits above.
  maxSettings: 32,
  maxOutstandingPings: 10,
  maxSessionMemory: 10,
  maxHeaderListPairs: 128,
  maxSessionInvalidFrames: MAX_INVALID_FRAMES,
  maxSessionRejectedStreams: 100,
  streamResetBurst: 1000,
  streamResetRate: 33
})
