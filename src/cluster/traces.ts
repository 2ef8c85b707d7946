/**
 * Tracing across a cluster (src/trace/): requests run in the workers, the admin API in the primary.
 * An arming (POST /traces) goes to every worker, each of which could match; the records come back
 * here, and once an arming has its N records the workers are told to stop (a record that crossed
 * that message on the way is dropped), so the ring gets exactly N. `--trace` goes out in the start
 * message. Held by the primary (primary.ts), read by the admin API as its TraceFeed.
 */
import type { TraceRecord } from '../trace/record.js'
import type { TraceWatcher } from '../trace/tracer.js'
import type { ToWorker } from './messages.js'

/** An arming, as sent to each worker (and replayed to a worker forked later). */
export interface TraceArm {
  readonly type: 'trace-arm'
  readonly id: number
  readonly count: number
  readonly route: string
  readonly path: string
}

export class ClusterTraces {
  /** `rawproxy --trace`: every worker traces every request. */
  readonly all: boolean
  readonly watchers = new Set<TraceWatcher>()
  /** Live armings and the records each still wants. */
  readonly #arms = new Map<number, { msg: TraceArm; left: number }>()
  #next = 1
  readonly #broadcast: (m: ToWorker) => void

  constructor(all: boolean, broadcast: (m: ToWorker) => void) {
    this.all = all
    this.#broadcast = broadcast
  }

  arm(count: number, route: string, path: string): void {
    const msg: TraceArm = { type: 'trace-arm', id: this.#next++, count, route, path }
    this.#arms.set(msg.id, { msg, left: count })
    this.#broadcast(msg)
  }

  /** The armings a worker forked now must hear. */
  live(): TraceArm[] {
    return [...this.#arms.values()].map((a) => ({ ...a.msg, count: a.left }))
  }

  /** A worker's record: to the watchers, unless its arming already has its count. */
  record(r: TraceRecord, arm: number): void {
    if (arm !== 0) {
      const a = this.#arms.get(arm)
      if (a === undefined) return
      if (--a.left === 0) {
        this.#arms.delete(arm)
        this.#broadcast({ type: 'trace-disarm', id: arm })
      }
    }
    for (const w of this.watchers) w(r, arm)
  }
}
