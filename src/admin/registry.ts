/**
 * The metrics registry: families of counters, gauges and fixed-bucket histograms, read at scrape time.
 *
 * Chosen over prom-client by measurement (bench/micro/metrics.ts, docs/metrics.md): prom-client
 * finds a labelled child by hashing its label values on every `inc` and `observe`; here a child is a
 * slot in a typed array, resolved once when a config is compiled (a route's slots live on its
 * runtime), so counting one exchange is a few array increments, with no string built and no Map read.
 *
 * Two kinds of family:
 * - stored: `CounterVec` and `HistogramVec` hold their numbers here, one slot per label set, for the
 *   hot path (requests per route, durations);
 * - collected: a function reads live objects at scrape time (open connections, peers, pools, the
 *   process), so keeping them current costs nothing between scrapes.
 *
 * Label values come from config names only (route, upstream, peer, listener, limit): the number of
 * series is bounded by the config, never by traffic (issue 13).
 */

/** 0.5 ms to 30 s, in seconds (issue 13): the duration histograms' upper bounds. */
export const DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

export type Kind = 'counter' | 'gauge' | 'histogram'

/**
 * How a cluster primary adds up the same family from its workers (src/admin/merge.ts): `sum`
 * (counters, histograms, and gauges whose total means something: open connections), or `worker`
 * (each worker's own series, told apart by a `worker` label: process memory, peer states), or `max`
 * (the same fact in every process, kept once: a certificate's expiry, build info).
 */
export type Merge = 'sum' | 'worker' | 'max'

/** One series: its label values (in the family's label order) and its value. */
export interface Sample {
  readonly labels: readonly string[]
  readonly value: number
}

/** One histogram series: counts per bucket (not cumulative; the last is above every bound), sum, count. */
export interface HistSample {
  readonly labels: readonly string[]
  readonly buckets: readonly number[]
  readonly sum: number
  readonly count: number
}

/** A family as read at one scrape: plain data, JSON on the cluster channel. */
export interface FamilyData {
  readonly name: string
  readonly help: string
  readonly kind: Kind
  readonly labels: readonly string[]
  readonly merge: Merge
  /** Histograms only: the upper bounds, in seconds. */
  readonly bounds?: readonly number[]
  readonly samples: (Sample | HistSample)[]
}

export interface Family {
  read(): FamilyData
}

/** Growable slots: a counter's values, or a histogram's rows. */
class Slots {
  values: Float64Array
  readonly keys = new Map<string, number>()
  readonly labels: string[][] = []
  readonly #width: number

  constructor(width: number) {
    this.#width = width
    this.values = new Float64Array(width * 16)
  }

  /** The slot of a label set, made on first use (at config compile, or once per new status code). */
  slot(labels: readonly string[]): number {
    const k = labels.join('\u0000')
    let i = this.keys.get(k)
    if (i !== undefined) return i
    i = this.labels.length
    this.labels.push([...labels])
    this.keys.set(k, i)
    if ((i + 1) * this.#width > this.values.length) {
      const grown = new Float64Array(this.values.length * 2)
      grown.set(this.values)
      this.values = grown
    }
    return i
  }
}

/** Counters with labels; `values[slot] += n` is the whole cost of counting. */
export class CounterVec implements Family {
  readonly #slots = new Slots(1)
  readonly name: string
  readonly help: string
  readonly labelNames: readonly string[]

  constructor(name: string, help: string, labelNames: readonly string[]) {
    this.name = name
    this.help = help
    this.labelNames = labelNames
  }

  slot(...labels: string[]): number { return this.#slots.slot(labels) }

  /** The array the slots index; read it again after `slot()` (it may have grown). */
  get values(): Float64Array { return this.#slots.values }

  inc(slot: number, n = 1): void { this.#slots.values[slot] += n }

  read(): FamilyData {
    const v = this.#slots.values
    return {
      name: this.name, help: this.help, kind: 'counter', labels: this.labelNames, merge: 'sum',
      samples: this.#slots.labels.map((labels, i) => ({ labels, value: v[i] })),
    }
  }
}

/**
 * Fixed-bucket histograms with labels: one row per slot of (buckets + 2) numbers, the counts per
 * bucket, then the sum and the count. Finding the bucket is a scan from the smallest bound: most
 * observations of a proxy are short, so it ends after a few comparisons.
 */
export class HistogramVec implements Family {
  readonly #slots: Slots
  readonly #bounds: readonly number[]
  readonly #width: number
  readonly name: string
  readonly help: string
  readonly labelNames: readonly string[]

  constructor(name: string, help: string, labelNames: readonly string[], bounds = DURATION_BUCKETS) {
    this.name = name
    this.help = help
    this.labelNames = labelNames
    this.#bounds = bounds
    this.#width = bounds.length + 3
    this.#slots = new Slots(this.#width)
  }

  slot(...labels: string[]): number { return this.#slots.slot(labels) }

  observe(slot: number, v: number): void {
    const b = this.#bounds
    const row = slot * this.#width
    let i = 0
    while (i < b.length && v > b[i]) i++
    const a = this.#slots.values
    a[row + i]++
    a[row + b.length + 1] += v
    a[row + b.length + 2]++
  }

  read(): FamilyData {
    const a = this.#slots.values
    const n = this.#bounds.length
    return {
      name: this.name, help: this.help, kind: 'histogram', labels: this.labelNames, merge: 'sum', bounds: this.#bounds,
      samples: this.#slots.labels.map((labels, s) => {
        const row = s * this.#width
        return { labels, buckets: Array.from(a.subarray(row, row + n + 1)), sum: a[row + n + 1], count: a[row + n + 2] }
      }),
    }
  }
}

/** One histogram without labels, kept by its owner (a peer's probe latency): fold it into a family at scrape. */
export class Buckets {
  readonly counts: Float64Array
  sum = 0
  count = 0
  readonly bounds: readonly number[]

  constructor(bounds = DURATION_BUCKETS) {
    this.bounds = bounds
    this.counts = new Float64Array(bounds.length + 1)
  }

  observe(v: number): void {
    const b = this.bounds
    let i = 0
    while (i < b.length && v > b[i]) i++
    this.counts[i]++
    this.sum += v
    this.count++
  }

  sample(labels: readonly string[]): HistSample {
    return { labels, buckets: Array.from(this.counts), sum: this.sum, count: this.count }
  }
}

/** A family read from live objects at each scrape. */
export class Collected implements Family {
  readonly #head: Omit<FamilyData, 'samples'>
  readonly #collect: () => (Sample | HistSample)[]

  constructor(head: Omit<FamilyData, 'samples'>, collect: () => (Sample | HistSample)[]) {
    this.#head = head
    this.#collect = collect
  }

  read(): FamilyData { return { ...this.#head, samples: this.#collect() } }
}

/** Shorthand for a collected family. */
export function collected(name: string, kind: Kind, help: string, labels: readonly string[], merge: Merge, collect: () => (Sample | HistSample)[], bounds?: readonly number[]): Collected {
  return new Collected({ name, help, kind, labels, merge, ...(bounds === undefined ? {} : { bounds }) }, collect)
}

/** The families of one process, in the order they are written. */
export class Registry {
  readonly #families: Family[] = []

  add<F extends Family>(f: F): F {
    this.#families.push(f)
    return f
  }

  read(): FamilyData[] {
    return this.#families.map((f) => f.read())
  }
}
