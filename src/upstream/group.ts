/**
 * An upstream group: the peers a route sends to, the balancer that picks among them, and their
 * health. Health has two sources, combined here:
 *
 * - active checks (health-check.ts): `fall` failed probes in a row take a peer down, `rise` good ones
 *   bring it back (HAProxy's rise/fall);
 * - passive health (outlier ejection, in the style of Envoy): consecutive connect failures or resets
 *   (and optionally 5xx answers) in real traffic eject a peer for a cooldown that doubles each time.
 *
 * A peer is used when it is up and not ejected. The active check wins over passive signals: a peer it
 * brings back up is no longer ejected. Passive ejections never take out more than
 * `max_ejected_percent` of the peers. Backups are picked only when no primary is available.
 */
import type { Upstream, Timeouts, Passive } from '../config/schema.js'
import type { Limits } from '../http/llhttp.js'
import type { Head } from '../http/head.js'
import type { EventLog } from '../log/events.js'
import { DISABLED, DRAINING, ENABLED, Peer } from './peer.js'
import { Balancer, Eligible } from './balancer.js'
import { RoundRobin } from './round-robin.js'
import { LeastConn } from './least-conn.js'
import { RandomTwo } from './random-two.js'
import { Hash } from './hash.js'
import { KeySource } from './hash-key.js'
import { RetryBudget } from './retry-budget.js'
import { HealthChecker } from './health-check.js'

/** A peer's state: the admin API's word first (draining, disabled), then health's. */
export type PeerState = 'up' | 'down' | 'ejected' | 'ramping' | 'draining' | 'disabled'

/** The state of `p` at `now` (status snapshot, metrics). */
export function peerState(p: Peer, now: number): PeerState {
  if (p.admin === DRAINING) return 'draining'
  if (p.admin === DISABLED) return 'disabled'
  return !p.up ? 'down' : p.ejectedUntil !== 0 ? 'ejected' : p.rampUntil > now ? 'ramping' : 'up'
}

/** A peer's state in the status snapshot. */
export interface PeerStatus {
  peer: string
  state: PeerState
  backup: boolean
  weight: number
  effective_weight: number
  inflight: number
  requests: number
  consecutive_failures: number
  ejections: number
  ejected_until: string | null
  last_probe: { ok: boolean; at: string; ms: number; detail: string } | null
}

export interface GroupStatus {
  name: string
  balance: string
  active_checks: boolean
  retries_refused: number
  peers: PeerStatus[]
}

function balancer(cfg: Upstream, peers: readonly Peer[]): Balancer {
  switch (cfg.balance) {
    case 'least_conn': return new LeastConn()
    case 'random_two': return new RandomTwo(cfg.seed ?? undefined)
    case 'hash': return new Hash(peers)
    default: return new RoundRobin()
  }
}
import { PeerTls } from './peer-tls.js'

export class Group {
  readonly name: string
  readonly peers: readonly Peer[]
  readonly cfg: Upstream
  readonly budget: RetryBudget
  /** For `balance: hash`: where the key comes from; null for the other balancers. */
  readonly keys: KeySource | null
  readonly #balancer: Balancer
  readonly #ok = new Eligible()
  readonly #hasBackups: boolean
  readonly #events: EventLog | null
  readonly #checker: HealthChecker | null
  readonly #timers = new Set<NodeJS.Timeout>()
  /** Told of every flip of a peer's active state (a cluster primary sends it on to the workers). */
  onChange: ((g: Group, p: Peer, up: boolean, reason: string) => void) | null = null

  constructor(cfg: Upstream, timeouts: Timeouts, limits: Limits, events: EventLog | null = null, checks = true) {
    this.name = cfg.name
    this.cfg = cfg
    this.peers = cfg.peers.map((a) => new Peer(a, cfg.keepalive, timeouts, limits, cfg.tls === undefined ? null : new PeerTls(cfg.tls, a)))
    this.#balancer = balancer(cfg, this.peers)
    this.keys = cfg.balance === 'hash' ? new KeySource(cfg.hash_key) : null
    this.#hasBackups = this.peers.some((p) => p.backup)
    this.budget = new RetryBudget(cfg.retry_budget)
    this.#events = events
    this.#checker = cfg.health !== null && checks ? new HealthChecker(cfg.health, this.peers, (p, ok, d, ms) => this.probed(p, ok, d, ms)) : null
  }

