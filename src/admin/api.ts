/**
 * The admin API (issue 13): its listener (http.ts), its router (router.ts) and its endpoints, over
 * whatever runs here: a single proxy process, or a cluster primary that asks its workers (AdminHost).
 *
 *   GET  /metrics                                   Prometheus text (the whole process group)
 *   GET  /status                                    JSON: listeners, routes, upstreams and peers, workers, config, uptime
 *   GET  /config                                    the running config, secrets redacted
 *   POST /reload                                    as SIGHUP; answers with the result
 *   POST /upstreams/{group}/peers/{peer}/drain      no new requests; in-flight ones finish
 *   POST /upstreams/{group}/peers/{peer}/disable    the same, and its idle sockets close
 *   POST /upstreams/{group}/peers/{peer}/enable     back in service
 *   GET  /ready, GET /live                          for orchestrators (ready: 503 while stopping)
 *   GET  /events                                    server-sent events
 *   GET  /, GET /trace, GET /ui/{file}              the dashboard and the trace page (no credentials: code, not data)
 *   GET  /dashboard/stream                          the dashboard's data: server-sent events (dashboard/)
 *   GET  /traces, GET /traces/stream                the last 100 trace records; their live stream (traces.ts)
 *   POST /traces?count=N&route=LABEL&path=PREFIX    trace the next N matching requests (src/trace/)
 *   POST (a feature's action: actions.ts)
 */
import type { AdminConfig, Config } from '../config/schema.js'
import type { EventLog } from '../log/events.js'
import type { ReloadResult, Reloader } from '../reload.js'
import { Verifier } from '../filters/auth/verify.js'
import { AdminListener } from './http.js'
import { Router, plain } from './router.js'
import { EventHub } from './events.js'
import { dropAllStreams } from './sse.js'
import { CONTENT_TYPE, render } from './exposition.js'
import type { FamilyData } from './registry.js'
import { redacted } from './redact.js'
import { adminActions } from './actions.js'
import type { GroupStatus } from '../upstream/group.js'
import { History } from './dashboard/history.js'
import { DashboardStream } from './dashboard/stream.js'
import { asset } from './dashboard/assets.js'
import { TraceStore } from './traces.js'
import type { TraceWatcher } from '../trace/tracer.js'

export type PeerAction = 'drain' | 'disable' | 'enable'

/** What the API acts on: a single process (single.ts) or the cluster primary (cluster/primary.ts). */
export interface AdminHost {
  /** Every family of the process group (a cluster: one round of IPC). */
  metrics(): Promise<FamilyData[]>
  status(): Promise<Record<string, unknown>>
  config(): Config
  reload(): Promise<ReloadResult>
  /** Applies a peer action; false when the group has no such peer. */
  peer(group: string, peer: string, action: PeerAction): boolean
  /** Version, pid, uptime, config load time and reload counts: this process's facts, no IPC. */
  process(): Record<string, unknown>
  /** Groups and peers as decided in this process (a cluster: the primary's health), no IPC. */
  upstreams(): GroupStatus[]
  /** Tracing: this process's Tracer, or the cluster primary's view of its workers' (src/trace/). */
  readonly traces: TraceFeed
}

/** What the API needs of tracing: arm it, and hear the records. */
export interface TraceFeed {
  /** Traces the next `count` requests matching `route` (a route label, '' any) and `path` (a prefix, '' any). */
  arm(count: number, route: string, path: string): unknown
  readonly watchers: Set<TraceWatcher>
}

/** Most requests one POST /traces may arm. */
const MAX_ARM = 10_000

function json(status: number, v: unknown): { status: number; type: string; body: string } {
  return { status, type: 'application/json', body: `${JSON.stringify(v, null, 2)}\n` }
}

export class Admin {
  /** Set when the process is stopping: GET /ready answers 503 so orchestrators send no more traffic. */
  stopping = false
  readonly hub = new EventHub()
  /** The dashboard's 15 minutes of history, sampled each second while the listener is open. */
  readonly history: History
  readonly dashboard: DashboardStream
  readonly traces = new TraceStore()
  readonly #feed: TraceFeed
  readonly #onTrace: TraceWatcher = (r) => this.traces.add(r)
  readonly #router: Router
  readonly #verifier = new Verifier()
  #listener: AdminListener | null = null
  #bound: string = ''
  /** The credentials in force (token and htpasswd users), to see a reload change them. */
  #creds = ''
  readonly #watch = (e: Parameters<EventHub['send']>[0]): void => { this.hub.send(e); this.history.observe(e) }
  readonly #events: EventLog

