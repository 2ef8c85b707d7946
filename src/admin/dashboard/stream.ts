/**
 * GET /dashboard/stream: the dashboard's server-sent events. First a `snapshot` (the history's ticks,
 * the state, the recent events), so a new page draws the last 15 minutes at once; then a `tick` each
 * second (the new tick and the state) and a `log` for each event as it is logged. A page that does not
 * read is dropped (sse.ts); a page costs one write a second, the same frame for every page.
 */
import type { Socket } from 'node:net'
import { SseClients, frame } from '../sse.js'
import type { History } from './history.js'

export class DashboardStream {
  readonly #clients = new SseClients()
  readonly #history: History

  constructor(history: History) {
    this.#history = history
    history.onTick = (tick, state) => { if (this.#clients.size > 0) this.#clients.send(frame('tick', JSON.stringify({ tick, state }))) }
    history.onEvent = (e) => { if (this.#clients.size > 0) this.#clients.send(frame('log', JSON.stringify(e))) }
  }

  get clients(): number { return this.#clients.size }

  attach(s: Socket): void {
    const h = this.#history
    // One JSON for every page opened within a tick: a storm of reconnects costs one encoding.
    const at = h.samples
    if (h.snapshotCache === null || h.snapshotCache.at !== at) h.snapshotCache = { at, json: frame('snapshot', JSON.stringify({ ticks: h.ticks, state: h.state, events: h.events })) }
    this.#clients.attach(s, h.snapshotCache.json)
  }
}
