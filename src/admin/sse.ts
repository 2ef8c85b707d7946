/**
 * Server-sent event streams (WHATWG HTML §9.2) on admin connections: the head, then frames written to
 * every client. A client that does not read is dropped once 1 MiB waits for it past its first frame
 * (a dashboard's snapshot): frames are never held for a slow reader without bound. Used by GET /events (events.ts) and GET /dashboard/stream.
 */
import type { Socket } from 'node:net'
import { httpDate } from '../http/status.js'

/** A stream whose client has not read this much is dropped. */
const MAX_BACKLOG = 1 << 20

/** One frame: `event: NAME` and one `data:` line (JSON has no raw newline). */
export function frame(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`
}

/** Every stream set of the process: credentials that change close them all (dropAllStreams). */
const every = new Set<SseClients>()

/**
 * Closes every open stream: after a reload that changed the admin API's credentials, a stream opened
 * with the old ones must not go on receiving (the page reconnects, and must sign in again).
 */
export function dropAllStreams(): void {
  for (const set of every) set.dropAll()
}

export class SseClients {
  readonly #clients = new Set<Socket>()
  /** Each client's bound: MAX_BACKLOG past its first frame (a large snapshot drains over a slow link first). */
  readonly #bound = new WeakMap<Socket, number>()
  /** Told when the last client leaves (to stop a heartbeat, say). */
  onIdle: (() => void) | null = null

  constructor() { every.add(this) }

  get size(): number { return this.#clients.size }

  dropAll(): void {
    for (const c of this.#clients) c.destroy()
  }

  /** Takes an admin connection over as an event stream; `first` is written after the head. */
  attach(s: Socket, first: string): void {
    s.write(`HTTP/1.1 200 OK\r\nDate: ${httpDate()}\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${first}`)
    s.resume()
    this.#bound.set(s, MAX_BACKLOG + first.length)
    this.#clients.add(s)
    s.on('close', () => { this.#clients.delete(s); if (this.#clients.size === 0) this.onIdle?.() })
  }

  write(c: Socket, text: string): void {
    if (c.writableLength > (this.#bound.get(c) ?? MAX_BACKLOG)) { c.destroy(); return }
    c.write(text)
  }

  /** The same text to every client. */
  send(text: string): void {
    for (const c of this.#clients) this.write(c, text)
  }
}
