/**
 * One second of the proxy as the dashboard charts it: rates from the difference of two scrapes
 * (requests, status classes, termination causes, handshakes, cache lookups, rate-limit refusals, auth
 * failures) and latency quantiles from the difference of the duration histograms' buckets, overall
 * and per upstream. The counters' last sums are kept here between two seconds.
 */
import { CACHE_HIT, CACHE_MISS, Scrape, bucketDeltas, deltas, quantile, type KeyOf } from './families.js'

/** p50, p95, p99 in ms (null: no request finished in that second). */
export type Triple = [number, number, number] | null

export interface UpstreamTick { rps: number; err: number; p: Triple }

export interface Tick {
  /** Epoch ms of the scrape. */
  t: number
  rps: number
  p: Triple
  /** Per second, by status class (`2xx`..`5xx`, `none`) and by termination cause (`--`, `UF`...). */
  classes: Record<string, number>
  causes: Record<string, number>
  /** Per upstream (`""`: answered before any upstream: a rule, a 404, a refusal). */
  up: Record<string, UpstreamTick>
  /** Per peer (`upstream peer`): requests sent (new and reused sockets), failures, per second. */
  peers: Record<string, { rps: number; fail: number }>
  conns: number
  accepted: number
  inflight: number
  tls: number
  tlsFailed: number
  cacheHits: number
  cacheLookups: number
  limited: number
  authFailed: number
}

const REQUESTS = 'rawproxy_requests_total'
const DURATION = 'rawproxy_request_duration_seconds'
const QS = [0.5, 0.95, 0.99]

const byClass: KeyOf = (l) => l('class')
const byCause: KeyOf = (l) => l('cause')
const byUpstream: KeyOf = (l) => l('upstream')
const byUpstream5xx: KeyOf = (l) => (l('class') === '5xx' ? l('upstream') : null)
const byPeer: KeyOf = (l) => `${l('upstream')} ${l('peer')}`
const all: KeyOf = () => ''

/** The cumulative figures of one scrape that rates are taken from. */
interface Counts {
  readonly at: number
  readonly c: Map<string, Map<string, number>>
  readonly h: Map<string, Map<string, number[]>>
}

function counts(s: Scrape, at: number): Counts {
  const c = new Map<string, Map<string, number>>([
    ['class', s.sums(REQUESTS, byClass)], ['cause', s.sums(REQUESTS, byCause)], ['up', s.sums(REQUESTS, byUpstream)],
    ['up5xx', s.sums(REQUESTS, byUpstream5xx)], ['accepted', s.sums('rawproxy_connections_accepted_total', all)],
    ['tls', s.sums('rawproxy_tls_handshakes_total', (l) => l('result'))],
    ['cache', s.sums('rawproxy_cache_responses_total', (l) => (CACHE_HIT.has(l('outcome')) ? 'hit' : CACHE_MISS.has(l('outcome')) ? 'miss' : null))],
    ['limited', s.sums('rawproxy_rate_limit_decisions_total', (l) => (l('decision') === 'refused' ? '' : null))],
    ['auth', s.sums('rawproxy_auth_failures_total', all)],
    ['peerReq', sumMaps(s.sums('rawproxy_peer_connects_total', byPeer), s.sums('rawproxy_peer_reuses_total', byPeer))],
    ['peerFail', s.sums('rawproxy_peer_failures_total', byPeer)],
  ])
  const h = new Map([['all', s.buckets(DURATION, all)], ['up', s.buckets(DURATION, byUpstream)]])
  return { at, c, h }
}

function sumMaps(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const out = new Map(a)
  for (const [k, v] of b) out.set(k, (out.get(k) ?? 0) + v)
  return out
}

function record(m: Map<string, number>, per: number): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of m) if (v > 0) out[k] = round(v / per)
  return out
}

function round(n: number): number { return Math.round(n * 100) / 100 }

function triple(counts: readonly number[] | undefined, bounds: readonly number[]): Triple {
  if (counts === undefined) return null
  const q = QS.map((x) => quantile(x, counts, bounds))
  return q[0] === null ? null : (q.map((v) => round((v ?? 0) * 1000)) as [number, number, number])
}

/** Turns each scrape into a Tick against the one before (the first scrape gives zero rates). */
export class TickMaker {
  #last: Counts | null = null

  next(s: Scrape, at: number): Tick {
    const now = counts(s, at)
    const before = this.#last
    this.#last = now
    // Rates per second of the time between the two scrapes (a late timer does not inflate them).
    const per = before === null ? 1 : Math.max(0.001, (at - before.at) / 1000)
    const d = (k: string): Map<string, number> => deltas(now.c.get(k)!, before?.c.get(k))
    const bounds = s.bounds(DURATION)
    const hAll = bucketDeltas(now.h.get('all')!, before?.h.get('all')).get('')
    const hUp = bucketDeltas(now.h.get('up')!, before?.h.get('up'))
    const classes = d('class')
    const up: Record<string, UpstreamTick> = {}
    const err = d('up5xx')
    // A quiet upstream or peer is left out (the page reads a missing one as 0): ticks stay small.
    for (const [name, n] of d('up')) if (n > 0) up[name] = { rps: round(n / per), err: round((err.get(name) ?? 0) / per), p: triple(hUp.get(name), bounds) }
    const peers: Tick['peers'] = {}
    const fail = d('peerFail')
    for (const [k, n] of d('peerReq')) if (n > 0 || (fail.get(k) ?? 0) > 0) peers[k] = { rps: round(n / per), fail: round((fail.get(k) ?? 0) / per) }
    const one = (k: string, key = ''): number => round((d(k).get(key) ?? 0) / per)
    return {
      t: at,
      rps: round([...classes.values()].reduce((a, b) => a + b, 0) / per),
      p: triple(hAll, bounds),
      classes: record(classes, per),
      causes: record(d('cause'), per),
      up,
      peers,
      conns: s.total('rawproxy_connections_open'),
      accepted: one('accepted'),
      inflight: s.total('rawproxy_requests_in_flight'),
      tls: one('tls', 'ok'),
      tlsFailed: one('tls', 'failed'),
      cacheHits: one('cache', 'hit'),
      cacheLookups: round(one('cache', 'hit') + one('cache', 'miss')),
      limited: one('limited'),
      authFailed: one('auth'),
    }
  }
}
