/**
 * The dashboard's memory: once a second while the admin API is on, one scrape of the whole process
 * group (host.metrics(): in a cluster, one IPC round) becomes a Tick (tick.ts), kept for 15 minutes,
 * so a page opened now shows the recent past at once; plus the picture of now (state.ts) and the last
 * events of the event log (health flips, ejections, reloads, faults).
 */
import { performance } from 'node:perf_hooks'
import type { Config } from '../../config/schema.js'
import type { LoggedEvent } from '../../log/events.js'
import type { GroupStatus } from '../../upstream/group.js'
import type { FamilyData } from '../registry.js'
import { Scrape } from './families.js'
import { TickMaker, type Tick } from './tick.js'
import { configDigest, listenerRows, totals, upstreamRows, workerRows, type LastReload, type State } from './state.js'

/** 15 minutes at one sample a second (issue 14). */
export const HISTORY = 900
export const EVENTS = 100
const PERIOD_MS = 1000

/** What the sampler reads: the admin host (api.ts's AdminHost has all of it). */
export interface SampledHost {
  metrics(): Promise<FamilyData[]>
  config(): Config
  /** Version, pid, uptime, config load time and reload counts (status.ts processStatus). */
  process(): Record<string, unknown>
  /** The groups and peers as this process sees them, without asking the workers. */
  upstreams(): GroupStatus[]
}

export class History {
  readonly ticks: Tick[] = []
  /** The snapshot's JSON, made once per tick however many pages open (stream.ts). */
  snapshotCache: { at: number; json: string } | null = null
  readonly events: LoggedEvent[] = []
  state: State | null = null
  /** Told of each new tick (the stream sends it to every page). */
  onTick: ((t: Tick, s: State) => void) | null = null
  /** Told of each event as it is logged. */
  onEvent: ((e: LoggedEvent) => void) | null = null
  /** Samples taken, and the time they took in all (ms, IPC waits included): the sampler's cost. */
  samples = 0
  sampleMs = 0
  readonly #host: SampledHost
  readonly #maker = new TickMaker()
  #lastReload: LastReload | null = null
  #timer: NodeJS.Timeout | null = null
  #busy = false

  constructor(host: SampledHost) {
    this.#host = host
  }

  start(): void {
    if (this.#timer !== null) return
    void this.sample()
    this.#timer = setInterval(() => { void this.sample() }, PERIOD_MS).unref()
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  /** One sample now (a slow IPC round is never overlapped: that second is skipped). */
  async sample(): Promise<void> {
    if (this.#busy) return
    this.#busy = true
    const t0 = performance.now()
    try {
      const s = new Scrape(await this.#host.metrics())
      const tick = this.#maker.next(s, Date.now())
      // The page reads peers from the newest tick only (its table): the history keeps them for that
      // one, so a snapshot stays small with hundreds of peers (14 MB with 240, before).
      const prev = this.ticks[this.ticks.length - 1]
      if (prev !== undefined) prev.peers = {}
      this.ticks.push(tick)
      if (this.ticks.length > HISTORY) this.ticks.shift()
      const ms = performance.now() - t0
      this.samples++
      this.sampleMs += ms
      this.state = this.#state(s, ms)
      this.onTick?.(tick, this.state)
    } catch {
      // A worker that did not answer in time: this second has no tick; the next one measures from the last.
    } finally {
      this.#busy = false
    }
  }

  /** An event of the event log (the Admin's watcher): kept for new pages, and the last reload's result. */
  observe(e: LoggedEvent): void {
    if (e.event === 'reloaded' || e.event === 'reload refused') {
      this.#lastReload = { ok: e.event === 'reloaded', time: e.time, ...(typeof e.error === 'string' ? { error: e.error } : {}) }
    }
    this.events.push(e)
    if (this.events.length > EVENTS) this.events.shift()
    this.snapshotCache = null // a page opened from now on gets this event in its snapshot
    this.onEvent?.(e)
  }

  #state(s: Scrape, ms: number): State {
    const p = this.#host.process() as { version: unknown; pid: number; uptime_seconds: number; config: Record<string, unknown> }
    return {
      version: p.version,
      pid: p.pid,
      uptime: p.uptime_seconds,
      config: { digest: configDigest(this.#host.config()), loaded_at: p.config.loaded_at, reloads_ok: p.config.reloads_ok, reloads_failed: p.config.reloads_failed },
      last_reload: this.#lastReload,
      workers: workerRows(s),
      listeners: listenerRows(s),
      upstreams: upstreamRows(s, this.#host.upstreams()),
      totals: totals(s),
      sampler_ms: Math.round(ms * 100) / 100,
    }
  }
}
