/**
 * The cluster primary (`workers` > 1): it holds the validated config, forks one worker per slot
 * (src/cluster/worker.ts, each a full proxy), and never serves a request itself. It restarts a worker
 * that dies (with backoff), sends every worker a new config on reload, replaces workers one at a time
 * on a rolling restart, broadcasts peer health states, adds up the workers' counters, and keeps the
 * rate-limit counters of every worker (rate-limits.ts).
 * Signals are wired by src/cluster/run.ts; this class is driven by calls, so a spec can drive it too.
 */
import cluster, { Worker } from 'node:cluster'
import { fileURLToPath } from 'node:url'
import type { Address, Config } from '../config/schema.js'
import type { EventLog } from '../log/events.js'
import { add, Counters, zero } from './counters.js'
import { isToPrimary, peerKey, PeerAdmin, PeerState, toWire, ToPrimary, ToWorker } from './messages.js'
import type { FamilyData } from '../admin/registry.js'
import { merge } from '../admin/exposition.js'
import { Runtime } from '../proxy/runtime.js'
import { RateLimits } from './rate-limits.js'
import { ClusterTraces } from './traces.js'

const WORKER_EXEC = fileURLToPath(new URL('./worker.js', import.meta.url))
/** A worker that ran this long before it died starts its backoff afresh. */
const STABLE_MS = 10_000
/** The first restart waits this long, each quick crash after it twice as long, up to the max. */
const BACKOFF_MS = 100
const BACKOFF_MAX_MS = 10_000
/** A forked worker must be listening within this, or it is killed and counted as failed. */
const READY_MS = 10_000
/** A worker must answer a reload or a snapshot request within this. */
const ASK_MS = 5_000

/**
 * Linux: round-robin (SCHED_RR, also Node's default there): the primary accepts and hands each
 * connection to a free worker. The other policy, SCHED_NONE, lets every worker accept from the shared
 * socket, and the kernel wakes whichever it likes; Node's docs report 70% of connections on two of
 * eight processes. A proxy's connections are mostly long-lived keep-alive ones, so a connection
 * placed on a busy worker stays there: a spread that does not depend on the kernel and the core
 * count is worth the primary's accept and fd passing. That cost is real for short connections: on
 * this 2-core machine (wrk and the peer on the same cores), Connection: close gave ~6.4k req/s with 2
 * workers and RR, ~12-13k with SCHED_NONE, ~8.6k with one process; keep-alive gained from RR as from
 * SCHED_NONE (docs/balancing.md, All cores). For short-connection loads, Node's NODE_CLUSTER_SCHED_POLICY=none,
 * when set, is left to choose. Set before the first fork.
 */
function setup(): void {
  if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) cluster.schedulingPolicy = cluster.SCHED_RR
  // JSON, not "advanced": see WireConfig in messages.ts.
  cluster.setupPrimary({ exec: WORKER_EXEC, args: [], serialization: 'json' })
}

export interface WorkerSnapshot {
  readonly slot: number
  readonly pid: number
  readonly counters: Counters
  readonly peers: PeerState[]
  readonly metrics?: FamilyData[]
}

/** One place in the pool of workers; its worker changes on restarts, its backoff stays. */
class Slot {
  readonly index: number
  worker: Worker | null
  startedAt: number
  /** Quick deaths in a row: sets the backoff of the next restart. */
  crashes: number
  timer: NodeJS.Timeout | null

  constructor(index: number) {
    this.index = index
    this.worker = null
    this.startedAt = 0
    this.crashes = 0
    this.timer = null
  }
}

