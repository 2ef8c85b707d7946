/**
 * One backend address with its socket pool and what we learned of it.
 */
import type { Address, Keepalive, Timeouts } from '../config/schema.js'
import type { Limits } from '../http/llhttp.js'
import { Pool } from './pool.js'
import type { PeerTls } from './peer-tls.js'

export class Peer {
  readonly host: string
  readonly port: number
  /** "host:port", as logged; IPv6 in brackets. */
  readonly label: string
  readonly pool: Pool
  readonly timeouts: Timeouts
  readonly limits: Limits
  /** The minor HTTP version of the peer's last response (-1: not known yet). A 1.0 peer gets no Expect. */
  minor = -1
  /** TLS to this peer (the group's `tls`), or null for plain TCP. */
  readonly tls: PeerTls | null

  constructor(addr: Address, keepalive: Keepalive, timeouts: Timeouts, limits: Limits, tls: PeerTls | null = null) {
    this.tls = tls
    this.host = addr.host
    this.port = addr.port
    this.label = addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`
    this.timeouts = timeouts
    this.limits = limits
    this.pool = new Pool(this, keepalive)
  }
}
