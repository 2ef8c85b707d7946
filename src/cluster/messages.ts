/**
 * Every message between the cluster primary and its workers, as JSON on the cluster IPC channel. The
 * primary validates the config once and sends it whole (`WireConfig`): workers never re-read the file.
 *
 * A conversation:
 *   worker → hello                  (its listener is attached: messages sent before could be lost)
 *   primary → peer-state*, start    (the health states known so far are replayed first)
 *   worker → ready | failed         (listening on every address, or could not: it then exits 1)
 *   primary → reload → reloaded | reload-failed     (SIGHUP; `gen` pairs a reply with its request)
 *   primary → snapshot → snapshot   (counters and the peer states the worker holds; with `metrics`, its
 *                                   metric families too: one round per scrape of the admin API)
 *   primary → peer-admin            (a peer drained, disabled or enabled by the admin API; replayed)
 *   worker → event                  (an event of its log the admin API's stream shows: warnings, errors,
 *                                   peer events; only with `admin` in the config)
 *   primary → stop → stopped        (graceful close done; the final counters; then it exits 0)
 *   worker → rl → rl-v              (rate limits, any time: the takes and releases of one event-loop
 *                                   turn; the verdicts of its takes, in one message; `n` pairs them.
 *                                   On the hot path, so short names: filters/rate-limit/cluster-store.ts)
 *   worker → cache-purge → primary → cache-purge to every other worker (a purge or an invalidation,
 *                                   filters/cache/cluster.ts)
 *   primary → trace-arm, trace-disarm   (the admin API armed tracing; an arming has its records: traces.ts)
 *   worker → trace                  (a finished trace record, with the arming that chose it, 0: none)
 */
import type { Address, Config, Upstream } from '../config/schema.js'
import type { Counters } from './counters.js'
import type { AskBatch, VerdictBatch } from '../filters/rate-limit/cluster-wire.js'
import type { CachePurge } from '../filters/cache/cluster.js'
import type { FamilyData } from '../admin/registry.js'
import type { LoggedEvent } from '../log/events.js'
import type { TraceArm } from './traces.js'
import type { TraceRecord } from '../trace/record.js'

/**
 * The health of one peer, decided once in the primary (its active health checks) and broadcast to every
 * worker, and replayed to a worker forked later. `peer` is "host:port" as in the config.
 */
export interface PeerState {
  readonly type: 'peer-state'
  readonly group: string
  readonly peer: string
  readonly up: boolean
  /** Why, as the primary logged it ("3 failed probes, last: connect ECONNREFUSED"). */
  readonly reason?: string
}

/**
 * A Config as JSON carries it: its one Map, `upstreams`, as entries. JSON rather than the "advanced"
 * (structured clone) serialization, because the channel also carries, with SCHED_RR, one message per
 * accepted connection: measured, advanced made that hand-off ~40% slower (docs/balancing.md, All cores). A new
 * Config field that JSON cannot carry (a Map, a Set, a Buffer) needs a line in toWire and fromWire;
 * spec/cluster/messages.spec.ts checks the round trip of a config with every field set.
 */
export type WireConfig = Omit<Config, 'upstreams'> & { readonly upstreams: [string, Upstream][] }

export function toWire(c: Config): WireConfig {
  return { ...c, upstreams: [...c.upstreams] }
}

export function fromWire(w: WireConfig): Config {
  return { ...w, upstreams: new Map(w.upstreams) }
}

/** The admin API's word on a peer (drain, disable, enable), decided in the primary, replayed like PeerState. */
export interface PeerAdmin {
  readonly type: 'peer-admin'
  readonly group: string
  readonly peer: string
  readonly action: 'drain' | 'disable' | 'enable'
}

export type ToWorker =
  | VerdictBatch
  | CachePurge
  | PeerState
  | { readonly type: 'start'; readonly config: WireConfig; readonly trace?: boolean }
  | { readonly type: 'reload'; readonly gen: number; readonly config: WireConfig }
  | { readonly type: 'snapshot'; readonly gen: number; readonly metrics?: boolean }
  | { readonly type: 'stop' }
  | PeerAdmin
  | TraceArm
  | { readonly type: 'trace-disarm'; readonly id: number }

export type ToPrimary =
  | AskBatch
  | CachePurge
  | { readonly type: 'hello' }
  | { readonly type: 'ready'; readonly addresses: Address[] }
  | { readonly type: 'failed'; readonly error: string }
  | { readonly type: 'reloaded'; readonly gen: number }
  | { readonly type: 'reload-failed'; readonly gen: number; readonly error: string }
  | { readonly type: 'snapshot'; readonly gen: number; readonly counters: Counters; readonly peers: PeerState[]; readonly metrics?: FamilyData[] }
  | { readonly type: 'event'; readonly event: LoggedEvent }
  | { readonly type: 'trace'; readonly record: TraceRecord; readonly arm: number }
  | { readonly type: 'stopped'; readonly counters: Counters }

const TO_WORKER = new Set(['rl-v', 'cache-purge', 'peer-state', 'start', 'reload', 'snapshot', 'stop', 'peer-admin', 'trace-arm', 'trace-disarm'])
const TO_PRIMARY = new Set(['rl', 'cache-purge', 'hello', 'ready', 'failed', 'reloaded', 'reload-failed', 'snapshot', 'stopped', 'event', 'trace'])

function typed(m: unknown, types: Set<string>): boolean {
  return typeof m === 'object' && m !== null && types.has((m as { type?: unknown }).type as string)
}

/** A message on the channel is ours (cluster's own messages travel apart, as `internalMessage`). */
export function isToWorker(m: unknown): m is ToWorker { return typed(m, TO_WORKER) }
export function isToPrimary(m: unknown): m is ToPrimary { return typed(m, TO_PRIMARY) }

/** The key of one peer's state, so a later state replaces an earlier one. */
export function peerKey(s: Pick<PeerState, 'group' | 'peer'>): string {
  return `${s.group}\u0000${s.peer}`
}