export class Primary {
  #config: Config
  readonly #events: EventLog
  readonly #slots: Slot[]
  /** Every forked worker still alive, serving or not. */
  readonly #all = new Set<Worker>()
  /** Workers whose message listener is attached (they said hello): only these can be told things. */
  readonly #greeted = new WeakSet<Worker>()
  readonly #peerStates = new Map<string, PeerState>()
  /** The admin API's peer actions (drain, disable, enable), replayed to every worker forked later. */
  readonly #peerAdmin = new Map<string, PeerAdmin>()
  /** The active health checks, run here once for all workers (its pools stay unused). */
  #health: Runtime
  /** The final counters of workers that stopped gracefully (a crashed worker's are lost). */
  readonly #retired: Counters
  /** Each serving worker's families as its last scrape saw them, by pid. */
  readonly #lastMetrics = new Map<number, FamilyData[]>()
  /** The summed counters and histograms of the workers that have gone (see #retireMetrics). */
  #retiredMetrics: FamilyData[] = []
  #gen = 0
  #stopping: Promise<Counters> | null = null
  /** Reloads and rolling restarts run one at a time. */
  #chain: Promise<unknown> = Promise.resolve()
  /** The counters of the workers' memory-store rate limits: one owner, so N workers keep one limit. */
  readonly #limits: RateLimits
  /** Tracing: armings out to the workers, records back (traces.ts); the admin API's TraceFeed. */
  readonly traces: ClusterTraces

