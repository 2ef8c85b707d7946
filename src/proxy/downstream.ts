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
  /** The server name the TLS client asked for (SNI, RFC 6066 §3); '' on a plain listener or without one. */
  readonly sni: string
  /** The listener's Strict-Transport-Security value (TLS listener with `hsts`), or null. */
  readonly hsts: string | null
  /** Content bytes of the current request body received so far (chunked framing excluded). */
  readonly bodyReceived: number
  /** The client's facts for the forwarding fields (and their per-connection cache). */
  readonly origin: Origin
  /** The access log is on: keep the request target for it. */
  readonly logging: boolean
  /** The access log or the metrics are on: read the clock at the exchange's start and its peer's answer. */
  readonly timed: boolean
  /** The metrics are on: time the response head too. */
  readonly metered: boolean
  /** The server is shutting down: responses say `Connection: close` (RFC 9112 §9.6). */
  readonly closing: boolean
  /** Bytes written to the client are queued, not yet all handed to the kernel (they may be slices of a peer's read buffer). */
  readonly queued: boolean
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
