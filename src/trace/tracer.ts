/**
 * Which requests are traced, and where their records go: one per Server (so per process), kept
 * across reloads. A request is traced when
 *   - every request is (`rawproxy --trace`, or `trace: { all: true }` in the config), or
 *   - the admin API armed the next N requests matching a route and a path prefix (`POST /traces`), or
 *   - it carries `rawproxy-trace: 1` and comes from an address in `trace.header_from`.
 * `on` and `watching` are what the hot path reads: when both are false (no tracing of any kind), a
 * request pays one boolean test in the connection and one null test per phase in the Exchange.
 */
import type { Config } from '../config/schema.js'
import { CidrList } from '../config/cidr.js'
import type { ProxyError } from '../errors.js'
import type { Exchange } from '../proxy/exchange.js'
import type { TraceRecord } from './record.js'
import { Trace, TraceClient } from './trace.js'

/** The request field that asks for a trace (from `trace.header_from` only; never forwarded). */
export const TRACE_FIELD = 'rawproxy-trace'

/** An arming by the admin API: the next `left` requests matching `route` and `path` ('' matches all). */
export interface Arm {
  readonly id: number
  left: number
  readonly route: string
  readonly path: string
}

export type TraceWatcher = (r: TraceRecord, arm: number) => void

export class Tracer {
  /** Some request may be traced without asking: all of them, or armed ones. */
  on = false
  /** `on`, or a trusted address may ask with the field: the connection reads the clock at a head's first byte. */
  watching = false
  /** Set by `rawproxy --trace`: every request, whatever the config says. */
  #cli = false
  #config = false
  #from: CidrList | null = null
  #token: string | null = null
  readonly #arms: Arm[] = []
  #nextArm = 1
  #seq = 0
  /** The id's prefix: "p" for a single process, "w1" for cluster worker 1. */
  tag = 'p'
  /** Who hears each finished record: the printer (--trace), the admin API's ring, a worker's IPC. */
  readonly watchers = new Set<TraceWatcher>()

  /** The `trace` key of a (re)loaded config, and the admin token to mask. */
  configure(c: Config): void {
    this.#config = c.trace.all
    this.#from = c.trace.header_from.length === 0 ? null : new CidrList(c.trace.header_from)
    this.#token = c.admin?.token ?? null
    this.#update()
  }

  /** `rawproxy --trace`: every request. */
  set all(v: boolean) { this.#cli = v; this.#update() }
  get all(): boolean { return this.#cli || this.#config }

  /** Arms the next `count` requests matching `route` (a route label, '' any) and `path` (a prefix, '' any). `id`: the primary's, in a worker. */
  arm(count: number, route: string, path: string, id = this.#nextArm++): Arm {
    const a: Arm = { id, left: count, route, path }
    this.#arms.push(a)
    this.#update()
    return a
  }

  /** Ends an arming before its count (the cluster primary has its N records). */
  disarm(id: number): void {
    const i = this.#arms.findIndex((a) => a.id === id)
    if (i >= 0) this.#arms.splice(i, 1)
    this.#update()
  }

  get armed(): readonly Arm[] { return this.#arms }

  #update(): void {
    this.on = this.all || this.#arms.length > 0
    this.watching = this.on || this.#from !== null
  }

  /**
   * The trace of exchange `x`, or null when it is not traced. `asked`: the request carries the trace
   * field; `t0`: performance.now() at its first byte (0: not read).
   */
  choose(x: Exchange, client: TraceClient, asked: boolean, t0: number): Trace | null {
    let arm = 0
    if (!this.all) {
      const a = this.#arms.find((m) => (m.route === '' || m.route === x.routeLabel) && (m.path === '' || x.info.route.startsWith(m.path)))
      if (a !== undefined) {
        arm = a.id
        if (--a.left === 0) this.disarm(a.id)
      } else if (!(asked && this.#from !== null && this.#from.has(client.address))) {
        return null
      }
    }
    const t = new Trace(`${this.tag}-${++this.#seq}`, arm, t0 === 0 ? performance.now() : t0, client, this.#token, (r, id) => this.#emit(r, id))
    t.parsed(x)
    return t
  }

  /** A request refused before it was an exchange (400, 414, 431, 501...): traced when all or any are armed. */
  refused(client: TraceClient, received: Buffer, err: ProxyError, answer: Buffer, t0: number): void {
    if (!this.on) return
    let arm = 0
    if (!this.all) {
      // Nothing to match a route or path on: only an arming for any route and path takes it.
      const a = this.#arms.find((m) => m.route === '' && m.path === '')
      if (a === undefined) return
      arm = a.id
      if (--a.left === 0) this.disarm(a.id)
    }
    new Trace(`${this.tag}-${++this.#seq}`, arm, t0 === 0 ? performance.now() : t0, client, this.#token, (r, id) => this.#emit(r, id)).refused(received, err, answer)
  }

  #emit(r: TraceRecord, arm: number): void {
    for (const w of this.watchers) w(r, arm)
  }
}
