/**
 * What a request knows of its connection's two ends: as sent (by a PROXY
 * protocol header, when the server reads them) and as seen (the socket's
 * own addresses: behind a layer-4 balancer, the balancer's).
 *
 * @since 0.1.0
 */
import type { ProxyHeader } from "../Wire/ProxyHeader.ts"

/**
 * One end of a connection. `port` is `undefined` on a Unix socket.
 *
 * @since 0.1.0
 * @category models
 */
export interface Endpoint {
  readonly address: string
  readonly port: number | undefined
}

/**
 * The ends of a request's connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionInfo {
  /** The client: the PROXY header's source when it names one, else the socket's peer. */
  readonly peer: Endpoint
  /** Where the client connected: the PROXY header's destination when it names one, else the socket's local end. */
  readonly local: Endpoint
  /** The socket's peer as seen (behind a layer-4 balancer, the balancer). */
  readonly socketPeer: Endpoint
  /** The socket's local end as seen. */
  readonly socketLocal: Endpoint
  /**
   * The PROXY protocol header the connection began with (`proxyProtocol`),
   * with its command and v2 TLVs as raw values (see `ProxyHeader.tlvValue`).
   */
  readonly proxyHeader: ProxyHeader | undefined
}
