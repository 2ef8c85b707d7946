/**
 * What the cache filter needs of a store: the entries under a key (every variant, complete or still
 * filling), a new entry to fill, the content of a complete one, and removal by key, by entry or by
 * prefix (RFC 9111 §4.4 invalidation, purges). The memory store answers at once; the disk store may
 * answer later (a Promise). Either way a store's fault is the cache's miss, never the request's error.
 */
import type { Content } from '../../proxy/content.js'
import type { Entry } from './entry.js'
import type { Fill } from './fill.js'

export interface CacheStore {
  /** Every entry under `key`, most recently stored last. Empty when none (or the store cannot read). */
  lookup(key: string): readonly Entry[] | Promise<readonly Entry[]>
  /**
   * Starts storing `e` (its head is in; its content follows through the Fill). It replaces the
   * stored entry of the same key and variant once complete (at once, when its length is known, so
   * that others can read it while it arrives). Null: the store will not take it (too large).
   */
  begin(e: Entry): Fill | null
  /** The content of a complete entry. */
  content(e: Entry): Content
  /** `e` was served (recently used). */
  touch(e: Entry): void
  /** `e`'s head was updated in place (a 304, RFC 9111 §4.3.4): the store keeps the new head. */
  update(e: Entry): void
  /** Removes one entry. */
  remove(e: Entry): void
  /** Removes every entry under `key` (§4.4, purge by URL); returns how many. */
  removeKey(key: string): number
  /** Removes every entry whose key starts with `prefix` (purge by prefix); returns how many. */
  removePrefix(prefix: string): number
  /** Entries and bytes held, and what the store dropped to stay in its budget. */
  stats(): StoreStats
  /** The store's settings, to tell whether a reload may keep it. */
  readonly settings: string
  close(): void
}

export interface StoreStats {
  entries: number
  bytes: number
  evicted: number
  /** Reads or writes that failed (disk): each one a miss or an entry not stored. */
  faults: number
}
