/**
 * The PROXY protocol stage of the accept path (`proxyProtocol`): before
 * anything else, TLS included, an accepted socket must come from an allowed
 * peer (`proxyProtocolFrom`) and begin with a complete, valid PROXY header
 * (`Wire/ProxyHeader.ts`) within the header timeout. Then the socket goes on
 * with the header and the bytes read past it, which are the connection's
 * first input (or the TLS session's first bytes); otherwise it is closed
 * without an answer, as the spec asks ("the receiver must not start
 * processing the connection before it receives a complete and valid PROXY
 * protocol header").
 *
 * A socket in this stage is a connection: it counts toward
 * `maxConnections`, and shutdown closes it.
 *
 * @since 0.1.0
 */
import type * as Net from "node:net"
import { type ProxyHeader, type ProxyHeaderError, ProxyHeaderReader } from "../Wire/ProxyHeader.ts"
import { PendingSockets } from "../Connection/PendingSockets.ts"

/**
 * Why a connection was closed in this stage: a peer not in
 * `proxyProtocolFrom`, no complete header within the header timeout, a peer
 * that hung up in the middle of one, or the header's own error.
 *
 * @since 0.1.0
 * @category models
 */
export type ProxyRejection = "PeerRefused" | "HeaderTimeout" | "Truncated" | ProxyHeaderError["kind"]

/**
 * What the stage needs from the server.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProxyProtocolStageOptions {
  /** The deadline of the header, from the accept. */
  readonly timeoutMillis: number
  /** Whether a peer may connect; `undefined`: any may. */
  readonly isAllowedPeer: ((ip: string) => boolean) | undefined
  /** A connection was closed in this stage (a peer that sent nothing and left is not reported). */
  readonly onRejected: (reason: ProxyRejection, remoteAddress: string | undefined) => void
}

/**
 * The sockets waiting for their header, on one server.
 *
 * @since 0.1.0
 * @category models
 */
export class ProxyProtocolStage {
  private readonly options: ProxyProtocolStageOptions
  private readonly pending = new PendingSockets()

  constructor(options: ProxyProtocolStageOptions) {
    this.options = options
  }

  /** Sockets waiting for their header. */
  get size(): number {
    return this.pending.size
  }

  /**
   * Reads the header off a freshly accepted (paused) socket, then calls
   * `next` with the socket (paused, no listener of ours left on it), the
   * header and the bytes that followed it.
   */
  start(socket: Net.Socket, next: (socket: Net.Socket, header: ProxyHeader, rest: Buffer) => void): void {
    socket.on("error", ignore)
    const { isAllowedPeer, onRejected, timeoutMillis } = this.options
    if (isAllowedPeer !== undefined && !isAllowedPeer(socket.remoteAddress ?? "")) {
      onRejected("PeerRefused", socket.remoteAddress)
      socket.destroy()
      return
    }
    const reader = new ProxyHeaderReader()
    let received = false
    const reject = (reason: ProxyRejection) => {
      release()
      onRejected(reason, socket.remoteAddress)
      socket.destroy()
    }
    const onData = (chunk: Buffer) => {
      received = true
      const step = reader.push(chunk)
      if (step._tag === "NeedMore") return
      if (step._tag === "Failed") return reject(step.error.kind)
      release()
      socket.pause()
      next(socket, step.header, takeBuffered(socket, step.rest))
    }
    const onGone = () => {
      if (received) return reject("Truncated")
      release()
      socket.destroy()
    }
    const release = this.pending.hold(socket, timeoutMillis, () => reject("HeaderTimeout"), [
      ["data", onData],
      ["end", onGone],
      ["close", onGone]
    ])
    socket.resume()
  }

  /** Destroys every socket waiting for its header (shutdown). */
  closeAll(): void {
    this.pending.closeAll()
  }
}

/** `rest` and whatever the paused socket holds already read, in order. */
const takeBuffered = (socket: Net.Socket, rest: Uint8Array): Buffer => {
  const parts: Array<Uint8Array> = [rest]
  if (socket.readableLength > 0) {
    for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
      parts.push(chunk)
    }
  }
  return Buffer.concat(parts)
}

const ignore = (): void => {}
