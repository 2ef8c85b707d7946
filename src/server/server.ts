/**
 * The listeners and the connections they accept. One `net.Server` per `listen` address (IPv4 and
 * IPv6), a cap on open connections, config reload, and graceful shutdown.
 */
import type { Socket } from 'node:net'
import { TLSSocket } from 'node:tls'
import type { Config, Address, Listener } from '../config/schema.js'
import { Runtime } from '../proxy/runtime.js'
import { AccessLog } from '../log/access-log.js'
import { EventLog } from '../log/events.js'
import { ClientConn, Host } from './connection.js'
import { Endpoint, EndpointEvents, peerAddress } from './endpoint.js'
import type { FilterKind } from '../proxy/filter.js'
import { ServerMetrics } from '../admin/server-metrics.js'
import { Tracer } from '../trace/tracer.js'

export interface ServerOptions {
  /** Run the active health checks here (false in a cluster worker: the primary runs them). Default true. */
  readonly checks?: boolean
  /** The features routes may use (src/filters/index.ts, from the composition root). Default: none. */
  readonly filters?: readonly FilterKind[]
  /**
   * The listeners are a cluster's shared handles (a worker): the primary knows each by the address
   * it was first written with, and a worker forked later asks by the config's, so a port-0 listener
   * is not renamed on reload (see reload). Default false.
   */
  readonly shared?: boolean
}

/**
 * On a graceful stop, a connection that has sent nothing yet is given this long for its first bytes
 * before it is closed as idle: it may have been accepted just before the listener closed (a cluster
 * worker stopping in a rolling restart), with its request in flight.
 */
const FIRST_BYTES_MS = 500
/** At a stop: how long the lines of what was cut may take to come, and a log write in flight to land. */
const CUT_LINES_MS = 500
const DRAIN_MS = 1000

function key(a: Address): string {
  return `${a.host}|${a.port}`
}

/** The port a listener is bound to, or -1 when it is not (yet, or any more). */
function boundPort(ep: Endpoint): number {
  const a = ep.server.address()
  return a !== null && typeof a === 'object' ? a.port : -1
}

export class Server implements Host, EndpointEvents {
  rt: Runtime
  access: AccessLog
  readonly events: EventLog
  closing = false
  readonly #listeners = new Map<string, Endpoint>()
  /** Each open connection and the listener it came in on. */
  readonly #conns = new Map<ClientConn, Endpoint>()
  /** Access logs a reload replaced, while a write of theirs may be in flight. */
  #retiredLogs: AccessLog[] = []
  /** Connections refused at accept because of `limits.max_connections`. */
  refused = 0
  /** Connections accepted and served (counters for src/cluster/counters.ts). */
  accepted = 0
  /** Requests whose head was accepted: routed, or answered 404 (counted by the connection). */
  requests = 0
  /** Exchanges over: `requests - finished` are in flight. */
  finished = 0
  /** The metrics of this server's traffic (read by the admin API, or by the cluster primary). */
  readonly metrics: ServerMetrics
  /** TLS handshakes that failed (plain HTTP on a TLS port, no shared version or cipher, a bad client certificate...). */
  handshakeFailures = 0
  /** Connections a listener refused before any HTTP byte: its `access` rules, or a bad or unwanted PROXY header. */
  denied = 0
  /** Which requests are traced, and who hears their records (src/trace/); kept across reloads. */
  readonly tracer = new Tracer()

  readonly #checks: boolean
  readonly #filters: readonly FilterKind[]
  readonly #shared: boolean

