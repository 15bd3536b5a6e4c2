/**
 * Reading accepted sockets into one shared buffer.
 *
 * A `net.Socket` in streaming mode allocates a fresh buffer (up to 64 KiB)
 * for every read and wraps it in a JavaScript object; for request bodies that
 * is most of the cost of reading them. Node's own HTTP server avoids it by
 * reading in C++ into a static buffer. `net.Socket`'s `onread` option does
 * the same for JavaScript: every read lands in one buffer we provide and is
 * handed to a callback, synchronously. Since JavaScript runs one callback at
 * a time, one buffer serves every connection of the process; the connection
 * copies out only what it keeps past the callback (`HttpConnection.receive`).
 *
 * `net.Server` has no `onread` option for the sockets it accepts, so the
 * server accepts paused (`pauseOnConnect`) and the accepted socket's handle is
 * moved into a new `net.Socket` created with `onread`: the same handle-passing
 * `net.Socket` constructor option (`handle`) that Node's cluster and
 * child_process use. Where that is not possible (no handle: TLS sockets are
 * wrapped), the socket's `data` events are used as before.
 *
 * Measured on the benchmark machine with a minimal body reader: 64 KiB
 * uploads at ~1.5x the requests per CPU-second of `data` events.
 *
 * @since 0.1.0
 */
import * as Net from "node:net"

/**
 * 256 KiB: a 64 KiB upload and its head come in one read rather than two
 * (measured with `npm run bench`, upload: CPU per request 0.86x node:http's
 * at 64 KiB, 0.76-0.81x at 256 KiB, no better at 1 MiB). A connection holds
 * at most one read past its input high water before it is paused.
 */
const READ_BUFFER_BYTES = 256 * 1024

/** One read buffer for the whole process: reads are delivered one at a time. */
const sharedReadBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES)

/**
 * Moves an accepted, paused socket's handle into a socket that reads into
 * the shared buffer, calling `onRead` with a view of each read (valid only
 * during the call). Returns `undefined` when the socket has no handle to move.
 *
 * @since 0.1.0
 */
export const readIntoSharedBuffer = (
  accepted: Net.Socket,
  allowHalfOpen: boolean,
  onRead: (bytes: Buffer) => void
): Net.Socket | undefined => {
  const internal = accepted as unknown as { _handle: object | null }
  const handle = internal._handle
  if (handle === null || handle === undefined) return undefined
  internal._handle = null
  const options = {
    handle,
    allowHalfOpen,
    readable: true,
    writable: true,
    onread: {
      buffer: sharedReadBuffer,
      callback: (bytesRead: number, buffer: Uint8Array) => {
        onRead((buffer as Buffer).subarray(0, bytesRead))
      }
    }
  } as unknown as Net.SocketConstructorOpts
  return new Net.Socket(options)
}
