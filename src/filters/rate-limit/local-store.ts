/**
 * The memory store: the counters of this process (or, with `workers: N`, of the cluster primary for
 * all its workers: cluster-store.ts). Synchronous, so a limited route stays on the hot path's plain
 * calls. Bounded: at most `maxKeys` rate keys; past it the least recently admitted key goes first (a
 * key at rest, whose TAT is past, holds nothing and goes the same way). A key evicted while its TAT is
 * still ahead forgets that client's debt: `evicted` counts those, for the operator to raise the bound.
 */
import { Cells, release, take } from './gcra.js'
import type { Ask, Store, Verdict } from './store.js'

/** The store's clock: monotonic ms (a wall-clock step must not free or block every key). */
const clock = (): number => performance.now()

export class LocalStore implements Store, Cells {
  /** Rate key → TAT. Map order is recency of admission: the first key is the one to evict. */
  readonly #tats = new Map<string, number>()
  readonly #inflight = new Map<string, number>()
  #maxKeys: number
  /** Keys dropped for room while their TAT was still ahead of the clock. */
  evicted = 0

  constructor(maxKeys: number) {
    this.#maxKeys = maxKeys
  }

  /** A reload may change the bound; the counters stay. */
  get maxKeys(): number { return this.#maxKeys }
  set maxKeys(n: number) { this.#maxKeys = n }

  get size(): number { return this.#tats.size }

  take(asks: readonly Ask[], now = clock()): Verdict[] {
    return take(this, asks, now)
  }

  release(key: string): void {
    release(this, key)
  }

  tat(key: string): number | undefined {
    return this.#tats.get(key)
  }

  setTat(key: string, tat: number): void {
    const m = this.#tats
    // Delete first so the key moves to the end of the Map's order (most recent).
    if (!m.delete(key) && m.size >= this.#maxKeys) this.#evict(m)
    m.set(key, tat)
  }

  #evict(m: Map<string, number>): void {
    const now = clock()
    for (const [k, t] of m) {
      m.delete(k)
      if (t > now) this.evicted++
      if (m.size < this.#maxKeys) return
    }
  }

  inflight(key: string): number {
    return this.#inflight.get(key) ?? 0
  }

  setInflight(key: string, n: number): void {
    if (n === 0) this.#inflight.delete(key)
    else this.#inflight.set(key, n)
  }
}
