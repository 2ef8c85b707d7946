/**
 * The cache's stores, one per zone, kept for the life of the process: a reload keeps a zone's store
 * (and its entries) when its settings did not change, and closes the stores no route names any more.
 * Purges go through here: by URL or by prefix, in every zone (the admin API and PURGE call it).
 */
import type { CacheConfig } from '../../config/cache.js'
import type { Config } from '../../config/schema.js'
import type { CacheStore } from './store.js'
import { MemoryStore } from './memory-store.js'
import { DiskStore } from './disk-store.js'
import type { EventLog } from '../../log/events.js'

const zones = new Map<string, CacheStore>()

function settingsOf(c: CacheConfig): string {
  return 'memory' in c.store ? `memory:${c.store.memory.max_size}:${c.max_object_size}` : `disk:${c.store.disk.path}:${c.store.disk.max_size}:${c.max_object_size}`
}

/** The event log of the process, for the disk stores' faults (set by the first route compiled with one). */
let events: EventLog | null = null
/** One log line per outage: a fault after a quiet minute starts a new one. */
const OUTAGE_MS = 60_000

/** The store of `c`'s zone: the one running, if its settings are the same, else a new one. */
export function storeFor(c: CacheConfig, log: EventLog | null = null): CacheStore {
  if (log !== null) events = log
  const settings = settingsOf(c)
  const s = zones.get(c.zone)
  if (s !== undefined && s.settings === settings) return s
  s?.close()
  let made: CacheStore
  if ('memory' in c.store) {
    made = new MemoryStore(c.store.memory.max_size, c.max_object_size, settings)
  } else {
    const d = new DiskStore(c.store.disk.path, c.store.disk.max_size, c.max_object_size, settings)
    // A full disk or a damaged file is a miss; the operator hears of it once per outage, not per request.
    let last = 0
    let since = 0
    d.onFault = (err) => {
      const now = Date.now()
      since++
      if (now - last < OUTAGE_MS) { last = now; return }
      last = now
      events?.log('warn', 'cache store fault: served as misses', { zone: c.zone, path: d.path, error: String((err as Error)?.message ?? err), faults: since })
      since = 0
    }
    made = d
  }
  zones.set(c.zone, made)
  return made
}

/** After a reload: the zones `config` no longer names are closed. */
export function pruneZones(config: Config): void {
  const used = new Set<string>()
  if (config.defaults.cache !== null) used.add(config.defaults.cache.zone)
  for (const r of config.routes) if (r.features.cache != null) used.add(r.features.cache.zone)
  for (const [zone, s] of zones) if (!used.has(zone)) { s.close(); zones.delete(zone) }
}

export function closeZones(): void {
  for (const s of zones.values()) s.close()
  zones.clear()
}

/**
 * Removes the entries of `url` (a cache key: scheme://host/path?query), or under a prefix, in one
 * zone or in every zone (null). The caller tells the other workers (cluster.ts broadcast).
 */
export function purge(target: string, prefix: boolean, zone: string | null = null): number {
  let n = 0
  for (const [name, s] of zones) if (zone === null || zone === name) n += prefix ? s.removePrefix(target) : s.removeKey(target)
  return n
}

/** Every zone's figures (for the admin API and metrics). */
export function zoneStats(): { zone: string; entries: number; bytes: number; evicted: number; faults: number }[] {
  return [...zones].map(([zone, s]) => ({ zone, ...s.stats() }))
}
