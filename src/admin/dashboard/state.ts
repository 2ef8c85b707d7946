/**
 * The dashboard's picture of now, sent with each tick (and not kept in the history): the process and
 * its config, workers, listeners, and the table of upstreams and peers. Peer states come from the
 * scrape (`rawproxy_peer_state`: in a cluster, each worker's own view, passive ejections included),
 * weights and last probes from the host's own health runtime, so it costs no second IPC round.
 */
import { createHash } from 'node:crypto'
import type { Config } from '../../config/schema.js'
import type { GroupStatus, PeerStatus } from '../../upstream/group.js'
import { CACHE_HIT, CACHE_MISS, type Scrape } from './families.js'

/** Worst first: the state a peer row shows when the workers do not agree. */
const ORDER = ['disabled', 'draining', 'down', 'ejected', 'ramping', 'up']

export interface PeerRow {
  peer: string
  state: string
  /** When workers disagree: how many see each state, e.g. "ejected in 1 of 2 workers". */
  detail: string
  backup: boolean
  weight: number
  effective_weight: number
  inflight: number
  failures: number
  ejections: number
  last_probe: PeerStatus['last_probe']
}

export interface LastReload { ok: boolean; time: string; error?: string }

export interface State {
  version: unknown
  pid: number
  uptime: number
  config: { digest: string; loaded_at: unknown; reloads_ok: unknown; reloads_failed: unknown }
  last_reload: LastReload | null
  workers: { worker: string; rss: number }[] | null
  listeners: { listener: string; open: number; accepted: number; tls_ok: number; tls_failed: number }[]
  upstreams: { name: string; balance: string; active_checks: boolean; peers: PeerRow[] }[]
  totals: { requests: number; cache_hits: number; cache_lookups: number; limited: number; auth_failed: number }
  /** How long the last sample took (ms, a cluster's IPC round included). */
  sampler_ms: number
}

let digested: { config: Config; digest: string } | null = null

/** A short digest of the running config: the "config version" (it changes when a reload changes anything). */
export function configDigest(c: Config): string {
  if (digested?.config !== c) digested = { config: c, digest: createHash('sha256').update(JSON.stringify(c)).digest('hex').slice(0, 8) }
  return digested.digest
}

function peerStates(s: Scrape): Map<string, string[]> {
  const out = new Map<string, string[]>()
  s.each('rawproxy_peer_state', (x, l) => {
    if (!('value' in x) || x.value !== 1) return
    const k = `${l('upstream')} ${l('peer')}`
    out.set(k, [...(out.get(k) ?? []), l('state')])
  })
  return out
}

function describe(states: string[] | undefined, fallback: string): { state: string; detail: string } {
  if (states === undefined || states.length === 0) return { state: fallback, detail: '' }
  const worst = [...states].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b))[0]
  if (states.every((x) => x === worst)) return { state: worst, detail: '' }
  return { state: worst, detail: `${worst} in ${states.filter((x) => x === worst).length} of ${states.length} workers` }
}

const byPeer = (l: (n: string) => string): string => `${l('upstream')} ${l('peer')}`

export function upstreamRows(s: Scrape, groups: readonly GroupStatus[]): State['upstreams'] {
  const states = peerStates(s)
  const inflight = s.sums('rawproxy_peer_requests_in_flight', byPeer)
  const failures = s.sums('rawproxy_peer_failures_total', byPeer)
  const ejections = s.sums('rawproxy_peer_ejections_total', byPeer)
  return groups.map((g) => ({
    name: g.name, balance: g.balance, active_checks: g.active_checks,
    peers: g.peers.map((p) => {
      const k = `${g.name} ${p.peer}`
      return {
        peer: p.peer, ...describe(states.get(k), p.state), backup: p.backup, weight: p.weight, effective_weight: p.effective_weight,
        inflight: inflight.get(k) ?? p.inflight, failures: failures.get(k) ?? 0, ejections: ejections.get(k) ?? p.ejections, last_probe: p.last_probe,
      }
    }),
  }))
}

export function listenerRows(s: Scrape): State['listeners'] {
  const open = s.sums('rawproxy_connections_open', (l) => l('listener'))
  const accepted = s.sums('rawproxy_connections_accepted_total', (l) => l('listener'))
  const tls = s.sums('rawproxy_tls_handshakes_total', (l) => `${l('listener')} ${l('result')}`)
  return [...accepted.keys()].map((listener) => ({
    listener, open: open.get(listener) ?? 0, accepted: accepted.get(listener) ?? 0,
    tls_ok: tls.get(`${listener} ok`) ?? 0, tls_failed: tls.get(`${listener} failed`) ?? 0,
  }))
}

/** One entry per process that reports its memory under a `worker` label (none: a single process). */
export function workerRows(s: Scrape): State['workers'] {
  const rows: { worker: string; rss: number }[] = []
  s.each('process_resident_memory_bytes', (x, l) => { if ('value' in x && l('worker') !== '' && l('worker') !== 'primary') rows.push({ worker: l('worker'), rss: x.value }) })
  return rows.length === 0 ? null : rows
}

export function totals(s: Scrape): State['totals'] {
  const cache = s.sums('rawproxy_cache_responses_total', (l) => l('outcome'))
  const count = (set: Set<string>): number => [...set].reduce((a, o) => a + (cache.get(o) ?? 0), 0)
  const hits = count(CACHE_HIT)
  const misses = count(CACHE_MISS)
  return {
    requests: s.total('rawproxy_requests_total'),
    cache_hits: hits,
    cache_lookups: hits + misses,
    limited: s.total('rawproxy_rate_limit_decisions_total', (l) => l('decision') === 'refused'),
    auth_failed: s.total('rawproxy_auth_failures_total'),
  }
}