  /** Starts the active checks, after taking over the health state of the group this one replaces. */
  start(previous: Group | undefined): void {
    if (previous !== undefined) {
      this.budget.refused = previous.budget.refused
      const now = Date.now()
      for (const p of this.peers) {
        const old = previous.peers.find((q) => q.label === p.label)
        if (old === undefined) continue
        p.adopt(old)
        // Without active checks nothing could bring a peer back: the old verdict does not carry over.
        if (this.cfg.health === null) { p.up = true; p.streak = 0 }
        if (p.ejectedUntil > now) this.#endEjectionAt(p, p.ejectedUntil - now)
        else p.ejectedUntil = 0
      }
    }
    this.#checker?.start()
  }

  /** The hash key of a request (null for other balancers, or a request without one). */
  key(h: Head, path: string, client: string): string | null {
    return this.keys === null ? null : this.keys.key(h, path, client)
  }

  /**
   * A peer for one attempt, or null when none is available (the client gets 503). `tried`: peers this
   * request already failed on, which a retry must avoid.
   */
  pick(key: string | null, tried: readonly Peer[] | null): Peer | null {
    const ok = this.#ok
    ok.set(false, tried)
    let p = this.#balancer.pick(this.peers, ok, key)
    if (p === null && this.#hasBackups) {
      ok.backup = true
      p = this.#balancer.pick(this.peers, ok, key)
    }
    return p
  }

  /** The first peer for a request (which counts toward the retry budget), or null when none is available. */
  first(key: string | null): Peer | null {
    this.budget.deposit()
    return this.pick(key, null)
  }

  /**
   * Another peer for a request that failed on each peer of `tried` before any response byte: null
   * when it has had its `retries`, no untried peer is available, or the retry budget is spent.
   */
  retry(key: string | null, tried: readonly Peer[]): Peer | null {
    if (tried.length > this.cfg.retries) return null
    const p = this.pick(key, tried)
    if (p === null || !this.budget.withdraw()) return null
    p.stats.retries++
    return p
  }

  /** Seconds a client told 503 should wait: until the first ejection ends or the next probe. */
  retryAfter(): number {
    const now = Date.now()
    let ms = this.cfg.health?.interval ?? this.cfg.passive.ejection
    for (const p of this.peers) if (p.up && p.ejectedUntil !== 0) ms = Math.min(ms, p.ejectedUntil - now)
    return Math.max(1, Math.ceil(ms / 1000))
  }

  // ---- passive health: called by the exchange with the outcome of real requests ----

  /** A response head arrived: the peer answers. A 5xx counts against it if `errors_5xx` is set. */
  answered(p: Peer, status: number): void {
    p.failures = 0
    if (status < 500) { p.errors5xx = 0; return }
    const limit = this.cfg.passive.errors_5xx
    if (limit > 0 && ++p.errors5xx >= limit) this.#eject(p, `${p.errors5xx} consecutive 5xx responses`)
  }

  /** Connecting failed, or the peer reset or closed before a response. */
  failed(p: Peer, why: string): void {
    p.stats.failures++
    const limit = this.cfg.passive.failures
    if (limit > 0 && ++p.failures >= limit) this.#eject(p, `${p.failures} consecutive failures, last: ${why}`)
  }

