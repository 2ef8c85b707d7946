/**
 * The memory store: entries by key in a Map, in one least-recently-used list, within a byte budget
 * that counts heads and bookkeeping as well as content. When a new entry needs room, whole entries
 * go from the cold end (nginx's and Varnish's LRU do the same).
 */
import type { Content } from '../../proxy/content.js'
import type { CacheStore, StoreStats } from './store.js'
import type { Entry } from './entry.js'
import { BufferContent, Fill, FillOwner } from './fill.js'

/** Bookkeeping of one entry beyond its head and content: the objects, the spans, the key, the Map slot (measured: ~1 KiB). */
const OVERHEAD = 1024
/** Stored responses of one URL at most (RFC 9111 §4.1 leaves it to the cache). */
export const MAX_VARIANTS = 32
const NONE: readonly Entry[] = []

export class MemoryStore implements CacheStore, FillOwner {
  readonly settings: string
  readonly #max: number
  readonly #maxObject: number
  readonly #map = new Map<string, Entry[]>()
  /** Fills of unknown length, not in the store until complete: a purge or invalidation must reach them too. */
  readonly #pending = new Set<Entry>()
  /** Most recently used first. */
  #first: Entry | null = null
  #last: Entry | null = null
  #bytes = 0
  #entries = 0
  #evicted = 0

  constructor(maxSize: number, maxObject: number, settings = `memory:${maxSize}:${maxObject}`) {
    this.#max = maxSize
    this.#maxObject = maxObject
    this.settings = settings
  }

  lookup(key: string): readonly Entry[] {
    return this.#map.get(key) ?? NONE
  }

  begin(e: Entry): Fill | null {
    if (e.length > this.#maxObject) return null
    const f = new Fill(e, this, this.#maxObject)
    // A length known from the start: in the store now, readable while it arrives.
    if (e.length >= 0) this.#add(e)
    else this.#pending.add(e)
    return f
  }

  filled(e: Entry): void {
    this.#pending.delete(e)
    if (e.gone) return
    if (e.size === 0) this.#add(e)
    else this.#resize(e)
  }

  failed(e: Entry): void {
    this.#pending.delete(e)
    this.remove(e)
  }

  content(e: Entry): Content {
    return new BufferContent(e.body!)
  }

  touch(e: Entry): void {
    if (e.gone || this.#first === e) return
    this.#unlink(e)
    this.#linkFirst(e)
  }

  update(e: Entry): void {
    this.#resize(e)
  }

  remove(e: Entry): void {
    if (e.gone) return
    e.gone = true
    // Not in the store yet (a fill of unknown length): nothing to take out.
    if (e.size === 0) return
    const list = this.#map.get(e.key)
    if (list !== undefined) {
      const i = list.indexOf(e)
      if (i >= 0) list.splice(i, 1)
      if (list.length === 0) this.#map.delete(e.key)
    }
    this.#unlink(e)
    this.#bytes -= e.size
    this.#entries--
  }

  removeKey(key: string): number {
    for (const e of this.#pending) if (e.key === key) { e.gone = true; this.#pending.delete(e) }
    const list = this.#map.get(key)
    if (list === undefined) return 0
    const n = list.length
    for (const e of [...list]) this.remove(e)
    return n
  }

  removePrefix(prefix: string): number {
    for (const e of this.#pending) if (e.key.startsWith(prefix)) { e.gone = true; this.#pending.delete(e) }
    let n = 0
    for (const key of [...this.#map.keys()]) if (key.startsWith(prefix)) n += this.removeKey(key)
    return n
  }

  stats(): StoreStats {
    return { entries: this.#entries, bytes: this.#bytes, evicted: this.#evicted, faults: 0 }
  }

  close(): void {
    for (const key of [...this.#map.keys()]) this.removeKey(key)
  }

  /** Puts `e` in place of the entry of the same variant, at the hot end, and makes room for it. */
  #add(e: Entry): void {
    let list = this.#map.get(e.key)
    if (list === undefined) this.#map.set(e.key, list = [])
    const same = list.find((o) => o.variant === e.variant && o !== e)
    if (same !== undefined) this.remove(same)
    // Variants a client can multiply (Vary: User-Agent, Cookie...) are capped per URL: the oldest goes.
    while (list.length >= MAX_VARIANTS) this.remove(list[0])
    if (!this.#map.has(e.key)) this.#map.set(e.key, list)
    list.push(e)
    e.size = sizeOf(e)
    this.#bytes += e.size
    this.#entries++
    this.#linkFirst(e)
    this.#evict(e)
  }

  #resize(e: Entry): void {
    if (e.gone) return
    const size = sizeOf(e)
    this.#bytes += size - e.size
    e.size = size
    this.#evict(e)
  }

  /** Whole entries from the cold end until the budget holds (never `keep`, the one being added). */
  #evict(keep: Entry): void {
    let e = this.#last
    while (this.#bytes > this.#max && e !== null) {
      const prev = e.prev
      if (e !== keep) { this.remove(e); this.#evicted++ }
      e = prev
    }
  }

  #linkFirst(e: Entry): void {
    e.prev = null
    e.next = this.#first
    if (this.#first !== null) this.#first.prev = e
    this.#first = e
    if (this.#last === null) this.#last = e
  }

  #unlink(e: Entry): void {
    if (e.prev !== null) e.prev.next = e.next
    else if (this.#first === e) this.#first = e.next
    if (e.next !== null) e.next.prev = e.prev
    else if (this.#last === e) this.#last = e.prev
    e.prev = e.next = null
  }
}

function sizeOf(e: Entry): number {
  return e.head.buf.length + Math.max(0, e.length) + e.key.length + e.variant.length + OVERHEAD
}
