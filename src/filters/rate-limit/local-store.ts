/**
 * The memory store: the counters of this process (or, with `workers: N`, of the cluster primary for
 * all its workers: cluster-store.ts). Synchronous, so a limited route stays on the hot path's plain
 * calls.
 *
 * Bounded by `maxKeys` rate keys, in two generations (as quick-lru does): a key admitted goes into
 * the young Map; when that holds half the bound, the old Map is dropped whole and the young one
 * becomes the old. A key read from the old generation and admitted again moves to the young one. So
 * the keys least recently admitted go first, a generation at a time, at O(1) per decision: no
 * per-key LRU list, and no eviction scan (a Map evicted key by key from its front makes every later
 * eviction walk the holes left there: measured 33 µs a decision at 50,000 keys). A key at rest, whose
 * TAT is past, holds nothing and goes the same way. A key dropped while its TAT is still ahead forgets
 * that client's debt: `evicted` counts those, for the operator to raise the bound.
 */
import { Cells, release, take } from './gcra.js'
import type { Ask, Store, Verdict } from './store.js'

/** The store's clock: monotonic ms (a wall-clock step must not free or block every key). */
const clock = (): number => performance.now()

export class LocalStore implements Store, Cells {
  #young = new Map<string, number>()
  #old = new Map<string, number>()
  readonly #inflight = new Map<string, number>()
  #max: number
  /** A generation holds this many keys at most (half the bound). */
  #half: number
  /** Keys dropped while their TAT was still ahead of the clock. */
  evicted = 0

  constructor(maxKeys: number) {
    this.#max = maxKeys
    this.#half = Math.max(1, Math.floor(maxKeys / 2))
  }

  /** A reload may change the bound; the counters stay. */
  get maxKeys(): number { return this.#max }
  set maxKeys(n: number) {
    this.#max = n
    this.#half = Math.max(1, Math.floor(n / 2))
  }

  /** Rate keys held now (never more than maxKeys). */
  get size(): number { return this.#young.size + this.#old.size }

  take(asks: readonly Ask[], now = clock()): Verdict[] {
    return take(this, asks, now)
  }

  release(key: string): void {
    release(this, key)
  }

  tat(key: string): number | undefined {
    const t = this.#young.get(key)
    return t !== undefined ? t : this.#old.get(key)
  }

  setTat(key: string, tat: number): void {
    const y = this.#young
    const before = y.size
    y.set(key, tat)
    if (y.size === before) return // was young already: updated in place
    if (this.#old.size !== 0) this.#old.delete(key)
    if (y.size >= this.#half) this.#turn()
  }

  /** A refused key read from the old generation moves to the young one (its debt is kept). */
  touch(key: string): void {
    if (this.#young.has(key)) return
    const t = this.#old.get(key)
    if (t !== undefined) this.setTat(key, t)
  }

  /** The young generation is full: the old one goes, whole. O(half) once per half new keys. */
  #turn(): void {
    const now = clock()
    for (const t of this.#old.values()) if (t > now) this.evicted++
    this.#old = this.#young
    this.#young = new Map()
  }

  inflight(key: string): number {
    return this.#inflight.get(key) ?? 0
  }

  setInflight(key: string, n: number): void {
    if (n === 0) this.#inflight.delete(key)
    else this.#inflight.set(key, n)
  }
}
