/**
 * The client side of an exchange, as the exchange sees it: implemented by server/connection.ts.
 */
import type { Socket } from 'node:net'
import type { Runtime } from './runtime.js'
import type { Origin } from './request-head.js'
import type { Exchange } from './exchange.js'

/** What an exchange needs from its client connection (server/connection.ts). */
export interface Downstream {
  readonly rt: Runtime
  readonly remote: string
  readonly proto: 'http' | 'https'
  /** The subject of the client's verified TLS certificate (mTLS), for filters and the access log; '' without one. */
  readonly clientSubject: string
  /** Lines added to every response head (Strict-Transport-Security on an `hsts` listener); usually ''. */
  readonly responseExtra: string
  /** The client's facts for the forwarding fields (and their per-connection cache). */
  readonly origin: Origin
  /** The access log is on: keep the request target for it. */
  readonly logging: boolean
  /** The server is shutting down: responses say `Connection: close` (RFC 9112 §9.6). */
  readonly closing: boolean
  /** Write to the client; false: wait for onClientDrain (backpressure). */
  write(b: Buffer): boolean
  cork(): void
  uncork(): void
  /** Stop (true) or restart (false) reading the client while the upstream cannot take more. */
  holdBody(on: boolean): void
  /** The exchange is over; `close`: close the client connection after what was written. */
  exchangeDone(close: boolean): void
  /** The exchange failed after a response was under way: the client connection must die. */
  destroy(): void
  /** The connection becomes a tunnel; the Downstream gives up its socket. */
  takeSocket(): Socket
  log(x: Exchange): void
}