  constructor(host: AdminHost, events: EventLog) {
    this.#events = events
    this.history = new History(host)
    this.dashboard = new DashboardStream(this.history)
    this.#feed = host.traces
    this.#router = new Router(this.#verifier)
    const r = this.#router
    r.add('GET', '/metrics', 'read', async () => ({ status: 200, type: CONTENT_TYPE, body: render(await host.metrics()) }))
    r.add('GET', '/status', 'read', async () => json(200, await host.status()))
    r.add('GET', '/config', 'read', () => json(200, redacted(host.config())))
    r.add('POST', '/reload', 'write', async () => { const res = await host.reload(); return json(res.ok ? 200 : 422, res) })
    for (const action of ['drain', 'disable', 'enable'] as const) {
      r.add('POST', `/upstreams/{group}/peers/{peer}/${action}`, 'write', (_req, [group, peer]) =>
        host.peer(group, peer, action) ? json(200, { group, peer, action }) : plain(404, `no peer ${peer} in upstream ${group}\n`))
    }
    r.add('GET', '/live', 'open', () => plain(200, 'live\n'))
    r.add('GET', '/ready', 'open', () => (this.stopping ? plain(503, 'stopping\n') : plain(200, 'ready\n')))
    r.add('GET', '/events', 'read', () => ({ stream: (s) => this.hub.attach(s) }))
    r.add('GET', '/', 'open', (req) => asset(req, 'index.html'))
    r.add('GET', '/trace', 'open', (req) => asset(req, 'trace.html'))
    r.add('GET', '/ui/{file}', 'open', (req, [file]) => asset(req, file))
    r.add('GET', '/dashboard/stream', 'read', () => ({ stream: (s) => this.dashboard.attach(s) }))
    r.add('GET', '/traces', 'read', () => json(200, this.traces.list()))
    r.add('GET', '/traces/stream', 'read', () => ({ stream: (s) => this.traces.attach(s) }))
    r.add('POST', '/traces', 'write', (req) => {
      const raw = req.query.get('count') ?? '1'
      const count = /^\d{1,5}$/.test(raw) ? Number(raw) : 0
      if (count < 1 || count > MAX_ARM) return plain(400, `count must be an integer from 1 to ${MAX_ARM}\n`)
      const route = req.query.get('route') ?? ''
      const path = req.query.get('path') ?? ''
      host.traces.arm(count, route, path)
      return json(200, { armed: count, route, path })
    })
    for (const a of adminActions()) r.add('POST', a.path, 'write', (req, params) => a.run(req, params))
  }

  /** Opens the listener (or moves it, after a reload that changed its address); returns the port. */
  async start(cfg: AdminConfig): Promise<number> {
    // New credentials: streams opened with the old ones end (RFC 9110 §11: each request is authorised;
    // a stream is one request that would otherwise outlive its credentials).
    const creds = JSON.stringify([cfg.token, cfg.users])
    if (this.#creds !== '' && creds !== this.#creds) dropAllStreams()
    this.#creds = creds
    this.#router.configure(cfg)
    const where = `${cfg.listen.host}:${cfg.listen.port}`
    if (this.#listener !== null && where === this.#bound) return this.port
    const next = new AdminListener((r) => this.#router.handle(r))
    const port = await next.listen(cfg.listen.host, cfg.listen.port)
    await this.#listener?.close()
    this.#listener = next
    this.#bound = where
    this.#events.watchers.add(this.#watch)
    this.history.start()
    this.#feed.watchers.add(this.#onTrace)
    this.#events.log('info', 'admin listening', { address: cfg.listen.host, port })
    return port
  }

  get port(): number {
    return (this.#listener?.server.address() as { port: number } | null)?.port ?? 0
  }

  /**
   * Starts an admin API for `config` if it has one, and keeps it in step with each good reload: moved
   * when `admin.listen` changes, given the new credentials, closed when the key goes (null: off).
   */
  static async follow(config: Config, host: AdminHost, events: EventLog, reloader: Reloader): Promise<Admin> {
    const admin = new Admin(host, events)
    const apply = (c: Config): Promise<void> => (c.admin === null ? admin.close() : admin.start(c.admin).then(() => {}))
    reloader.onReload = (c) => { apply(c).catch((err: Error) => events.log('error', 'admin listen failed', { error: err.message })) }
    await apply(config)
    return admin
  }

  async close(): Promise<void> {
    this.#events.watchers.delete(this.#watch)
    this.history.stop()
    this.#feed.watchers.delete(this.#onTrace)
    await this.#listener?.close()
    this.#listener = null
    this.#bound = ''
    await this.#verifier.close()
  }
}
