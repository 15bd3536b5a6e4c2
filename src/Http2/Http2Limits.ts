/**
 * What an HTTP/2 session runs under: the SETTINGS the server sends (RFC
 * 9113 section 6.5.2) and nghttp2's own defences, which Node exposes. The
 * abusive patterns each end with the session closed and the others served:
 *
 * - streams past `maxConcurrentStreams` are refused (`REFUSED_STREAM`), and a
 *   client that goes on opening them is cut off after
 *   `maxSessionRejectedStreams`;
 * - the 2023 "rapid reset" (CVE-2023-44487: streams opened and reset at
 *   once) meets nghttp2's reset rate limit (`streamResetBurst`,
 *   `streamResetRate`), then GOAWAY;
 * - `SETTINGS` and `PING` floods meet `maxSettings` and
 *   `maxOutstandingPings` (unacknowledged frames the peer does not read), and
 *   `maxSessionMemory` bounds what a session may hold;
 * - an endless `CONTINUATION` sequence (CVE-2024-27983 and kin) meets the
 *   header list limit, `maxHeaderListPairs` and nghttp2's cap on
 *   CONTINUATION frames per header block;
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
