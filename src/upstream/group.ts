/**
 * An upstream group: the peers a route sends to, picked round-robin.
 */
import type { Upstream, Timeouts } from '../config/schema.js'
import type { Limits } from '../http/llhttp.js'
import { Peer } from './peer.js'
import { PeerTls } from './peer-tls.js'

export class Group {
  readonly name: string
  readonly peers: readonly Peer[]
  #next = 0

  constructor(cfg: Upstream, timeouts: Timeouts, limits: Limits) {
    this.name = cfg.name
    this.peers = cfg.peers.map((a) => new Peer(a, cfg.keepalive, timeouts, limits, cfg.tls === undefined ? null : new PeerTls(cfg.tls, a)))
  }

  /** The next peer in turn, or null when the group has none (the client gets 503). */
  pick(): Peer | null {
    const n = this.peers.length
    if (n === 0) return null
    const p = this.peers[this.#next]
    this.#next = this.#next + 1 === n ? 0 : this.#next + 1
    return p
  }

  retire(): void {
    for (const p of this.peers) p.pool.retire()
  }
}
