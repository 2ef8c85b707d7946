/**
 * Server-sent event streams (WHATWG HTML §9.2) on admin connections: the head, then frames written to
 * every client. A client that does not read is dropped once 1 MiB waits for it: frames are never held
 * for a slow reader without bound. Used by GET /events (events.ts) and GET /dashboard/stream.
 */
import type { Socket } from 'node:net'
import { httpDate } from '../http/status.js'

/** A stream whose client has not read this much is dropped. */
const MAX_BACKLOG = 1 << 20

/** One frame: `event: NAME` and one `data:` line (JSON has no raw newline). */
export function frame(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`
}

export class SseClients {
  readonly #clients = new Set<Socket>()
  /** Told when the last client leaves (to stop a heartbeat, say). */
  onIdle: (() => void) | null = null

  get size(): number { return this.#clients.size }

  /** Takes an admin connection over as an event stream; `first` is written after the head. */
  attach(s: Socket, first: string): void {
    s.write(`HTTP/1.1 200 OK\r\nDate: ${httpDate()}\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${first}`)
    s.resume()
    this.#clients.add(s)
    s.on('close', () => { this.#clients.delete(s); if (this.#clients.size === 0) this.onIdle?.() })
  }

  write(c: Socket, text: string): void {
    if (c.writableLength > MAX_BACKLOG) { c.destroy(); return }
    c.write(text)
  }

  /** The same text to every client. */
  send(text: string): void {
    for (const c of this.#clients) this.write(c, text)
  }
}
