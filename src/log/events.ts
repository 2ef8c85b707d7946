/**
 * The event log: start, stop, reloads, faults. Low volume, kept apart from the access log.
 */
import { LogTarget } from '../config/schema.js'
import { Sink } from './sink.js'

export type Level = 'info' | 'warn' | 'error'

/** One event as watchers see it: its time, level and name, and its fields. */
export interface LoggedEvent {
  readonly time: string
  readonly level: Level
  readonly event: string
  readonly [field: string]: unknown
}

export class EventLog {
  #sink: Sink | null
  #json: boolean
  /** Fields added to every line, e.g. `{ worker: 2 }` in a cluster worker (src/cluster/worker.ts). */
  readonly #tags: Record<string, unknown>

  constructor(target: LogTarget, tags: Record<string, unknown> = {}) {
    this.#sink = target.path === 'off' ? null : new Sink(target.path)
    this.#json = target.format === 'json'
    this.#tags = tags
  }

  /** Told of every event, logged or not (the admin API's event stream, a cluster worker's forwarding). */
  readonly watchers = new Set<(e: LoggedEvent) => void>()

  log(level: Level, event: string, more: Record<string, unknown> = {}): void {
    if (this.watchers.size > 0) {
      const e = { time: new Date().toISOString(), level, event, ...more, ...this.#tags }
      for (const w of this.watchers) w(e)
    }
    if (this.#sink === null) return
    const fields = { ...more, ...this.#tags }
    const time = new Date().toISOString()
    if (this.#json) this.#sink.line(JSON.stringify({ time, level, event, ...fields }))
    else {
      const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`).join(' ')
      this.#sink.line(`${time} ${level} ${event}${rest === '' ? '' : ' ' + rest}`)
    }
    if (level !== 'info') this.#sink.flush()
  }

  flushSync(): void { this.#sink?.flushSync() }
  /** For a stop: every line so far in the file, in order, waiting up to `ms` for a write in flight (sink.ts). */
  drain(ms: number): Promise<void> { return this.#sink?.drain(ms) ?? Promise.resolve() }
  close(): void { this.#sink?.close() }
}
