/**
 * The cache compiled for one route: its settings, its zone's store and collapsing locks, and the
 * choice, per exchange, of what the cache does with it (by method: RFC 9111 §4 for GET and HEAD,
 * §4.4 for unsafe methods, PURGE from allowed clients).
 */
import type { CacheConfig } from '../../config/cache.js'
import { CidrList } from '../../config/cidr.js'
import { GET, HEAD, PURGE, isSafe } from '../../http/methods.js'
import type { Exchange } from '../../proxy/exchange.js'
import type { Filter, FilterFactory } from '../../proxy/filter.js'
import type { CacheStore } from './store.js'
import type { Heuristic } from './entry.js'
import { Locks } from './locks.js'
import { Cached, Mode } from './cached.js'
import { storeFor } from './stores.js'
import type { EventLog } from '../../log/events.js'

const locksOf = new WeakMap<CacheStore, Locks>()

export class CacheRoute implements FilterFactory {
  readonly name = 'cache'
  /** After access, auth and rate limits (a refused request never reaches the cache), before HSTS. */
  readonly order = 70
  readonly config: CacheConfig
  readonly store: CacheStore
  readonly locks: Locks
  readonly heuristic: Heuristic
  /** This cache's name in Cache-Status (RFC 9211 §2). */
  readonly id = 'rawproxy'
  readonly purge: CidrList | null

  constructor(c: CacheConfig, events: EventLog | null = null) {
    this.config = c
    this.store = storeFor(c, events)
    let l = locksOf.get(this.store)
    if (l === undefined) locksOf.set(this.store, l = new Locks())
    this.locks = l
    this.heuristic = { percent: c.heuristic_percent, max: c.heuristic_max }
    this.purge = c.purge_allow === null ? null : new CidrList(c.purge_allow)
  }

  attach(x: Exchange): Filter {
    const m = x.method
    // A protocol switch is a tunnel, never a stored response (and must not hold a key's lock).
    if (x.upgrade) return new Cached(this, Mode.BYPASS)
    if (m === GET || m === HEAD) return new Cached(this, Mode.READ)
    if (m === PURGE && this.purge !== null) return new Cached(this, Mode.PURGE)
    return new Cached(this, isSafe(m) ? Mode.METHOD : Mode.INVALIDATE)
  }
}
