/**
 * The cluster store, primary side: the one owner of the counters of every worker's memory-store
 * limits (the worker side, and the wire format: filters/rate-limit/cluster-store.ts). Each batch a
 * worker sends is decided with the primary's memory store, one take per request in arrival order,
 * and answered in one message. The store is this process's LocalStore (stores.ts), the same instance
 * across reloads, so the counters survive them.
 *
 * It also keeps a ledger of the inflight places each worker holds, so that a worker that crashes or is
 * replaced gives them back: its exchanges will never release them.
 */
import type { Config } from '../config/schema.js'
import type { LocalStore } from '../filters/rate-limit/local-store.js'
import { localStore, maxKeys } from '../filters/rate-limit/stores.js'
import type { Ask, Verdict } from '../filters/rate-limit/store.js'
import { AskBatch, decodeAsks, encodeVerdicts, holdsPlace, refusedTake, VerdictBatch } from '../filters/rate-limit/cluster-wire.js'

export class RateLimits {
  readonly #store: LocalStore
  /** Per worker (its cluster id): inflight key → places it holds now. */
  readonly #held = new Map<number, Map<string, number>>()

  constructor(config: Config) {
    const n = maxKeys(config)
    this.#store = localStore(n)
    this.#store.maxKeys = n // an earlier primary in this process (a spec) may have left it higher
  }

  /** A reload sets the bound (it may lower it too); the counters stay. */
  reload(config: Config): void {
    this.#store.maxKeys = maxKeys(config)
  }

  get store(): LocalStore { return this.#store }

  /**
   * Decides one batch of `worker`: its releases first (they happened in the same turn as its takes,
   * whose places they may free), then each take in order. Returns the answer, or null for a batch
   * without takes.
   */
  answer(worker: number, m: AskBatch): VerdictBatch | null {
    for (const key of m.r) this.#release(worker, key)
    if (m.n === 0) return null
    const v: number[] = []
    for (const t of m.t) {
      const asks = decodeAsks(t)
      const out = this.#store.take(asks)
      encodeVerdicts(out, v)
      this.#hold(worker, asks, out)
    }
    return { type: 'rl-v', n: m.n, v }
  }

  /** A worker exited (crashed, stopped, or replaced): every place it held is given back. */
  gone(worker: number): void {
    const held = this.#held.get(worker)
    if (held === undefined) return
    this.#held.delete(worker)
    for (const [key, n] of held) for (let i = 0; i < n; i++) this.#store.release(key)
  }

  /** Places `worker` holds now under `key` (for specs and the ledger's own checks). */
  held(worker: number, key: string): number {
    return this.#held.get(worker)?.get(key) ?? 0
  }

  /** Notes the inflight places a take committed (holdsPlace: the rule of gcra.ts). */
  #hold(worker: number, asks: readonly Ask[], out: readonly Verdict[]): void {
    let refused: boolean | null = null
    for (let i = 0; i < asks.length; i++) {
      if (asks[i].policy.kind !== 'inflight') continue
      refused ??= refusedTake(asks, out) // only for a take with an inflight ask: rate-only takes skip it
      if (!holdsPlace(asks[i], out[i], refused)) continue
      let held = this.#held.get(worker)
      if (held === undefined) this.#held.set(worker, held = new Map())
      held.set(asks[i].key, (held.get(asks[i].key) ?? 0) + 1)
    }
  }

  /**
   * A place this worker holds goes back. One it does not hold is ignored: a take it admitted blind
   * (fail open) may have taken none, and must not free another worker's.
   */
  #release(worker: number, key: string): void {
    const held = this.#held.get(worker)
    const n = held?.get(key) ?? 0
    if (n === 0) return
    if (n === 1) held!.delete(key)
    else held!.set(key, n - 1)
    this.#store.release(key)
  }
}
