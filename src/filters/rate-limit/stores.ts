/**
 * Which store keeps a route's counters, one instance per process for each setting, so routes with
 * the same `store` share it and a reload that keeps the setting keeps the counters (DESIGN: state
 * that outlives one request).
 *
 * memory: in this process; in a cluster worker, the primary's memory store over IPC instead, so the
 * workers keep one limit (cluster-store.ts). redis: a Redis server (redis-store.ts).
 */
import cluster from 'node:cluster'
import { RATE_LIMIT_DEFAULTS, type RateLimitConfig, type StoreConfig } from '../../config/rate-limit.js'
import type { Config } from '../../config/schema.js'
import type { EventLog } from '../../log/events.js'
import { LocalStore } from './local-store.js'
import { ClusterStore } from './cluster-store.js'
import { RedisStore } from './redis-store.js'
import type { Store } from './store.js'

const stores = new Map<string, RedisStore>()
let local: LocalStore | null = null
let shared: ClusterStore | null = null

/**
 * The bound of the memory store: the largest `memory.max_keys` of any rate_limit of the config (a
 * route's or the defaults'), as every memory-store limit of a process (or of a cluster, in the
 * primary) shares one store.
 */
export function maxKeys(c: Config): number {
  let n = 0
  const see = (rl: RateLimitConfig | null | undefined): void => {
    if (rl != null && 'memory' in rl.store) n = Math.max(n, rl.store.memory.max_keys)
  }
  see(c.defaults.rate_limit)
  for (const r of c.routes) see(r.features.rate_limit)
  return n === 0 ? RATE_LIMIT_DEFAULTS.max_keys : n
}

/** This process's memory store (the cluster primary answers its workers from its own), bound as set last. */
export function localStore(bound: number): LocalStore {
  if (local === null) local = new LocalStore(bound)
  else local.maxKeys = bound
  return local
}

/** The store of a rate_limit's `store` setting, in a process serving `config` (each reload sets the bound anew). */
export function storeFor(cfg: StoreConfig, events: EventLog | null, config: Config): Store {
  if ('memory' in cfg) {
    if (cluster.isWorker) return shared ??= new ClusterStore()
    return localStore(maxKeys(config))
  }
  const id = JSON.stringify(cfg.redis)
  let s = stores.get(id)
  if (s === undefined) stores.set(id, s = new RedisStore(cfg.redis, events))
  return s
}

/** Redis stores a reload dropped, open until their exchanges' leases have gone (below). */
const retiring = new Set<RedisStore>()
/** As long as a lease of the Redis store lives (redis-store.ts): no exchange of the old config can still hold one. */
const RETIRE_MS = 300_000

/**
 * After a reload: the Redis stores no rate_limit of `config` names any more are closed, but only once
 * every exchange that started under the old config is surely over: those still in flight give their
 * inflight places back through the store they took them from (closed at once, the release would
 * fail and the place be held for the lease's 300 s).
 */
export function pruneStores(config: Config): Promise<void> {
  const used = new Set<string>()
  const see = (r: RateLimitConfig | null | undefined): void => { if (r != null && 'redis' in r.store) used.add(JSON.stringify(r.store.redis)) }
  see(config.defaults.rate_limit)
  for (const r of config.routes) see(r.features.rate_limit)
  for (const [id, s] of [...stores]) {
    if (used.has(id)) continue
    stores.delete(id)
    retiring.add(s)
    setTimeout(() => { if (retiring.delete(s)) void s.close() }, RETIRE_MS).unref()
  }
  return Promise.resolve()
}

/** At shutdown: every Redis connection closed, so the process can end. */
export function closeStores(): Promise<void> {
  const all = [...stores.values(), ...retiring]
  stores.clear()
  retiring.clear()
  return Promise.all(all.map((s) => s.close())).then(() => {})
}

/** Each store in use with its fault and outage counts, for the metrics (`store`: "cluster", or the redacted Redis URL). */
export function storeFaults(): { store: string; faults: number; outages: number }[] {
  const out = [...stores.values()].map((s) => ({ store: s.url, faults: s.faults, outages: s.outages }))
  if (shared !== null) out.push({ store: 'cluster', faults: shared.faults, outages: 0 })
  return out
}

let failures: Store | null = null

/**
 * The store of auth's failed attempts (auth/failures.ts): in a cluster worker the primary's, like
 * every memory limit; in a single process one of its own, so auth does not move `max_keys`.
 */
export function failureStore(): Store {
  if (cluster.isWorker) return shared ??= new ClusterStore()
  return failures ??= new LocalStore(RATE_LIMIT_DEFAULTS.max_keys)
}
