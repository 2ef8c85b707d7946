/**
 * The hot path of the metrics: one route's slots in the stored families, resolved once when a config
 * is compiled (Runtime), and the observation of one finished exchange (server/connection.ts calls it
 * where the access log line is made). Counting an exchange is a few typed-array increments: the slot
 * of its status is read from a table by status code; only a status or a termination cause not seen
 * before on this route costs a lookup, once.
 */
import type { Exchange } from '../proxy/exchange.js'
import type { CounterVec, HistogramVec } from './registry.js'

/** The stored families a route counts into (admin/proxy-metrics.ts makes them once per Server). */
export interface Stored {
  readonly requests: CounterVec
  readonly duration: HistogramVec
  readonly head: HistogramVec
  readonly bytesIn: CounterVec
  readonly bytesOut: CounterVec
  readonly authFailures: CounterVec
}

/** "2xx" for 200..299; "none" when no response was written (the client left first). */
function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'none'
}

const AUTH_REASONS = ['unauthorized', 'too_many', 'busy']

export class RouteStats {
  readonly route: string
  readonly upstream: string
  readonly #f: Stored
  /** Status code → slot of (route, upstream, class, code, cause "--"); -1 until seen. */
  readonly #ok = new Int32Array(600).fill(-1)
  /** Termination cause → its own status table, for the exchanges that did not end in "--". */
  readonly #other = new Map<string, Int32Array>()
  /** auth's refusals: 401, 429 (too many failures), 503 (verifier busy) → slot; -1 until seen. */
  readonly #auth = new Int32Array(3).fill(-1)
  readonly #duration: number
  readonly #head: number
  readonly #bytesIn: number
  readonly #bytesOut: number

  constructor(f: Stored, route: string, upstream: string) {
    this.#f = f
    this.route = route
    this.upstream = upstream
    this.#duration = f.duration.slot(route, upstream)
    this.#head = f.head.slot(route, upstream)
    this.#bytesIn = f.bytesIn.slot(route, upstream)
    this.#bytesOut = f.bytesOut.slot(route, upstream)
  }

  /** One finished exchange: its request count, durations and bytes (and an auth failure, if it was one). */
  exchange(x: Exchange): void {
    const f = this.#f
    const cause = x.cause
    const status = x.status
    let slot = cause === '--' && status < 600 ? this.#ok[status] : -1
    if (slot < 0) slot = this.#find(status, cause)
    f.requests.values[slot]++
    f.duration.observe(this.#duration, (performance.now() - x.startedAt) / 1000)
    if (x.headMs > 0) f.head.observe(this.#head, x.headMs / 1000)
    f.bytesIn.values[this.#bytesIn] += x.bytesIn
    f.bytesOut.values[this.#bytesOut] += x.bytesOut
    if (cause === 'PA') this.#authFailure(status)
  }

  #authFailure(status: number): void {
    const i = status === 401 ? 0 : status === 429 ? 1 : 2
    if (this.#auth[i] < 0) this.#auth[i] = this.#f.authFailures.slot(this.route, AUTH_REASONS[i])
    this.#f.authFailures.values[this.#auth[i]]++
  }

  #find(status: number, cause: string): number {
    const t = cause === '--' ? this.#ok : this.#other.get(cause)
    const s = t !== undefined && status >= 0 && status < 600 ? t[status] : -1
    return s >= 0 ? s : this.#slot(status, cause)
  }

  /** A request answered before it had an exchange (400, 408, 414, 431, 501): counted, not timed. */
  local(status: number, cause: string, bytesOut: number): void {
    const f = this.#f
    f.requests.values[this.#find(status, cause)]++
    f.bytesOut.values[this.#bytesOut] += bytesOut
  }

  #slot(status: number, cause: string): number {
    const code = status >= 400 && status < 600 ? String(status) : ''
    const slot = this.#f.requests.slot(this.route, this.upstream, statusClass(status), code, cause)
    if (status < 0 || status >= 600) return slot
    if (cause === '--') this.#ok[status] = slot
    else {
      let t = this.#other.get(cause)
      if (t === undefined) this.#other.set(cause, t = new Int32Array(600).fill(-1))
      t[status] = slot
    }
    return slot
  }
}

/** A config's route stats: `routes[i]` for config.routes[i] (CompiledRoute.index), `unrouted` for the rest. */
export interface StatsTable {
  readonly routes: readonly RouteStats[]
  readonly unrouted: RouteStats
}

/** Builds a StatsTable for each config a Runtime compiles (admin/proxy-metrics.ts). */
export interface StatsSource {
  table(routes: readonly { readonly label: string; readonly upstream: string }[]): StatsTable
}
