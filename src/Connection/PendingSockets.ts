/**
 * Sockets held by an accept stage before they become connections (a TLS
 * handshake, a PROXY header, the first bytes that tell HTTP/2 apart): each
 * under a deadline, with the stage's listeners on it, counted toward
 * `maxConnections` and closed at shutdown. What the stages share, so that
 * each says only what it waits for.
 *
 * @since 0.1.0
 */
import type { EventEmitter } from "node:events"
import type * as Net from "node:net"

/**
 * @since 0.1.0
 * @category models
 */
export class PendingSockets {
  private readonly sockets = new Set<Net.Socket>()

  /** Sockets held now. */
  get size(): number {
    return this.sockets.size
  }

  /** Whether `socket` is still held (not released, not closed at shutdown). */
  has(socket: Net.Socket): boolean {
    return this.sockets.has(socket)
  }

  /**
   * Holds `socket` until the returned `release` is called: `onTimeout` runs
   * after `timeoutMillis`, and `listeners` are on `emitter` (the socket
   * itself unless given, e.g. the TLS socket over it) until the release.
   */
  hold(
    socket: Net.Socket,
    timeoutMillis: number,
    onTimeout: () => void,
    listeners: ReadonlyArray<readonly [event: string, listener: (...args: Array<any>) => void]>,
    emitter: EventEmitter = socket
  ): () => void {
    this.sockets.add(socket)
    const timer = setTimeout(onTimeout, timeoutMillis)
    timer.unref()
    for (const [event, listener] of listeners) emitter.on(event, listener)
    return () => {
      clearTimeout(timer)
      this.sockets.delete(socket)
      for (const [event, listener] of listeners) emitter.off(event, listener)
    }
  }

  /** Destroys every socket held (shutdown). */
  closeAll(): void {
    for (const socket of [...this.sockets]) {
      this.sockets.delete(socket)
      socket.destroy()
    }
  }
}