  constructor(config: Config, events?: EventLog, opts: ServerOptions = {}) {
    this.events = events ?? new EventLog(config.event_log)
    this.#checks = opts.checks ?? true
    this.#filters = opts.filters ?? []
    this.#shared = opts.shared ?? false
    this.metrics = new ServerMetrics(this)
    this.rt = new Runtime(config, this.events, null, this.#checks, this.#filters, this.metrics)
    this.access = new AccessLog(config.access_log)
    this.tracer.configure(config)
  }

  get connections(): number { return this.#conns.size }

  /** Opens every listener of the current config. */
  async listen(): Promise<void> {
    for (const a of this.rt.config.listen) await this.#open(a, this.rt.config)
  }

  /** The open listeners, in config order. */
  endpoints(): Endpoint[] {
    return [...this.#listeners.values()]
  }

  /** The bound addresses (port 0 resolved), in config order. */
  addresses(): Address[] {
    return [...this.#listeners.values()].map((ep) => {
      const a = ep.server.address() as { address: string; port: number }
      return { host: a.address, port: a.port }
    })
  }

  async #open(a: Listener, config: Config): Promise<void> {
    // A TLS handshake (and a PROXY header) is part of getting the head in: it gets the head's time
    // (slowloris, RFC 9110 §15.5.9).
    const ep = new Endpoint(a, config.timeouts.header, config.limits.max_connections, this)
    const srv = ep.server
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject)
      // "::" alone would also take IPv4 on a dual-stack host; an explicit address is taken as given.
      // Backlog 4096 (Linux caps it at net.core.somaxconn): 1000 clients connecting at once overflowed
      // 1024 while the event loop served the first ones (341 listen drops, each a 1 s SYN retransmit).
      srv.listen({ host: a.host, port: a.port, ipv6Only: false, backlog: 4096 }, () => {
        srv.off('error', reject)
        resolve()
      })
    })
    srv.on('error', (err) => this.events.log('error', 'listener', { address: `${a.host}:${a.port}`, error: err.message }))
    this.#listeners.set(key(a), ep)
    const bound = srv.address() as { address: string; port: number }
    this.events.log('info', 'listening', { address: bound.address, port: bound.port, ...(ep.tls ? { tls: true } : {}) })
  }

  accept(s: Socket, ep: Endpoint, client: string): void {
    if (this.closing || this.#conns.size >= this.rt.config.limits.max_connections) {
      this.refused++
      s.destroy()
      return
    }
    this.accepted++
    ep.accepted++
    ep.open++
    if (s instanceof TLSSocket) {
      ep.handshake(s.getProtocol() ?? 'unknown', 'ok')
      if (s.isSessionReused()) ep.resumed++
    }
    this.#conns.set(new ClientConn(s, this, ep, client), ep)
  }

  refuse(s: Socket, ep: Endpoint, client: string, reason: string): void {
    this.denied++
    // Info, not warn: the event log then batches the lines of a scan instead of a write each.
    this.events.log('info', 'connection refused', { listener: ep.label, client, reason })
    s.destroy()
  }

  drop(): void {
    this.refused++
  }

  handshakeFailed(err: Error, s: TLSSocket, ep: Endpoint): void {
    this.handshakeFailures++
    ep.handshake('unknown', 'failed')
    this.events.log('warn', 'tls handshake failed', {
      listener: ep.label, client: peerAddress(s),
      // OpenSSL errors carry their reason text ("unsupported protocol", "http request") apart.
      error: (err as NodeJS.ErrnoException).code ?? 'error', reason: (err as Error & { reason?: string }).reason ?? err.message,
    })
    s.destroy()
  }

  /** A new session ticket key on every TLS listener now (each also rotates on its own `ticket_rotation`). */
  rotateTicketKeys(): void {
    for (const ep of this.#listeners.values()) ep.terminator?.rotate()
  }

  remove(c: ClientConn): void {
    const ep = this.#conns.get(c)
    if (ep !== undefined) ep.open--
    this.#conns.delete(c)
  }

  /**
   * Swaps in a new config. New requests use it; requests in flight finish on the old one. Listeners
   * are opened and closed to match; if a new one cannot be opened the reload is refused whole.
   */
  async reload(config: Config): Promise<void> {
    const want = new Map(config.listen.map((a) => [key(a), a]))
    // A listener written with port 0, now named by the port it got, is the same listener (reopening
    // it would find its own port in use): it is kept, under its new name once the reload is done.
    const renamed = new Map<string, string>()
    for (const a of config.listen) {
      const zero = key({ host: a.host, port: 0 })
      const ep = this.#listeners.get(zero)
      if (this.#listeners.has(key(a)) || want.has(zero) || ep === undefined || boundPort(ep) !== a.port) continue
      // A worker forked later would ask the primary for the new name: a second bind of the port.
      if (this.#shared) throw new Error(`listen ${a.host}:${a.port} is the port that ${a.host}:0 got: with workers, a listener keeps the address it was first written with (write ${a.host}:0)`)
      renamed.set(key(a), zero)
    }
    const current = (k: string): string => renamed.get(k) ?? k
    // Listeners that stay: check their entries and build new certificate contexts before anything
    // changes (throws: the reload is refused, the running ones untouched).
    const commits = config.listen.flatMap((a, i) => {
      const ep = this.#listeners.get(current(key(a)))
      return ep === undefined ? [] : [ep.prepare(a, i, config.limits.max_connections)]
    })
    const opened: string[] = []
    try {
      for (const [k, a] of want) if (!this.#listeners.has(current(k))) { await this.#open(a, config); opened.push(k) }
    } catch (err) {
      for (const k of opened) { this.#listeners.get(k)!.close(); this.#listeners.delete(k) }
      throw err
    }
    for (const commit of commits) commit()
    for (const [k, old] of renamed) { this.#listeners.set(k, this.#listeners.get(old)!); this.#listeners.delete(old) }
    for (const [k, ep] of this.#listeners) if (!want.has(k)) { ep.close(); this.#listeners.delete(k) }
    // In config order again (endpoints() and addresses() are listed so).
    const ordered = [...want.keys()].map((k): [string, Endpoint] => [k, this.#listeners.get(k)!])
    this.#listeners.clear()
    for (const [k, ep] of ordered) this.#listeners.set(k, ep)
    const old = this.rt
    old.retire()
    this.rt = new Runtime(config, this.events, old, this.#checks, this.#filters, this.metrics)
    this.tracer.configure(config)
    const prevLog = old.config.access_log
    if (prevLog.path !== config.access_log.path || prevLog.format !== config.access_log.format) {
      // A write in flight keeps the old log open until it lands; a stop waits for it too.
      this.access.close()
      this.#retiredLogs = [...this.#retiredLogs.filter((l) => !l.closed), this.access]
      this.access = new AccessLog(config.access_log)
    }
  }

  /**
   * Graceful stop: no new connections, idle keep-alive ones closed now, the rest given `graceMs` to
   * finish their exchange, then cut.
   */
  async close(graceMs = this.rt.config.timeouts.grace): Promise<void> {
    this.closing = true
    for (const ep of this.#listeners.values()) ep.close()
    this.#listeners.clear()
    for (const c of this.#conns.keys()) c.shutdown(false)
    const deadline = Date.now() + graceMs
    const firstBytes = Date.now() + Math.min(FIRST_BYTES_MS, graceMs)
    while (this.#conns.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20))
      if (Date.now() >= firstBytes) for (const c of this.#conns.keys()) c.shutdown(true)
    }
    for (const c of this.#conns.keys()) c.cut()
    // What was cut logs its line when its sockets' close events come (a tunnel's), a turn or two on.
    const cutAt = Date.now()
    while (this.requests > this.finished && Date.now() - cutAt < CUT_LINES_MS) await new Promise((r) => setTimeout(r, 5))
    this.rt.retire()
    // Together, so a stuck thread pool costs the stop DRAIN_MS once, not once per log.
    await Promise.all([...this.#retiredLogs, this.access, this.events].map((l) => l.drain(DRAIN_MS)))
  }
}
