/**
 * rawproxy as a library, for a Node program that embeds the proxy (docs/library.md):
 *
 *   import { start } from 'rawproxy'
 *   const proxy = await start({ listen: ['127.0.0.1:8080'], upstreams: { app: { peers: ['127.0.0.1:3000'] } } })
 *   await proxy.reload({ ... })   // validated as a file is; refused, the last good config stays
 *   await proxy.status()          // what the admin API's GET /status answers
 *   await proxy.stop()            // graceful: requests in flight finish
 *
 * The config has the YAML file's shape (config/input.ts) and goes through the same validation. The
 * composition is the command line's (launch.ts), signals aside: the program keeps its process's.
 */
import { ConfigError, validate } from './config/validate.js'
import type { ConfigInput } from './config/input.js'
import type { Address, Config } from './config/schema.js'
import type { GroupStatus } from './upstream/group.js'
import { EventLog, LoggedEvent } from './log/events.js'
import { launch, Launched } from './launch.js'

export { ConfigError }
export type * from './config/input.js'
export type { Address, Config, GroupStatus, LoggedEvent }

export interface StartOptions {
  /** Told of every event (started, reloaded, reload refused, peer down...), whatever `event_log` says. */
  readonly onEvent?: (e: LoggedEvent) => void
}

/** What the admin API's GET /status answers (docs/admin.md). */
export interface Status {
  readonly version: string
  readonly pid: number
  readonly uptime_seconds: number
  readonly config: { readonly loaded_at: string; readonly reloads_ok: number; readonly reloads_failed: number }
  /** null with `workers: 1`; else each worker's pid and counters. */
  readonly workers: readonly Record<string, unknown>[] | null
  /** With `workers: 1`: each listener, its connections open now and accepted so far. */
  readonly listeners?: readonly { readonly address: string; readonly tls: boolean; readonly open: number; readonly accepted: number }[]
  readonly requests?: { readonly total: number; readonly in_flight: number }
  readonly connections?: number
  readonly routes: readonly { readonly route: string; readonly upstream: string }[]
  readonly upstreams: readonly GroupStatus[]
}

/** A running proxy. */
export interface RawProxy {
  /** The listeners' addresses as bound (a port 0 resolved), in config order. With workers > 1: as bound at start. */
  addresses(): Address[]
  /** The admin API's port (0: no `admin` in the config). */
  readonly adminPort: number
  /** The config in force, validated (durations in ms, sizes in bytes). */
  readonly config: Config
  /**
   * Replaces the config: new requests use it, requests in flight finish on the old one. Rejects with
   * a ConfigError (field path and reason) or the error that stopped it (a listener it could not
   * open); the last good config then stays in force. A cluster may change its number of workers;
   * one process cannot become a cluster (refused: stop and start).
   */
  reload(config: ConfigInput): Promise<void>
  status(): Promise<Status>
  /** Graceful stop: listeners close, idle connections close, the rest get `timeouts.grace`. Once. */
  stop(): Promise<void>
}

/** Validates a config without starting anything; throws ConfigError with the field path. */
export function check(config: ConfigInput): Config {
  return validate(config)
}

/** A proxy runs (or is starting) in this process: process-wide stores, such as cache zones, allow one at a time. */
let busy = false

/**
 * Starts a proxy from a config object. Throws ConfigError for a bad config (nothing started), or the
 * error of a listener that could not open (whatever had opened is closed again). With `workers` > 1
 * this process becomes a node:cluster primary: rawproxy's own worker script is forked, not the program.
 */
export async function start(config: ConfigInput, options: StartOptions = {}): Promise<RawProxy> {
  if (busy) throw new Error('rawproxy is already running in this process: stop() it first (one proxy per process; it may have several listeners)')
  const valid = validate(config)
  busy = true
  const events = new EventLog(valid.event_log)
  if (options.onEvent !== undefined) events.watchers.add(options.onEvent)
  try {
    return new Embedded(await launch(valid, events), events)
  } catch (err) {
    busy = false
    events.close()
    throw err
  }
}

class Embedded implements RawProxy {
  readonly #l: Launched
  readonly #events: EventLog
  #stopped: Promise<void> | null = null

  constructor(launched: Launched, events: EventLog) {
    this.#l = launched
    this.#events = events
  }

  addresses(): Address[] { return this.#l.addresses() }
  get adminPort(): number { return this.#l.admin.port }
  get config(): Config { return this.#l.host.config() }

  reload(config: ConfigInput): Promise<void> {
    return this.#l.reloader.use(() => validate(config))
  }

  status(): Promise<Status> {
    return this.#l.host.status() as Promise<unknown> as Promise<Status>
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  async #stop(): Promise<void> {
    this.#events.log('info', 'stopping', this.#l.stopping())
    this.#events.log('info', 'stopped', await this.#l.stop())
    this.#events.close()
    busy = false
  }
}
