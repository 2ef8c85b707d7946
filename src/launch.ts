/**
 * One running rawproxy, whoever started it: the command line (cli.ts, which adds the signals) or a
 * program that embeds it (index.ts, which leaves its process alone). With `workers: 1` a Server
 * serves in this process; with more, this process is the cluster primary (src/cluster/) and forked
 * workers serve. Either way, one Reloader takes every reload, and the admin API runs when the config
 * has one.
 */
import type { Address, Config } from './config/schema.js'
import type { EventLog } from './log/events.js'
import type { Service } from './signals.js'
import { Server } from './server/server.js'
import { Primary } from './cluster/primary.js'
import { build } from './http/llhttp.js'
import { FILTERS, afterReload, closeFilters } from './filters/index.js'
import { Reloader } from './reload.js'
import { ConfigError } from './config/validate.js'
import { Admin, AdminHost } from './admin/api.js'
import { SingleHost } from './admin/single.js'
import { ClusterHost } from './admin/cluster-host.js'
import type { TraceRecord } from './trace/record.js'

/** `rawproxy --trace`: every request traced, each record given to this (in a cluster, in the primary). */
export type TraceAll = (r: TraceRecord) => void

/** What serves: the part that differs between one process and a cluster. */
interface Core {
  /** The listeners' bound addresses (a cluster: as its workers bound them at start). */
  addresses(): Address[]
  apply(next: Config): Promise<void>
  host(reloader: Reloader, parser: string): AdminHost
  /** The fields of the "stopping" line. */
  counts(): Record<string, unknown>
  /** Graceful stop; the fields of the "stopped" line. */
  close(): Promise<Record<string, unknown>>
  restart?(): Promise<Record<string, unknown>>
}

async function single(config: Config, events: EventLog, trace?: TraceAll): Promise<Core> {
  const server = new Server(config, events, { filters: FILTERS })
  if (trace !== undefined) { server.tracer.all = true; server.tracer.watchers.add(trace) }
  try {
    await server.listen()
  } catch (err) {
    // The listeners opened before the one that failed, and the health checks, go too.
    await server.close(0)
    throw err
  }
  return {
    addresses: () => server.addresses(),
    apply: async (next) => {
      // Refused, not ignored: the file would say 4 while one process served on.
      if (next.workers > 1) throw new ConfigError('workers', `one process cannot become a cluster on reload: restart to serve with ${next.workers} workers`)
      await server.reload(next)
      await afterReload(next)
    },
    host: (reloader, parser) => new SingleHost(server, reloader, parser),
    counts: () => ({ connections: server.connections }),
    close: () => server.close().then(closeFilters).then(() => ({})),
  }
}

async function clustered(config: Config, events: EventLog, trace?: TraceAll): Promise<Core> {
  // The workers trace every request; their records come to the primary, printed here in one stream.
  const primary = new Primary(config, events, trace !== undefined)
  if (trace !== undefined) primary.traces.watchers.add(trace)
  const addresses = await primary.start()
  return {
    addresses: () => addresses,
    apply: (next) => primary.reload(next),
    host: (reloader, parser) => new ClusterHost(primary, reloader, parser),
    counts: () => ({ workers: primary.pids().length }),
    close: async () => ({ ...(await primary.stop()) }),
    restart: () => primary.rollingRestart().then(() => ({ pids: primary.pids().join(',') })),
  }
}

/** A started rawproxy: what the signals (signals.ts) and the library (index.ts) act on. */
export class Launched implements Service {
  readonly reloader: Reloader
  readonly host: AdminHost
  readonly admin: Admin
  readonly restart?: () => Promise<Record<string, unknown>>
  readonly #core: Core
  #stopped: Promise<Record<string, unknown>> | null = null

  constructor(core: Core, reloader: Reloader, host: AdminHost, admin: Admin) {
    this.#core = core
    this.reloader = reloader
    this.host = host
    this.admin = admin
    if (core.restart !== undefined) this.restart = () => core.restart!()
  }

  addresses(): Address[] { return this.#core.addresses() }

  stopping(): Record<string, unknown> {
    // GET /ready answers 503 from now on, so orchestrators send no more traffic.
    this.admin.stopping = true
    return this.#core.counts()
  }

  /** Graceful stop, once: asked again, the same promise. */
  stop(): Promise<Record<string, unknown>> {
    // No reload after this (one under way finishes first): it would open listeners nothing closes.
    this.#stopped ??= this.reloader.stop().then(() => this.#core.close()).then(async (fields) => { await this.admin.close(); return fields })
    return this.#stopped
  }
}

/**
 * Starts serving `config`. `file`: the config file that SIGHUP and POST /reload re-read (none: they
 * are refused, and reloads come with a config). `trace`: trace every request (`--trace`). Logs and rethrows what stops it from starting, having
 * closed whatever it had opened.
 */
export async function launch(config: Config, events: EventLog, file?: string, trace?: TraceAll): Promise<Launched> {
  const parser = `llhttp ${build}`
  let core: Core
  try {
    core = config.workers > 1 ? await clustered(config, events, trace) : await single(config, events, trace)
  } catch (err) {
    events.log('error', 'listen failed', { error: (err as Error).message })
    events.flushSync()
    throw err
  }
  const reloader = new Reloader((next) => core.apply(next), events, file)
  const host = core.host(reloader, parser)
  let admin: Admin
  try {
    admin = await Admin.follow(config, host, events, reloader)
  } catch (err) {
    events.log('error', 'admin listen failed', { error: (err as Error).message })
    await core.close()
    events.flushSync()
    throw err
  }
  events.log('info', 'started', { pid: process.pid, ...(config.workers > 1 ? { workers: config.workers } : {}), parser })
  return new Launched(core, reloader, host, admin)
}
