/**
 * The admin API's side of tracing (src/trace/): the last 100 records (`GET /traces`, newest last) and
 * their live stream (`GET /traces/stream`: server-sent events, `event: trace` with the record as
 * `data`, the last 20 first). Fed by the Tracer of this process, or, in a cluster, by the records the
 * workers send the primary. A stream client that does not read is dropped (events.ts).
 */
import type { Socket } from 'node:net'
import type { TraceRecord } from '../trace/record.js'
import { EventHub } from './events.js'
import { frame as sse } from './sse.js'

/** Records the ring keeps. */
export const RING = 100
/** Records a new stream gets first. */
const REPLAY = 20

function frame(r: TraceRecord): string {
  return sse('trace', JSON.stringify(r))
}

export class TraceStore {
  readonly #ring: TraceRecord[] = []
  readonly #hub = new EventHub('rawproxy traces')

  /** A finished record: kept (the oldest goes past RING) and sent to every stream. */
  add(r: TraceRecord): void {
    this.#ring.push(r)
    if (this.#ring.length > RING) this.#ring.shift()
    if (this.#hub.clients > 0) this.#hub.broadcast(frame(r))
  }

  /** The kept records, oldest first. */
  list(): readonly TraceRecord[] {
    return this.#ring
  }

  /** Takes an admin connection over as a trace stream. */
  attach(s: Socket): void {
    this.#hub.attach(s, this.#ring.slice(-REPLAY).map(frame))
  }

  get clients(): number { return this.#hub.clients }
}
