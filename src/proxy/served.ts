/**
 * The sink of a stored body (proxy/content.ts): writes what the store reads to the client, chunked
 * when the length was not known at the head (an entry still filling from a chunked peer), and tells
 * the store to wait while the client's buffer is full.
 */
import type { ContentSink } from './content.js'
import type { Downstream } from './downstream.js'
import { LAST_CHUNK, writeChunk } from './response-head.js'

/** What the sink needs of its exchange. */
export interface ServedOwner {
  bytesOut: number
  servedEnd(): void
  servedAbort(reason: string): void
}

/** A body up to this size goes out in one write with the head (one syscall, not two, per small hit). */
const COALESCE = 16384

export class Served implements ContentSink {
  readonly #down: Downstream
  readonly #owner: ServedOwner
  readonly #chunked: boolean
  /** The head, held until the first body bytes (read at once from memory) or `flushHead`. */
  #head: Buffer | null
  #over = false

  constructor(down: Downstream, owner: ServedOwner, head: Buffer, chunked: boolean) {
    this.#down = down
    this.#owner = owner
    this.#head = head
    this.#chunked = chunked
  }

  /** The head goes out now if no body bytes came with it (the store reads later, or the body is large). */
  flushHead(): boolean {
    const h = this.#head
    if (h === null) return true
    this.#head = null
    return this.#down.write(h)
  }

  data(b: Buffer): boolean {
    if (this.#over || b.length === 0) return !this.#over
    const d = this.#down
    this.#owner.bytesOut += b.length
    const h = this.#head
    if (h !== null && !this.#chunked && b.length <= COALESCE) {
      this.#head = null
      return d.write(Buffer.concat([h, b], h.length + b.length))
    }
    if (h !== null && !this.#chunked) {
      // A large body: head and body in one writev.
      this.#head = null
      d.cork()
      d.write(h)
      const ok = d.write(b)
      d.uncork()
      return ok
    }
    this.flushHead()
    return this.#chunked ? writeChunk(d, b) : d.write(b)
  }

  end(): void {
    if (this.#over) return
    this.#over = true
    this.flushHead()
    if (this.#chunked) this.#down.write(LAST_CHUNK)
    this.#owner.servedEnd()
  }

  abort(reason: string): void {
    if (this.#over) return
    this.#over = true
    this.#owner.servedAbort(reason)
  }
}
