/**
 * The metrics of one Server (a single process, or one cluster worker): the stored families its routes
 * count into (route-stats.ts), and the families read from its live objects at each scrape: listeners
 * and connections, requests in flight, peers and their pools, TLS. Names follow Prometheus practice:
 * base units, `_total` for counters, `_seconds` and `_bytes` (docs/metrics.md lists them all).
 */
import { X509Certificate } from 'node:crypto'
import type { Certificate } from '../config/schema.js'
import type { Runtime } from '../proxy/runtime.js'
import type { Endpoint } from '../server/endpoint.js'
import { peerState, type PeerState } from '../upstream/group.js'
import type { Peer } from '../upstream/peer.js'
import type { Group } from '../upstream/group.js'
import { CounterVec, FamilyData, HistogramVec, Registry, Sample, HistSample, collected, DURATION_BUCKETS } from './registry.js'
import { RouteStats, StatsSource, StatsTable, Stored } from './route-stats.js'

/** What the metrics read of a Server. */
export interface ServerView {
  readonly rt: Runtime
  readonly requests: number
  readonly finished: number
  readonly refused: number
  readonly denied: number
  endpoints(): Endpoint[]
}

const PEER_STATES: readonly PeerState[] = ['up', 'down', 'ejected', 'ramping', 'draining', 'disabled']
const PEER = ['upstream', 'peer']

/** Every peer of the current config with its group. */
function eachPeer(rt: Runtime, f: (g: Group, p: Peer) => (Sample | HistSample)[]): (Sample | HistSample)[] {
  const out: (Sample | HistSample)[] = []
  for (const g of rt.groups.values()) for (const p of g.peers) out.push(...f(g, p))
  return out
}

/** A certificate's notAfter in seconds since the epoch, parsed once per certificate object. */
const expiry = new WeakMap<Certificate, number>()
function notAfter(c: Certificate): number {
  let t = expiry.get(c)
  if (t === undefined) {
    t = Date.parse(new X509Certificate(c.cert).validTo) / 1000
    expiry.set(c, t)
  }
  return t
}

export class ServerMetrics implements StatsSource {
  readonly registry = new Registry()
  readonly #stored: Stored
  readonly #s: ServerView