  #eject(p: Peer, reason: string): void {
    const pass: Passive = this.cfg.passive
    if (p.ejectedUntil !== 0 || !p.up) return
    let ejected = 0
    for (const q of this.peers) if (q.ejectedUntil !== 0) ejected++
    if ((ejected + 1) * 100 > pass.max_ejected_percent * this.peers.length) {
      this.#log('warn', 'peer ejection skipped', p, { reason, why: `max_ejected_percent ${pass.max_ejected_percent}` })
      return
    }
    const now = Date.now()
    // Envoy decays the multiplier of a peer that stayed healthy: here, after max_ejection in service.
    if (p.ejections > 0 && now - p.ejectionEnded > pass.max_ejection) p.ejections = 0
    const ms = Math.min(pass.max_ejection, pass.ejection * 2 ** p.ejections)
    p.ejections++
    p.stats.ejections++
    p.failures = 0
    p.errors5xx = 0
    p.ejectedUntil = now + ms
    this.#endEjectionAt(p, ms)
    this.#log('warn', 'peer ejected', p, { reason, for_ms: ms, ejections: p.ejections })
  }

  #endEjectionAt(p: Peer, ms: number): void {
    // The ejection this timer ends: an active check may end it first, and a later one begin.
    const n = p.ejections
    const t = setTimeout(() => {
      this.#timers.delete(t)
      if (p.ejectedUntil === 0 || p.ejections !== n) return
      p.ejectedUntil = 0
      p.ejectionEnded = Date.now()
      p.ramp(Date.now(), this.cfg.slow_start)
      this.#log('info', 'peer ejection ended', p, { slow_start_ms: this.cfg.slow_start })
    }, ms).unref()
    this.#timers.add(t)
  }

  // ---- active health ----

  /** The outcome of one probe (health-check.ts); here, or in a cluster worker told by the primary. */
  probed(p: Peer, ok: boolean, detail: string, ms: number): void {
    p.lastProbe = { ok, at: Date.now(), ms, detail }
    p.stats.probes.observe(ms / 1000)
    const hc = this.cfg.health!
    // The streak counts outcomes against the current state: failures while up, successes while down.
    if (ok === p.up) { p.streak = 0; return }
    if (++p.streak < (p.up ? hc.fall : hc.rise)) return
    p.streak = 0
    this.setUp(p, ok, p.up ? `${hc.fall} failed probes, last: ${detail}` : `${hc.rise} good probes`)
  }

  /**
   * Flips the active state of a peer; coming up ends any ejection (the active state wins). `log`:
   * false in a cluster worker, which hears of the flip from the primary that logged it already.
   */
  setUp(p: Peer, up: boolean, reason: string, log = true): void {
    if (p.up === up) return
    p.up = up
    if (up) {
      if (p.ejectedUntil !== 0) p.ejectionEnded = Date.now()
      p.ejectedUntil = 0
      p.failures = 0
      p.ramp(Date.now(), this.cfg.slow_start)
    }
    if (log) this.#log(up ? 'info' : 'warn', up ? 'peer up' : 'peer down', p, { reason })
    this.onChange?.(this, p, up, reason)
  }

  #log(level: 'info' | 'warn', event: string, p: Peer, fields: Record<string, unknown>): void {
    this.#events?.log(level, event, { upstream: this.name, peer: p.label, ...fields })
  }

  /** Each peer's state, counts and last probe: the admin API serves this. */
  status(): GroupStatus {
    const now = Date.now()
    return {
      name: this.name,
      balance: this.cfg.balance,
      active_checks: this.cfg.health !== null,
      retries_refused: this.budget.refused,
      peers: this.peers.map((p) => ({
        peer: p.label,
        state: peerState(p, now),
        backup: p.backup,
        weight: p.weight,
        effective_weight: Math.round(p.effectiveWeight() * 100) / 100,
        inflight: p.inflight,
        requests: p.requests,
        consecutive_failures: p.failures,
        ejections: p.ejections,
        ejected_until: p.ejectedUntil !== 0 ? new Date(p.ejectedUntil).toISOString() : null,
        last_probe: p.lastProbe === null ? null : { ...p.lastProbe, at: new Date(p.lastProbe.at).toISOString() },
      })),
    }
  }

  /**
   * The admin API's word on a peer (drain: no new requests, those in flight finish; disable: the
   * same, and its idle sockets close; enable: back in the picks). False when the group has no such peer.
   */
  setAdmin(label: string, action: 'drain' | 'disable' | 'enable', log = true): boolean {
    const p = this.peers.find((q) => q.label === label)
    if (p === undefined) return false
    const was = p.admin
    p.admin = action === 'drain' ? DRAINING : action === 'disable' ? DISABLED : ENABLED
    if (p.admin === DISABLED) p.pool.closeIdle()
    if (log && was !== p.admin) this.#log('info', `peer ${action === 'enable' ? 'enabled' : action === 'drain' ? 'draining' : 'disabled'}`, p, {})
    return true
  }

  /** The config is replaced: stop probing and timers; close idle sockets, busy ones when they return. */
  retire(): void {
    this.#checker?.stop()
    for (const t of this.#timers) clearTimeout(t)
    this.#timers.clear()
    for (const p of this.peers) p.pool.retire()
  }
}
