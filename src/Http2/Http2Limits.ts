/**
 * What an HTTP/2 session runs under: the SETTINGS the server sends (RFC
 * 9113 section 6.5.2) and nghttp2's own defences, which Node exposes. The
 * abusive patterns each end with the session closed and the others served:
 *
 * - streams past `maxConcurrentStreams` are refused by nghttp2 with
 *   `RST_STREAM` and leave nothing behind (no state, no handler); nghttp2
 *   does not tell Node of them, so such a session is not closed for it
 *   (`maxSessionRejectedStreams` counts only the streams Node itself refuses);
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
 * - frames nghttp2 finds invalid are counted to `maxSessionInvalidFrames`.
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
  // Node's defaults, written out: they are the flood limits above.
  maxSettings: 32,
  maxOutstandingPings: 10,
  maxSessionMemory: 10,
  maxHeaderListPairs: 128,
  maxSessionInvalidFrames: 1000,
  maxSessionRejectedStreams: 100,
  streamResetBurst: 1000,
  streamResetRate: 33
})
