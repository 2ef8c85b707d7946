/**
 * The event log: start, stop, reloads, faults. Low volume, kept apart from the access log.
 */
import { LogTarget } from '../config/schema.js'
import { Sink } from './sink.js'

export type Level = 'info' | 'warn' | 'error'

export class EventLog {
  #sink: Sink | null
  #json: boolean

  constructor(target: LogTarget) {
    this.#sink = target.path === 'off' ? null : new Sink(target.path)
    this.#json = target.format === 'json'
  }

  log(level: Level, event: string, fields: Record<string, unknown> = {}): void {
    if (this.#sink === null) return
    const time = new Date().toISOString()
    if (this.#json) this.#sink.line(JSON.stringify({ time, level, event, ...fields }))
    else {
      const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`).join(' ')
      this.#sink.line(`${time} ${level} ${event}${rest === '' ? '' : ' ' + rest}`)
    }
    if (level !== 'info') this.#sink.flush()
  }

  flushSync(): void { this.#sink?.flushSync() }
  close(): void { this.#sink?.close() }
}
