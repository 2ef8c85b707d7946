/**
 * Which store keeps a route's counters, one instance per process for each setting, so routes with
 * the same `store` share it and a reload that keeps the setting keeps the counters (DESIGN: state
 * that outlives one request).
 *
 * memory: in this process; in a cluster worker, the primary's memory store over IPC instead, so the
 * workers keep one limit (cluster-store.ts). redis: a Redis server (redis-store.ts).
 */
import cluster from 'node:cluster'
import type { StoreConfig } from '../../config/rate-limit.js'
import type { EventLog } from '../../log/events.js'
import { LocalStore } from './local-store.js'
import { ClusterStore } from './cluster-store.js'
import { RedisStore } from './redis-store.js'
import type { Store } from './store.js'

const stores = new Map<string, Store>()
let local: LocalStore | null = null
let shared: ClusterStore | null = null

/** This process's memory store (the cluster primary answers its workers from its own). */
export function localStore(maxKeys: number): LocalStore {
  if (local === null) local = new LocalStore(maxKeys)
  else local.maxKeys = Math.max(maxKeys, local.maxKeys)
  return local
}

export function storeFor(cfg: StoreConfig, events: EventLog | null): Store {
  if ('memory' in cfg) {
    if (cluster.isWorker) return shared ??= new ClusterStore()
    return localStore(cfg.memory.max_keys)
  }
  const id = JSON.stringify(cfg.redis)
  let s = stores.get(id)
  if (s === undefined) stores.set(id, s = new RedisStore(cfg.redis, events))
  return s
}
