/**
 * GET /events: the event log as server-sent events (WHATWG HTML §9.2), as things happen: health
 * flips, ejections, reloads, faults. Each event is `event: NAME` (the log's event, spaces as `_`)
 * and `data: JSON` (time, level and fields). A comment line every 15 s keeps idle proxies between
 * the client and us from closing the stream. The trace stream (traces.ts) is a hub of its own.
 */
import type { Socket } from 'node:net'
import { httpDate } from '../http/status.js'
import type { LoggedEvent } from '../log/events.js'

const HEARTBEAT_MS = 15_000
/** A stream whose client has not read this much is dropped: events are never held for it without bound. */
const MAX_BACKLOG = 1 << 20

export class EventHub {
  readonly #clients = new Set<Socket>()
  #timer: NodeJS.Timeout | null = null
  /** The comment line a stream opens with. */
  readonly #banner: string

  constructor(banner = 'rawproxy events') {
    this.#banner = banner
  }

  get clients(): number { return this.#clients.size }

  /** Takes an admin connection over as an event stream; `first`: frames it gets before any new one. */
  attach(s: Socket, first: readonly string[] = []): void {
    s.write(`HTTP/1.1 200 OK\r\nDate: ${httpDate()}\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n: ${this.#banner}\n\n${first.join('')}`)
    s.resume()
    this.#clients.add(s)
    s.on('close', () => { this.#clients.delete(s); this.#idle() })
    this.#timer ??= setInterval(() => { for (const c of this.#clients) this.#write(c, ': keep-alive\n\n') }, HEARTBEAT_MS).unref()
  }

  #write(c: Socket, frame: string): void {
    if (c.writableLength > MAX_BACKLOG) { c.destroy(); return }
    c.write(frame)
  }

  /** One event to every stream. */
  send(e: LoggedEvent): void {
    if (this.#clients.size === 0) return
    this.broadcast(`event: ${e.event.replace(/\s+/g, '_')}\ndata: ${JSON.stringify(e)}\n\n`)
  }

  /** One frame (`event: ...\ndata: ...\n\n`) to every stream. */
  broadcast(frame: string): void {
    for (const c of this.#clients) this.#write(c, frame)
  }

  #idle(): void {
    if (this.#clients.size === 0 && this.#timer !== null) { clearInterval(this.#timer); this.#timer = null }
  }
}