  constructor(s: ServerView) {
    this.#s = s
    const r = this.registry
    this.#stored = {
      requests: r.add(new CounterVec('rawproxy_requests_total', 'Requests answered, by route, upstream, status class, status code (4xx and 5xx only) and termination cause (as in the access log; "--" is a normal end).', ['route', 'upstream', 'class', 'code', 'cause'])),
      duration: r.add(new HistogramVec('rawproxy_request_duration_seconds', 'Time from the request head to the end of the response (the whole exchange).', ['route', 'upstream'])),
      head: r.add(new HistogramVec('rawproxy_upstream_response_head_seconds', 'Time from the request sent to a peer to its response head.', ['route', 'upstream'])),
      bytesIn: r.add(new CounterVec('rawproxy_received_bytes_total', 'Request body bytes received from clients (as framed on the wire).', ['route', 'upstream'])),
      bytesOut: r.add(new CounterVec('rawproxy_sent_bytes_total', 'Response bytes sent to clients, heads included.', ['route', 'upstream'])),
      authFailures: r.add(new CounterVec('rawproxy_auth_failures_total', 'Requests the auth filter refused: unauthorized (401), too_many failures (429), busy verifier (503).', ['route', 'reason'])),
    }
    this.#listeners()
    this.#peers()
  }

  table(routes: readonly { readonly label: string; readonly upstream: string }[]): StatsTable {
    return { routes: routes.map((r) => new RouteStats(this.#stored, r.label, r.upstream)), unrouted: new RouteStats(this.#stored, '', '') }
  }

  read(): FamilyData[] { return this.registry.read() }

  #listeners(): void {
    const r = this.registry
    const s = this.#s
    const eps = (f: (ep: Endpoint) => (Sample | HistSample)[]): (Sample | HistSample)[] => s.endpoints().flatMap(f)
    r.add(collected('rawproxy_connections_open', 'gauge', 'Client connections open now, per listener.', ['listener'], 'sum', () => eps((ep) => [{ labels: [ep.label], value: ep.open }])))
    r.add(collected('rawproxy_connections_accepted_total', 'counter', 'Client connections accepted, per listener.', ['listener'], 'sum', () => eps((ep) => [{ labels: [ep.label], value: ep.accepted }])))
    r.add(collected('rawproxy_connections_refused_total', 'counter', 'Client connections closed at accept: max_connections (or a shutdown), or denied by a listener\'s access rules or PROXY header check.', ['reason'], 'sum',
      () => [{ labels: ['max_connections'], value: s.refused }, { labels: ['denied'], value: s.denied }]))
    r.add(collected('rawproxy_requests_in_flight', 'gauge', 'Requests whose head was read and whose exchange is not over.', [], 'sum', () => [{ labels: [], value: s.requests - s.finished }]))
    r.add(collected('rawproxy_tls_handshakes_total', 'counter', 'TLS handshakes on client connections, by listener, protocol version and result.', ['listener', 'version', 'result'], 'sum',
      () => eps((ep) => [...ep.handshakes].map(([k, n]) => { const [version, result] = k.split(' '); return { labels: [ep.label, version, result], value: n } }))))
    r.add(collected('rawproxy_tls_resumptions_total', 'counter', 'TLS handshakes that resumed a session (ticket), per listener.', ['listener'], 'sum', () => eps((ep) => ep.tls ? [{ labels: [ep.label], value: ep.resumed }] : [])))
    r.add(collected('rawproxy_tls_certificate_expiry_timestamp_seconds', 'gauge', 'When each served certificate expires (notAfter), seconds since the epoch.', ['listener', 'certificate'], 'max',
      () => eps((ep) => ep.certificates.map((c) => ({ labels: [ep.label, c.cert_file], value: notAfter(c) })))))
  }

  #peers(): void {
    const r = this.registry
    const s = this.#s
    const peer = (name: string, kind: 'counter' | 'gauge', help: string, value: (p: Peer) => number): void => {
      r.add(collected(name, kind, help, PEER, 'sum', () => eps((g, p) => [{ labels: [g.name, p.label], value: value(p) }])))
    }
    const eps = (f: (g: Group, p: Peer) => (Sample | HistSample)[]): (Sample | HistSample)[] => eachPeer(s.rt, f)
    const now = (): number => Date.now()
    r.add(collected('rawproxy_peer_state', 'gauge', 'A peer\'s state, one series per state (1: the current one): up, down (active checks), ejected (passive health), ramping (slow start), draining, disabled (admin API).', [...PEER, 'state'], 'worker',
      () => { const t = now(); return eps((g, p) => { const st = peerState(p, t); return PEER_STATES.map((x) => ({ labels: [g.name, p.label, x], value: x === st ? 1 : 0 })) }) }))
    r.add(collected('rawproxy_peer_backup', 'gauge', '1 for a backup peer (used only while no primary peer is available).', PEER, 'max', () => eps((g, p) => [{ labels: [g.name, p.label], value: p.backup ? 1 : 0 }])))
    peer('rawproxy_peer_requests_in_flight', 'gauge', 'Requests in flight on a peer.', (p) => p.inflight)
    r.add(collected('rawproxy_peer_pool_sockets', 'gauge', 'Sockets open to a peer: idle in its keep-alive pool, or active with an exchange.', [...PEER, 'state'], 'sum',
      () => eps((g, p) => [{ labels: [g.name, p.label, 'idle'], value: p.pool.idleCount }, { labels: [g.name, p.label, 'active'], value: p.pool.activeCount }])))
    peer('rawproxy_peer_connects_total', 'counter', 'Sockets opened to a peer.', (p) => p.stats.connects)
    peer('rawproxy_peer_reuses_total', 'counter', 'Requests sent on a pooled keep-alive socket.', (p) => p.stats.reuses)
    peer('rawproxy_peer_failures_total', 'counter', 'Connect failures, resets and closes before a response.', (p) => p.stats.failures)
    peer('rawproxy_peer_ejections_total', 'counter', 'Passive-health ejections.', (p) => p.stats.ejections)
    peer('rawproxy_peer_retries_total', 'counter', 'Attempts sent to a peer after another peer failed the request.', (p) => p.stats.retries)
    r.add(collected('rawproxy_upstream_retry_budget_refusals_total', 'counter', 'Retries refused because the group\'s retry budget was spent.', ['upstream'], 'sum',
      () => [...s.rt.groups.values()].map((g) => ({ labels: [g.name], value: g.budget.refused }))))
    r.add(probeFamily(() => s.rt))
  }
}

/** Active health probes' durations per peer (in a cluster, only the primary probes: its runtime). */
export function probeFamily(rt: () => Runtime): ReturnType<typeof collected> {
  return collected('rawproxy_peer_probe_duration_seconds', 'histogram', 'Active health probes\' durations, per peer.', PEER, 'sum',
    () => eachPeer(rt(), (g, p) => (g.cfg.health === null ? [] : [p.stats.probes.sample([g.name, p.label])])), DURATION_BUCKETS)
}
