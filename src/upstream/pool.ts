/**
 * Keep-alive sockets of one peer. A socket comes back only after a clean, complete exchange; the pool
 * keeps at most `max_idle` of them, each for at most `idle_timeout`, and drops one that the peer
 * closes or that receives bytes while idle (upstream-conn.ts).
 */
import type { Keepalive } from '../config/schema.js'
import { UpstreamConn, UpstreamOwner } from './upstream-conn.js'
import type { Peer } from './peer.js'

export class Pool {
  readonly #idle: UpstreamConn[] = []
  readonly #peer: Peer
  readonly #opts: Keepalive
  #retired = false
  /** Sockets opened (for tests and the status snapshot). */
  opened = 0
  /** Sockets open now, idle or busy (a Set: a socket may be forgotten twice, at destroy and at close). */
  readonly #live = new Set<UpstreamConn>()

  constructor(peer: Peer, opts: Keepalive) {
    this.#peer = peer
    this.#opts = opts
  }

  get idleCount(): number { return this.#idle.length }
  /** Sockets open and busy with an exchange (for the metrics). */
  get activeCount(): number { return this.#live.size - this.#idle.length }

  /** The most recently used idle socket (LIFO keeps few sockets warm), or null. */
  take(owner: UpstreamOwner): UpstreamConn | null {
    const c = this.#idle.pop()
    if (c === undefined) return null
    this.#peer.stats.reuses++
    c.attach(owner)
    return c
  }

  /**
   * A new socket to the peer; the owner hears `onUpstreamConnect` or `onUpstreamClose`. `stream`: for
   * an upgrade, read as a stream (upstream-conn.ts), never pooled.
   */
  open(owner: UpstreamOwner, stream = false): UpstreamConn {
    this.opened++
    this.#peer.stats.connects++
    const c = new UpstreamConn(this.#peer, owner, stream)
    this.#live.add(c)
    return c
  }

  /** Returns a socket after a clean exchange, or closes it when the pool is full or retired. */
  release(c: UpstreamConn): void {
    if (this.#retired || this.#idle.length >= this.#opts.max_idle) {
      c.destroy()
      return
    }
    c.park(this.#opts.idle_timeout)
    this.#idle.push(c)
  }

  /** Called by a socket that closes. */
  forget(c: UpstreamConn): void {
    this.#live.delete(c)
    const i = this.#idle.indexOf(c)
    if (i >= 0) this.#idle.splice(i, 1)
  }

  /** The peer is disabled (admin API): its idle sockets close; busy ones go back to the pool as usual. */
  closeIdle(): void {
    for (const c of this.#idle.splice(0)) c.destroy()
  }

  /** After a config reload: close idle sockets, and close busy ones when they come back. */
  retire(): void {
    this.#retired = true
    for (const c of this.#idle.splice(0)) c.destroy()
  }
}
