/**
 * The counters one proxy process keeps, as a snapshot that adds up across workers. Every field is a
 * plain sum: a worker's snapshot is read from its Server, the primary adds the snapshots of its
 * workers (src/cluster/primary.ts), so a metrics view later reports one set of numbers.
 */
import type { Server } from '../server/server.js'
import type { Runtime } from '../proxy/runtime.js'

export interface Counters {
  /** Requests whose head was accepted (routed, or answered 404). */
  requests: number
  /** Client connections accepted. */
  accepted: number
  /** Client connections closed at accept by `limits.max_connections` or a shutdown. */
  refused: number
  /** Client connections a listener refused before any HTTP byte: its `access` rules or a bad PROXY header. */
  denied: number
  /** Client connections open now (a gauge; the sum is the open connections of all workers). */
  open: number
  /** Sockets opened to peers. */
  upstream_opened: number
}

export function zero(): Counters {
  return { requests: 0, accepted: 0, refused: 0, denied: 0, open: 0, upstream_opened: 0 }
}

/** Adds `b` into `a` and returns `a`. */
export function add(a: Counters, b: Counters): Counters {
  a.requests += b.requests
  a.accepted += b.accepted
  a.refused += b.refused
  a.denied += b.denied
  a.open += b.open
  a.upstream_opened += b.upstream_opened
  return a
}

/** Sockets the pools of one runtime have opened. */
export function upstreamOpened(rt: Runtime): number {
  let n = 0
  for (const g of rt.groups.values()) for (const p of g.peers) n += p.pool.opened
  return n
}

/** The snapshot of one server; `retiredOpened` carries the sockets of runtimes replaced by reloads. */
export function countersOf(server: Server, retiredOpened: number): Counters {
  return {
    requests: server.requests,
    accepted: server.accepted,
    refused: server.refused,
    denied: server.denied,
    open: server.connections,
    upstream_opened: retiredOpened + upstreamOpened(server.rt),
  }
}
