/**
 * One backend address: its socket pool, its weight, and what we know of its health.
 *
 * A peer is *available* when the active check (if any) says up and passive health has not ejected it.
 * Its *effective weight* is its weight, scaled down while it ramps up after coming back (slow start).
 */
import type { Keepalive, PeerConfig, Timeouts } from '../config/schema.js'
import type { Limits } from '../http/llhttp.js'
import { Pool } from './pool.js'
import type { PeerTls } from './peer-tls.js'
import { PeerStats } from './peer-stats.js'

/** The outcome of the last active probe, for the status snapshot. */
export interface Probe {
  readonly ok: boolean
  /** Wall-clock time of the probe's end, ms since the epoch. */
  readonly at: number
  readonly ms: number
  /** "200", "connect ECONNREFUSED", "timeout", "status 503", "body mismatch"... */
  readonly detail: string
}

/** Slow start begins at this share of the weight (nginx begins at zero; a tenth keeps the peer warm). */
const RAMP_FLOOR = 0.1

/** Peer.admin: what the admin API set (POST /upstreams/{group}/peers/{peer}/enable|drain|disable). */
export const ENABLED = 0
export const DRAINING = 1
export const DISABLED = 2

export class Peer {
  readonly host: string
  readonly port: number
  /** "host:port", as logged; IPv6 in brackets. */
  readonly label: string
  readonly pool: Pool
  readonly timeouts: Timeouts
  readonly limits: Limits
  readonly weight: number
  readonly backup: boolean
  /** The minor HTTP version of the peer's last response (-1: not known yet). A 1.0 peer gets no Expect. */
  minor = -1
  /** Requests in flight on this peer (least_conn, random_two). */
  inflight = 0
  /** Requests sent to this peer (picks, retries included). */
  requests = 0
  /** Smooth weighted round-robin's running weight (balancer.ts). */
  current = 0
  /** The active check's verdict; true when the group has no active check. */
  up = true
  /** Consecutive probe outcomes of the kind that would flip `up` (HAProxy rise/fall). */
  streak = 0
  lastProbe: Probe | null = null
  /** Passive health: consecutive connect failures or resets, and consecutive 5xx responses. */
  failures = 0
  errors5xx = 0
  /** Until when (ms since the epoch) the peer is ejected; 0 when it is not. */
  ejectedUntil = 0
  /** How many times the peer has been ejected: each ejection lasts twice the one before. */
  ejections = 0
  /** When the last ejection ended (ms since the epoch). */
  ejectionEnded = 0
  /** Slow start: the ramp runs from rampFrom to rampUntil (ms since the epoch); 0 when not ramping. */
  rampFrom = 0
  rampUntil = 0
  /**
   * Set by the admin API: DRAINING or DISABLED take the peer out of every pick while requests in
   * flight finish; ENABLED (0) is the normal case. Survives reloads (adopt).
   */
  admin = ENABLED
  /** Counters for the metrics, carried from the peer this one replaces (peer-stats.ts). */
  stats = new PeerStats()

  /** TLS to this peer (the group's `tls`), or null for plain TCP. */
  readonly tls: PeerTls | null

  constructor(cfg: PeerConfig, keepalive: Keepalive, timeouts: Timeouts, limits: Limits, tls: PeerTls | null = null) {
    this.tls = tls
    this.host = cfg.host
    this.port = cfg.port
    this.weight = cfg.weight
    this.backup = cfg.backup
    this.label = cfg.host.includes(':') ? `[${cfg.host}]:${cfg.port}` : `${cfg.host}:${cfg.port}`
    this.timeouts = timeouts
    this.limits = limits
    this.pool = new Pool(this, keepalive)
  }

  /** The weight the balancers use: while ramping, from a tenth of it to all of it, linearly. */
  effectiveWeight(): number {
    if (this.rampUntil === 0) return this.weight // the rule: no clock read per pick
    const now = Date.now()
    if (now >= this.rampUntil) { this.rampUntil = 0; return this.weight }
    const f = (now - this.rampFrom) / (this.rampUntil - this.rampFrom)
    return this.weight * Math.max(RAMP_FLOOR, f)
  }

  /** Starts the slow-start ramp (the peer just came back). */
  ramp(now: number, ms: number): void {
    if (ms <= 0) return
    this.rampFrom = now
    this.rampUntil = now + ms
  }

  /** Copies health state from the same peer of the previous config, so a reload forgets nothing. */
  adopt(old: Peer): void {
    this.up = old.up
    this.streak = old.streak
    this.lastProbe = old.lastProbe
    this.failures = old.failures
    this.errors5xx = old.errors5xx
    this.ejectedUntil = old.ejectedUntil
    this.ejections = old.ejections
    this.ejectionEnded = old.ejectionEnded
    this.rampFrom = old.rampFrom
    this.rampUntil = old.rampUntil
    this.requests = old.requests
    this.admin = old.admin
    this.stats = old.stats
  }
}
