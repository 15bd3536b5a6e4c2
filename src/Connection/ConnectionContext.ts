/**
 * What the requests of one connection share; the peer's address is asked of
 * the socket (a system call) only when a request wants it, unless a PROXY
 * protocol header named the client.
 *
 * @since 0.1.0
 */
import type * as Net from "node:net"
import type { ConnectionInfo, Endpoint } from "../Request/ConnectionInfo.ts"
import type { RequestContext } from "../Request/HTTPServerRequest.ts"
import type { ProxyHeader } from "../Wire/ProxyHeader.ts"
import type { ConnectionOptions } from "./ConnectionHost.ts"

/**
 * @since 0.1.0
 * @category models
 */
export class ConnectionContext implements RequestContext {
  private readonly socket: Net.Socket
  private readonly proxyHeader: ProxyHeader | undefined
  private address: string | undefined = undefined
  private info: ConnectionInfo | undefined = undefined
  readonly protocol: string
  readonly xheaders: boolean
  readonly forwarded: boolean
  readonly isTrustedDownstream: (ip: string) => boolean
  readonly decodedContentEncoding: ((coding: string) => boolean) | undefined
  readonly detach: RequestContext["detach"]

  constructor(
    socket: Net.Socket,
    options: ConnectionOptions,
    detach: RequestContext["detach"],
    proxyHeader: ProxyHeader | undefined
  ) {
    this.socket = socket
    this.detach = detach
    this.proxyHeader = proxyHeader
    this.protocol = options.protocol ?? ((socket as { encrypted?: boolean }).encrypted === true ? "https" : "http")
    this.xheaders = options.xheaders
    this.forwarded = options.forwarded
    this.isTrustedDownstream = options.isTrustedDownstream
    this.decodedContentEncoding = options.decodedContentEncoding
  }

  get remoteIp(): string {
    this.address ??= normalizeIp(this.proxyHeader?.addresses?.sourceAddress ?? this.socket.remoteAddress)
    return this.address
  }

  get connection(): ConnectionInfo {
    if (this.info === undefined) {
      const socket = this.socket
      const sent = this.proxyHeader?.addresses
      const socketPeer = { address: normalizeIp(socket.remoteAddress), port: socket.remotePort }
      const socketLocal = { address: normalizeIp(socket.localAddress), port: socket.localPort }
      const peer: Endpoint = sent === undefined ? socketPeer : { address: this.remoteIp, port: sent.sourcePort }
      const local: Endpoint = sent === undefined
        ? socketLocal
        : { address: normalizeIp(sent.destinationAddress), port: sent.destinationPort }
      this.info = { peer, local, socketPeer, socketLocal, proxyHeader: this.proxyHeader }
    }
    return this.info
  }
}

/** The peer's IP as Tornado reports it; IPv4-mapped IPv6 as plain IPv4. */
const normalizeIp = (address: string | undefined): string => {
  if (address === undefined || address === "") return "0.0.0.0"
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address
}
