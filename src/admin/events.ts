/**
 * GET /events: the event log as server-sent events (WHATWG HTML §9.2), as things happen: health
 * flips, ejections, reloads, faults. Each event is `event: NAME` (the log's event, spaces as `_`)
 * and `data: JSON` (time, level and fields). A comment line every 15 s keeps idle proxies between
 * the client and us from closing the stream. A client that does not read is dropped (sse.ts).
 * The trace stream (traces.ts) is a hub of its own.
 */
import type { Socket } from 'node:net'
import type { LoggedEvent } from '../log/events.js'
import { SseClients, frame } from './sse.js'

const HEARTBEAT_MS = 15_000

export class EventHub {
  readonly #clients = new SseClients()
  #timer: NodeJS.Timeout | null = null
  /** The comment line a stream opens with. */
  readonly #banner: string

  constructor(banner = 'rawproxy events') {
    this.#banner = banner
    this.#clients.onIdle = () => { if (this.#timer !== null) { clearInterval(this.#timer); this.#timer = null } }
  }

  get clients(): number { return this.#clients.size }

  /** Takes an admin connection over as an event stream; `first`: frames it gets before any new one. */
  attach(s: Socket, first: readonly string[] = []): void {
    this.#clients.attach(s, `: ${this.#banner}\n\n${first.join('')}`)
    this.#timer ??= setInterval(() => this.#clients.send(': keep-alive\n\n'), HEARTBEAT_MS).unref()
  }

  /** One event to every stream. */
  send(e: LoggedEvent): void {
    if (this.#clients.size === 0) return
    this.broadcast(frame(e.event.replace(/\s+/g, '_'), JSON.stringify(e)))
  }

  /** One frame (`event: ...\ndata: ...\n\n`) to every stream. */
  broadcast(text: string): void {
    this.#clients.send(text)
  }
}
