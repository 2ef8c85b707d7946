/**
 * One reload, the same whether SIGHUP, the admin API's POST /reload or a program embedding rawproxy
 * (index.ts) asked for it: re-read and validate the config file (or take the program's config), hand
 * it to the service (a Server, or the cluster primary), log the outcome, and count it for the metrics
 * (admin/control-metrics.ts). A config refused at any step leaves the last good one in force.
 */
import { loadFile } from './config/load.js'
import type { Config } from './config/schema.js'
import type { EventLog } from './log/events.js'

export interface ReloadResult {
  readonly ok: boolean
  /** Why it was refused; absent when it succeeded. */
  readonly error?: string
}

export class Reloader {
  readonly #apply: (c: Config) => Promise<void>
  readonly #events: EventLog
  readonly #file: string | undefined
  ok = 0
  failed = 0
  /** When the config in force was loaded (the start, or the last good reload), ms since the epoch. */
  lastGood = Date.now()
  /** Told of each reload that succeeded, with the new config (the admin API follows its settings). */
  onReload: ((c: Config) => void) | null = null
  /** Reloads run one after another, in the order asked: the last asked is the one in force. */
  #tail: Promise<unknown> = Promise.resolve()
  /** Stopping: no reload opens anything again (a SIGHUP in the stop's grace, a program's late reload). */
  #stopped = false

  /** `file`: the config file (none in quick and demo modes: a reload is then refused). */
  constructor(apply: (c: Config) => Promise<void>, events: EventLog, file: string | undefined) {
    this.#apply = apply
    this.#events = events
    this.#file = file
  }

  /** Re-reads the config file (SIGHUP, the admin API's POST /reload). */
  async run(): Promise<ReloadResult> {
    const file = this.#file
    if (file === undefined) {
      this.#events.log('warn', 'reload ignored', { reason: 'no --config file' })
      return { ok: false, error: 'no --config file to reload' }
    }
    const err = await this.#attempt(() => loadFile(file), file)
    return err === null ? { ok: true } : { ok: false, error: err.message }
  }

  /**
   * A reload with a config made by the caller (the library's `reload(config)`); rejects with what
   * refused it (a ConfigError names the field), the last good config staying in force.
   */
  async use(load: () => Config): Promise<void> {
    const err = await this.#attempt(load, 'object')
    if (err !== null) throw err
  }

  /**
   * No reload from now on; resolves once the one under way (if any) is over, so the caller closes
   * what that one opened too.
   */
  stop(): Promise<void> {
    this.#stopped = true
    return this.#tail.then(() => {})
  }

  /** Loads, validates and applies, after the reloads asked before it; null when it is in force, else the error that refused it. */
  #attempt(load: () => Config, source: string): Promise<Error | null> {
    const run = this.#tail.then(() => this.#apply1(load, source))
    this.#tail = run
    return run
  }

  async #apply1(load: () => Config, source: string): Promise<Error | null> {
    if (this.#stopped) {
      this.#events.log('warn', 'reload ignored', { reason: 'stopping' })
      return new Error('stopping: no reload')
    }
    let next: Config
    try {
      next = load()
      await this.#apply(next)
    } catch (err) {
      // Refused before or while it was applied: the last good config stays in force.
      this.failed++
      this.#events.log('error', 'reload refused', { error: (err as Error).message })
      return err as Error
    }
    this.ok++
    this.lastGood = Date.now()
    this.#events.log('info', 'reloaded', { config: source })
    this.onReload?.(next)
    return null
  }
}