  /** `trace`: `rawproxy --trace`, every worker traces every request. */
  constructor(config: Config, events: EventLog, trace = false) {
    this.#config = config
    this.#events = events
    this.#slots = Array.from({ length: config.workers }, (_, i) => new Slot(i + 1))
    this.#retired = zero()
    this.#health = this.#checks(config, null)
    this.#limits = new RateLimits(config)
    this.traces = new ClusterTraces(trace, (m) => { for (const w of this.#all) if (this.#greeted.has(w)) this.#send(w, m) })
    setup()
  }

  /**
   * After a reload, the states a worker forked later must hear: the peers the checks hold down now.
   * States of peers the config dropped, or whose checks are off, are forgotten.
   */
  #replayable(): void {
    this.#peerStates.clear()
    for (const g of this.#health.groups.values()) {
      if (g.cfg.health === null) continue
      for (const p of g.peers) if (!p.up) this.#peerStates.set(peerKey({ group: g.name, peer: p.label }), { type: 'peer-state', group: g.name, peer: p.label, up: false })
    }
  }

  /** A runtime whose groups probe their peers and broadcast each flip as a `peer-state` message. */
  #checks(config: Config, previous: Runtime | null): Runtime {
    const rt = new Runtime(config, this.#events, previous, true)
    for (const g of rt.groups.values()) g.onChange = (grp, p, up, reason) => this.peerState({ group: grp.name, peer: p.label, up, reason })
    return rt
  }

  get config(): Config { return this.#config }

  /** The runtime of the active health checks: the peers' health as decided here, for the status. */
  get health(): Runtime { return this.#health }

  /**
   * The admin API's word on a peer: applied to the health runtime here (status, and logged once),
   * then sent to every worker, whose balancers act on it. False when the group has no such peer.
   */
  peerAdmin(group: string, peer: string, action: PeerAdmin['action']): boolean {
    if (this.#health.groups.get(group)?.setAdmin(peer, action) !== true) return false
    const msg: PeerAdmin = { type: 'peer-admin', group, peer, action }
    this.#peerAdmin.set(peerKey(msg), msg)
    for (const w of this.#all) if (this.#greeted.has(w)) this.#send(w, msg)
    return true
  }

  /**
   * Every worker's metric families with `own` (the primary's), merged into one view (exposition.ts):
   * one snapshot message to each worker and its answer, per scrape.
   */
  async metrics(own: FamilyData[]): Promise<FamilyData[]> {
    const snaps = await this.snapshots(true)
    for (const s of snaps) if (s.metrics !== undefined) this.#lastMetrics.set(s.pid, s.metrics)
    return merge([own, this.#retiredMetrics, ...snaps.map((s) => s.metrics ?? [])], ['primary', 'primary', ...snaps.map((s) => String(s.slot))])
  }

  /**
   * A worker is gone: the counters and histograms of its last scrape stay in every later one, so that
   * a summed counter never goes down (Prometheus would read a drop as a reset and count it again).
   */
  #retireMetrics(pid: number | undefined): void {
    const last = pid === undefined ? undefined : this.#lastMetrics.get(pid)
    if (last === undefined) return
    this.#lastMetrics.delete(pid!)
    const kept = last.filter((f) => f.merge === 'sum' && f.kind !== 'gauge')
    this.#retiredMetrics = merge([this.#retiredMetrics, kept], ['primary', 'primary'])
  }

  /** Forks every worker and waits until all listen; if one cannot, stops the others and throws. */
  async start(): Promise<Address[]> {
    const forks = await Promise.allSettled(this.#slots.map((s) => this.#fork(s)))
    const failed = forks.find((f) => f.status === 'rejected')
    if (failed !== undefined) {
      await this.stop()
      throw failed.reason
    }
    const ok = forks as PromiseFulfilledResult<{ worker: Worker; addresses: Address[] }>[]
    ok.forEach((f, i) => this.#adopt(this.#slots[i], f.value.worker))
    return ok[0].value.addresses
  }

  /** Pids of the serving workers, by slot (null: being restarted). */
  pids(): (number | null)[] {
    return this.#slots.map((s) => s.worker?.process.pid ?? null)
  }

  /**
   * Sends a validated config to every worker; each swaps its Runtime without dropping a connection.
   * If one refuses (a listener it cannot open), those that took it go back to the last good config
   * and this throws with the reason. Then a changed `workers` forks the new slots, or stops the last
   * ones gracefully.
   */
  reload(config: Config): Promise<void> {
    return this.#serial(async () => {
      const prev = this.#config
      this.#config = config // a worker forked meanwhile starts on the new config
      const live = this.#live()
      const results = await Promise.allSettled(live.map((w) => this.#reloadOne(w, config)))
      // A worker that died meanwhile is left out: its replacement starts on the new config.
      const errors = results.map((r) => (r.status === 'fulfilled' ? r.value : null))
      const refused = errors.find((e) => e !== null)
      if (refused === undefined || refused === null) {
        const old = this.#health
        old.retire()
        this.#health = this.#checks(config, old)
        this.#replayable()
        this.#limits.reload(config)
        await this.#resize(config.workers)
        return
      }
      this.#config = prev
      await Promise.allSettled(live.filter((_, i) => errors[i] === null).map((w) => this.#reloadOne(w, prev)))
      throw new Error(refused)
    })
  }

  async #resize(n: number): Promise<void> {
    while (this.#slots.length < n) {
      const slot = new Slot(this.#slots.length + 1)
      this.#slots.push(slot)
      await this.#fork(slot).then(({ worker }) => this.#adopt(slot, worker), (err: Error) => {
        slot.crashes = 1
        this.#events.log('error', 'worker start failed', { worker: slot.index, error: err.message, restart_in_ms: backoff(1) })
        this.#restartIn(slot, backoff(1))
      })
    }
    while (this.#slots.length > n) {
      const slot = this.#slots.pop()!
      if (slot.timer !== null) clearTimeout(slot.timer)
      const w = slot.worker
      slot.worker = null // its exit is then no crash
      if (w !== null) await this.#stopWorker(w)
    }
  }

  /** Replaces the workers one at a time; each new one listens before the old one closes gracefully. */
  rollingRestart(): Promise<void> {
    return this.#serial(async () => {
      for (const slot of this.#slots) {
        if (this.#stopping !== null) return
        const old = slot.worker
        const { worker } = await this.#fork(slot) // throws: the old one stays, the restart stops here
        this.#adopt(slot, worker)
        if (old !== null) await this.#stopWorker(old)
      }
    })
  }

  /**
   * Health state of one peer (decided here, once, by the active health checks): kept for workers
   * forked later, and sent to every worker now.
   */
  peerState(state: Omit<PeerState, 'type'>): void {
    const msg: PeerState = { type: 'peer-state', ...state }
    this.#peerStates.set(peerKey(msg), msg)
    for (const w of this.#all) if (this.#greeted.has(w)) this.#send(w, msg)
  }

  /** Each serving worker's counters and the peer states it holds. */
  async snapshots(metrics = false): Promise<WorkerSnapshot[]> {
    const live = this.#slots.filter((s) => s.worker !== null)
    const replies = await Promise.allSettled(live.map(async (s) => {
      const w = s.worker!
      const gen = ++this.#gen
      const m = await this.#ask(w, { type: 'snapshot', gen, metrics }, (r) => r.type === 'snapshot' && r.gen === gen)
      if (m.type !== 'snapshot') throw new Error('unexpected reply')
      return { slot: s.index, pid: w.process.pid!, counters: m.counters, peers: m.peers, metrics: m.metrics }
    }))
    return replies.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
  }

  /** One view of the counters: every serving worker's, plus the final ones of workers since stopped. */
  async counters(): Promise<Counters> {
    const sum = add(zero(), this.#retired)
    for (const s of await this.snapshots()) add(sum, s.counters)
    return sum
  }

  /** Graceful stop of every worker (each finishes its exchanges within `timeouts.grace`). */
  stop(): Promise<Counters> {
    if (this.#stopping !== null) return this.#stopping
    for (const s of this.#slots) if (s.timer !== null) { clearTimeout(s.timer); s.timer = null }
    this.#health.retire()
    this.#stopping = Promise.all([...this.#all].map((w) => this.#stopWorker(w))).then(() => this.#retired)
    return this.#stopping
  }

  // ---- workers ----

  #fork(slot: Slot): Promise<{ worker: Worker; addresses: Address[] }> {
    const w = cluster.fork({ RAWPROXY_WORKER: String(slot.index) })
    this.#all.add(w)
    w.on('error', () => { /* a send to a dying worker; its exit follows */ })
    w.on('message', (m: unknown) => { if (isToPrimary(m)) this.#onMessage(w, m) })
    w.on('exit', (code: number | null, signal: string | null) => this.#onExit(slot, w, code, signal))
    return this.#wait(w, (m) => m.type === 'ready' || m.type === 'failed', READY_MS).then((m) => {
      if (m.type === 'ready') return { worker: w, addresses: m.addresses }
      throw new Error(m.type === 'failed' ? m.error : 'unexpected reply')
    }, (err: Error) => {
      w.process.kill('SIGKILL')
      throw err
    })
  }

  #onMessage(w: Worker, m: ToPrimary): void {
    if (m.type === 'rl') {
      // A dead worker's batch read late: its places were given back at its exit, take none again.
      if (w.isDead()) return
      const reply = this.#limits.answer(w.id, m)
      if (reply !== null) this.#send(w, reply)
    } else if (m.type === 'cache-purge') {
      // Each worker's memory cache holds its own entries: the others drop theirs too.
      for (const o of this.#all) if (o !== w && this.#greeted.has(o)) this.#send(o, m)
    } else if (m.type === 'hello') {
      this.#greeted.add(w)
      for (const s of this.#peerStates.values()) this.#send(w, s) // replayed before the worker starts
      for (const a of this.#peerAdmin.values()) this.#send(w, a)
      for (const a of this.traces.live()) this.#send(w, a)
      this.#send(w, this.#stopping === null ? { type: 'start', config: toWire(this.#config), trace: this.traces.all } : { type: 'stop' })
    } else if (m.type === 'stopped') {
      add(this.#retired, m.counters)
    } else if (m.type === 'event') {
      // A worker's event, logged by the worker: only the watchers (the admin API's stream) hear it here.
      for (const watch of this.#events.watchers) watch(m.event)
    } else if (m.type === 'trace') {
      this.traces.record(m.record, m.arm)
    }
  }

  #adopt(slot: Slot, w: Worker): void {
    if (slot.timer !== null) { clearTimeout(slot.timer); slot.timer = null }
    slot.worker = w
    slot.startedAt = Date.now()
  }

  #onExit(slot: Slot, w: Worker, code: number | null, signal: string | null): void {
    this.#retireMetrics(w.process.pid)
    this.#all.delete(w)
    this.#limits.gone(w.id) // its exchanges are gone: they will never release their places
    // Asked to stop, replaced by a rolling restart, or a fork that never served: nothing to restart.
    if (slot.worker !== w || this.#stopping !== null) return
    slot.worker = null
    slot.crashes = Date.now() - slot.startedAt >= STABLE_MS ? 1 : slot.crashes + 1
    const delay = backoff(slot.crashes)
    const how = signal !== null || code !== 0 ? 'worker crashed' : 'worker exited'
    this.#events.log(how === 'worker crashed' ? 'error' : 'warn', how, { worker: slot.index, pid: w.process.pid, code, signal, restart_in_ms: delay })
    this.#restartIn(slot, delay)
  }

  #restartIn(slot: Slot, delay: number): void {
    slot.timer = setTimeout(() => {
      slot.timer = null
      this.#fork(slot).then(({ worker }) => {
        if (this.#stopping !== null) { void this.#stopWorker(worker); return }
        this.#adopt(slot, worker)
        this.#events.log('info', 'worker restarted', { worker: slot.index, pid: worker.process.pid })
      }, (err: Error) => {
        if (this.#stopping !== null || slot.worker !== null) return
        slot.crashes++
        const next = backoff(slot.crashes)
        this.#events.log('error', 'worker restart failed', { worker: slot.index, error: err.message, restart_in_ms: next })
        this.#restartIn(slot, next)
      })
    }, delay)
  }

  /** Asks a worker to close gracefully and waits for its exit; one that outlives its grace is killed. */
  #stopWorker(w: Worker): Promise<void> {
    if (w.isDead()) return Promise.resolve()
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()))
    if (!this.#greeted.has(w)) w.process.kill('SIGKILL') // not started yet: nothing to finish
    else this.#send(w, { type: 'stop' })
    const limit = setTimeout(() => w.process.kill('SIGKILL'), this.#config.timeouts.grace + 5_000)
    return exited.then(() => clearTimeout(limit))
  }

  async #reloadOne(w: Worker, config: Config): Promise<string | null> {
    const gen = ++this.#gen
    const m = await this.#ask(w, { type: 'reload', gen, config: toWire(config) }, (r) => (r.type === 'reloaded' || r.type === 'reload-failed') && r.gen === gen)
    return m.type === 'reload-failed' ? m.error : null
  }

  #live(): Worker[] {
    return this.#slots.flatMap((s) => (s.worker === null ? [] : [s.worker]))
  }

  #send(w: Worker, m: ToWorker): void {
    if (!w.isDead() && w.isConnected()) w.send(m)
  }

  #ask(w: Worker, m: ToWorker, match: (r: ToPrimary) => boolean): Promise<ToPrimary> {
    const reply = this.#wait(w, match, ASK_MS)
    this.#send(w, m)
    return reply
  }

  /** The first message from `w` that matches; rejects if the worker exits first or `ms` passes. */
  #wait(w: Worker, match: (m: ToPrimary) => boolean, ms: number): Promise<ToPrimary> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: unknown): void => { if (isToPrimary(m) && match(m)) { done(); resolve(m) } }
      const onExit = (): void => { done(); reject(new Error(`worker ${w.process.pid} exited`)) }
      const timer = setTimeout(() => { done(); reject(new Error(`worker ${w.process.pid} did not answer within ${ms} ms`)) }, ms)
      const done = (): void => { clearTimeout(timer); w.off('message', onMessage); w.off('exit', onExit) }
      w.on('message', onMessage)
      w.on('exit', onExit)
    })
  }

  #serial<T>(step: () => Promise<T>): Promise<T> {
    const p = this.#chain.then(step)
    this.#chain = p.catch(() => {})
    return p
  }
}

/** 100 ms, 200 ms, 400 ms... for crashes in a row, up to 10 s. */
export function backoff(crashes: number): number {
  return Math.min(BACKOFF_MS * 2 ** Math.max(crashes - 1, 0), BACKOFF_MAX_MS)
}
