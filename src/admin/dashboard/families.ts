/**
 * Reading one scrape (FamilyData[], as GET /metrics renders it) for the dashboard: sums of a family's
 * series grouped by a key made of their labels, and quantiles from histogram bucket counts. The
 * sampler (history.ts) keeps the last scrape's sums and takes differences: per-second rates.
 */
import type { FamilyData, HistSample, Sample } from '../registry.js'

/** Cache outcomes served from the cache, and those that had to ask a peer (docs/cache.md). */
export const CACHE_HIT = new Set(['hit', 'stale', 'revalidated'])
export const CACHE_MISS = new Set(['uri-miss', 'vary-miss', 'request'])

/** The labels of one series by name (a cluster's `worker` label included). */
export type Labels = (name: string) => string

/** Groups a series under a key (null: left out). */
export type KeyOf = (l: Labels) => string | null

export class Scrape {
  readonly #byName: Map<string, FamilyData>

  constructor(families: readonly FamilyData[]) {
    this.#byName = new Map(families.map((f) => [f.name, f]))
  }

  has(name: string): boolean { return this.#byName.has(name) }

  /** Each series of a family with a reader of its labels. */
  each(name: string, f: (s: Sample | HistSample, l: Labels) => void): void {
    const fam = this.#byName.get(name)
    if (fam === undefined) return
    const at = new Map(fam.labels.map((n, i) => [n, i]))
    for (const s of fam.samples) {
      const l: Labels = (n) => { const i = at.get(n); return i === undefined ? '' : s.labels[i] ?? '' }
      f(s, l)
    }
  }

  /** A counter's or gauge's values summed per key. */
  sums(name: string, key: KeyOf): Map<string, number> {
    const out = new Map<string, number>()
    this.each(name, (s, l) => {
      const k = key(l)
      if (k !== null && 'value' in s) out.set(k, (out.get(k) ?? 0) + s.value)
    })
    return out
  }

  /** One number: every series of a family (that `keep` keeps) added up. */
  total(name: string, keep: (l: Labels) => boolean = () => true): number {
    return this.sums(name, (l) => (keep(l) ? '' : null)).get('') ?? 0
  }

  /** A histogram's bucket counts (not cumulative) summed per key. */
  buckets(name: string, key: KeyOf): Map<string, number[]> {
    const out = new Map<string, number[]>()
    this.each(name, (s, l) => {
      const k = key(l)
      if (k === null || !('buckets' in s)) return
      const had = out.get(k)
      out.set(k, had === undefined ? [...s.buckets] : had.map((n, i) => n + s.buckets[i]))
    })
    return out
  }

  bounds(name: string): readonly number[] { return this.#byName.get(name)?.bounds ?? [] }
}

/**
 * now − before per key, never below 0 (a worker that restarted counts from 0 again); a series new
 * since `before` counts from 0 (a status code's series is made at its first request); no `before`
 * (the first scrape): all 0.
 */
export function deltas(now: Map<string, number>, before: Map<string, number> | undefined): Map<string, number> {
  const out = new Map<string, number>()
  for (const [k, v] of now) out.set(k, before === undefined ? 0 : Math.max(0, v - (before.get(k) ?? 0)))
  return out
}

export function bucketDeltas(now: Map<string, number[]>, before: Map<string, number[]> | undefined): Map<string, number[]> {
  const out = new Map<string, number[]>()
  for (const [k, v] of now) {
    const b = before?.get(k)
    out.set(k, v.map((n, i) => (before === undefined ? 0 : Math.max(0, n - (b?.[i] ?? 0)))))
  }
  return out
}

/**
 * The q-quantile of counts per bucket (`counts[i]` observations ≤ bounds[i]; the last above every
 * bound), in the bounds' unit, interpolated linearly inside its bucket as Prometheus's
 * histogram_quantile does; the highest bound when it falls above them all; null with no observation.
 */
export function quantile(q: number, counts: readonly number[], bounds: readonly number[]): number | null {
  const total = counts.reduce((a, b) => a + b, 0)
  if (total === 0) return null
  const rank = q * total
  let seen = 0
  for (let i = 0; i < counts.length; i++) {
    if (seen + counts[i] >= rank && counts[i] > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1]
      const lo = i === 0 ? 0 : bounds[i - 1]
      return lo + (bounds[i] - lo) * ((rank - seen) / counts[i])
    }
    seen += counts[i]
  }
  return bounds[bounds.length - 1]
}
