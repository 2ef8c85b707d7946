/**
 * GET /events: the event log as server-sent events (WHATWG HTML §9.2), as things happen: health
 * flips, ejections, reloads, faults. Each event is `event: NAME` (the log's event, spaces as `_`)
 * and `data: JSON` (time, level and fields). A comment line every 15 s keeps idle proxies between
 * the client and us from closing the stream. A client that does not read is dropped (sse.ts).
 */
import type { Socket } from 'node:net'
import type { LoggedEvent } from '../log/events.js'
import { SseClients, frame } from './sse.js'

const HEARTBEAT_MS = 15_000

export class EventHub {
  readonly #clients = new SseClients()
  #timer: NodeJS.Timeout | null = null

  constructor() {
    this.#clients.onIdle = () => { if (this.#timer !== null) { clearInterval(this.#timer); this.#timer = null } }
  }

  get clients(): number { return this.#clients.size }

  /** Takes an admin connection over as an event stream. */
  attach(s: Socket): void {
    this.#clients.attach(s, ': rawproxy events\n\n')
    this.#timer ??= setInterval(() => this.#clients.send(': keep-alive\n\n'), HEARTBEAT_MS).unref()
  }

  /** One event to every stream. */
  send(e: LoggedEvent): void {
    if (this.#clients.size === 0) return
    this.#clients.send(frame(e.event.replace(/\s+/g, '_'), JSON.stringify(e)))
  }
}
