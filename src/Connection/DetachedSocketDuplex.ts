/**
 * The raw connection a handler takes with `request.detach` (see
 * `Request/Detach.ts`): a `Duplex` over the connection's socket.
 *
 * Why not the socket itself: plain sockets are read into the shared read
 * buffer (`Accept/SharedReadBuffer.ts`), a mode a `net.Socket` cannot leave,
 * and their reads never become `data` events. So the connection keeps
 * receiving the socket's bytes and passes them on here, copied out of the
 * shared buffer; TLS sockets' `data` chunks are passed on as they are. The
 * readable side pauses the socket while its buffer is full (backpressure);
 * writes go to the socket, waiting for `drain` when it asks to.
 *
 * A failing connection closes this stream without an `error` event, so that
 * a reset by the peer (ECONNRESET) is never an unhandled error, whoever holds
 * the stream.
 *
 * @since 0.1.0
 */
import type * as Net from "node:net"
import { Duplex } from "node:stream"
import type { DetachedSocket } from "../Request/Detach.ts"

/** How long a gracefully closed connection may linger for its peer to close first. */
const LINGER_MILLIS = 2_000

/**
 * @since 0.1.0
 * @category models
 */
export class DetachedSocketDuplex extends Duplex implements DetachedSocket {
  private readonly socket: Net.Socket
  private pendingWrite: ((error?: Error | null) => void) | undefined = undefined

  /**
   * @param socket the connection's socket
   * @param early bytes the client sent past the request, already read
   */
  constructor(socket: Net.Socket, early: Uint8Array) {
    super({ allowHalfOpen: true })
    this.socket = socket
    if (early.byteLength > 0) this.push(early)
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress
  }

  get remotePort(): number | undefined {
    return this.socket.remotePort
  }

  get encrypted(): boolean {
    return (this.socket as { encrypted?: boolean }).encrypted === true
  }

  /**
   * Bytes read from the socket. `transient` bytes are a view of the shared
   * read buffer, valid only during the call: they are copied.
   */
  deliver(chunk: Buffer, transient: boolean): void {
    if (this.destroyed) return
    if (!this.push(transient ? Buffer.from(chunk) : chunk)) this.socket.pause()
  }

  /** The peer's FIN: the readable side ends (the writable side stays open). */
  deliverEnd(): void {
    if (!this.destroyed) this.push(null)
  }

  /** The socket closed: so does this stream, without an error. */
  socketClosed(): void {
    this.destroy()
  }

  override _read(): void {
    this.socket.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeOut(() => this.socket.write(chunk), callback)
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void
  ): void {
    this.writeOut(() => {
      this.socket.cork()
      let ok = true
      for (const { chunk } of chunks) ok = this.socket.write(chunk)
      this.socket.uncork()
      return ok
    }, callback)
  }

  /** Writes, then calls back at once, or on `drain` when the socket's buffer is full. */
  private writeOut(write: () => boolean, callback: (error?: Error | null) => void): void {
    if (this.socket.destroyed) {
      callback()
      return
    }
    if (write()) {
      callback()
      return
    }
    this.pendingWrite = callback
    this.socket.once("drain", this.onDrain)
  }

  private readonly onDrain = (): void => {
    const callback = this.pendingWrite
    this.pendingWrite = undefined
    callback?.()
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end()
    callback()
  }

  override _destroy(_error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.off("drain", this.onDrain)
    this.pendingWrite = undefined
    this.socket.destroy()
    callback(null)
  }

  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay)
    return this
  }

  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this.socket.setKeepAlive(enable, initialDelay)
    return this
  }

  setTimeout(timeout: number, callback?: () => void): this {
    this.socket.setTimeout(timeout, callback)
    return this
  }

  closeGracefully(): void {
    if (this.socket.destroyed) return
    this.end()
    const linger = setTimeout(() => this.destroy(), LINGER_MILLIS)
    linger.unref()
    this.socket.once("close", () => clearTimeout(linger))
  }
}
