/**
 * The content of an entry while the peer's response streams to its client: copied in as it passes
 * (a tee, never a buffer of the whole response first, DESIGN principle 2), readable by other
 * exchanges as it arrives (collapsed requests, RFC 9111 §4 allows reusing a response being
 * received), and handed to the store when complete. A fill that fails (the peer died mid-body, the
 * object grew past max_object_size) leaves no entry; its readers are cut, as a direct client would be.
 */
import type { Content, ContentReader, ContentSink } from '../../proxy/content.js'
import type { Entry } from './entry.js'

/** What the store does at the end of a fill. */
export interface FillOwner {
  /** The content is complete: the entry is stored whole. */
  filled(e: Entry, body: Buffer): void
  /** The fill failed: the entry is dropped. */
  failed(e: Entry): void
}

export class Fill implements Content {
  readonly entry: Entry
  readonly #owner: FillOwner
  readonly #max: number
  #buf: Buffer
  received = 0
  #done = false
  #failed = false
  readonly #readers = new Set<FillReader>()

  constructor(entry: Entry, owner: FillOwner, max: number) {
    this.entry = entry
    this.#owner = owner
    this.#max = max
    // Grown as the content arrives (never the whole Content-Length up front: a slow client holds
    // back its peer, and its fill then holds only what came). Out of Node's shared pool, so that a
    // small entry does not keep an 8 KiB slab alive.
    this.#buf = Buffer.allocUnsafeSlow(Math.min(16384, entry.length >= 0 ? entry.length : max))
    entry.fill = this
  }

  get done(): boolean { return this.#done }
  /** Exchanges reading the content as it arrives (besides the one it comes through). */
  get readers(): number { return this.#readers.size }
  get failed(): boolean { return this.#failed }

  /** A slice of the content (a view of the socket's chunk: copied). False: the fill gave up. */
  write(data: Buffer): boolean {
    if (this.#done) return false
    const need = this.received + data.length
    if (need > this.#max || (this.entry.length >= 0 && need > this.entry.length)) { this.fail('larger than max_object_size'); return false }
    // Evicted or purged while arriving, and nobody reading along: stop copying.
    if (this.entry.gone && this.#readers.size === 0) { this.fail('no longer stored'); return false }
    if (need > this.#buf.length) {
      // Readers keep views of the old buffer, which stays valid for them.
      const cap = this.entry.length >= 0 ? this.entry.length : this.#max
      const grown = Buffer.allocUnsafeSlow(Math.min(cap, Math.max(need, this.#buf.length * 2)))
      this.#buf.copy(grown, 0, 0, this.received)
      this.#buf = grown
    }
    data.copy(this.#buf, this.received)
    this.received = need
    for (const r of this.#readers) r.more()
    return true
  }

  /** The peer's response ended: the entry is complete (or dropped, if it came short). */
  end(): void {
    if (this.#done) return
    if (this.entry.length >= 0 && this.received !== this.entry.length) { this.fail('shorter than its Content-Length'); return }
    this.#done = true
    // A buffer grown by doubling may be half empty: the entry keeps a copy of its size (counted exactly).
    let body = this.#buf
    if (this.received !== body.length) {
      body = Buffer.allocUnsafeSlow(this.received)
      this.#buf.copy(body, 0, 0, this.received)
    }
    this.entry.length = this.received
    this.entry.body = body
    this.entry.fill = null
    for (const r of this.#readers) r.more()
    this.#owner.filled(this.entry, body)
  }

  /** The response will not be complete: no entry, and its readers are cut. */
  fail(reason: string): void {
    if (this.#done) return
    this.#done = true
    this.#failed = true
    this.entry.fill = null
    for (const r of [...this.#readers]) r.abort(reason)
    this.#readers.clear()
    this.#owner.failed(this.entry)
  }

  /** The bytes received so far, from `start` (a view). */
  slice(start: number, end: number): Buffer {
    return this.#buf.subarray(start, Math.min(end, this.received))
  }

  read(sink: ContentSink, start: number, end: number): ContentReader {
    const r = new FillReader(this, sink, start, end < 0 ? Infinity : end)
    this.#readers.add(r)
    r.more()
    return r
  }

  drop(r: FillReader): void {
    this.#readers.delete(r)
  }
}

/** One exchange reading a fill as it arrives. */
class FillReader implements ContentReader {
  readonly #fill: Fill
  readonly #sink: ContentSink
  #pos: number
  readonly #end: number
  #paused = false
  #over = false

  constructor(fill: Fill, sink: ContentSink, start: number, end: number) {
    this.#fill = fill
    this.#sink = sink
    this.#pos = start
    this.#end = end
  }

  /** New bytes, or the end: pass on what there is, unless the client is full. */
  more(): void {
    if (this.#paused || this.#over) return
    const f = this.#fill
    const upTo = Math.min(this.#end, f.received)
    if (upTo > this.#pos) {
      const b = f.slice(this.#pos, upTo)
      this.#pos = upTo
      if (!this.#sink.data(b)) this.#paused = true
    }
    if (!this.#paused && (this.#pos >= this.#end || (f.done && !f.failed))) this.#finish()
  }

  resume(): void {
    this.#paused = false
    this.more()
  }

  cancel(): void {
    this.#over = true
    this.#fill.drop(this)
  }

  abort(reason: string): void {
    if (this.#over) return
    this.#over = true
    this.#sink.abort(reason)
  }

  #finish(): void {
    this.#over = true
    this.#fill.drop(this)
    this.#sink.end()
  }
}

/** A complete body in memory, read in one piece (the socket queues it without a copy). */
export class BufferContent implements Content {
  constructor(readonly body: Buffer) {}

  read(sink: ContentSink, start: number, end: number): ContentReader {
    const b = this.body
    const e = end < 0 ? b.length : end
    const r = new OnceReader(sink)
    if (sink.data(start === 0 && e === b.length ? b : b.subarray(start, e))) r.resume()
    return r
  }
}

/** The one write is made; the end waits for the client's buffer to drain (backpressure). */
class OnceReader implements ContentReader {
  #sink: ContentSink | null

  constructor(sink: ContentSink) {
    this.#sink = sink
  }

  resume(): void {
    const s = this.#sink
    if (s === null) return
    this.#sink = null
    s.end()
  }

  cancel(): void {
    this.#sink = null
  }
}
