/**
 * The sink of a stored body (proxy/content.ts): writes what the store reads to the client, chunked
 * when the length was not known at the head (an entry still filling from a chunked peer), and tells
 * the store to wait while the client's buffer is full.
 */
import type { ContentSink } from './content.js'
import type { Downstream } from './downstream.js'
import { CRLF, LAST_CHUNK, chunkHeader } from './response-head.js'

/** What the sink needs of its exchange. */
export interface ServedOwner {
  bytesOut: number
  servedEnd(): void
  servedAbort(reason: string): void
}

export class Served implements ContentSink {
  readonly #down: Downstream
  readonly #owner: ServedOwner
  readonly #chunked: boolean
  #over = false

  constructor(down: Downstream, owner: ServedOwner, chunked: boolean) {
    this.#down = down
    this.#owner = owner
    this.#chunked = chunked
  }

  data(b: Buffer): boolean {
    if (this.#over || b.length === 0) return !this.#over
    const d = this.#down
    this.#owner.bytesOut += b.length
    if (!this.#chunked) return d.write(b)
    // RFC 9112 §7.1: size, CRLF, data, CRLF; one writev for the three.
    d.cork()
    d.write(chunkHeader(b.length))
    d.write(b)
    const ok = d.write(CRLF)
    d.uncork()
    return ok
  }

  end(): void {
    if (this.#over) return
    this.#over = true
    if (this.#chunked) this.#down.write(LAST_CHUNK)
    this.#owner.servedEnd()
  }

  abort(reason: string): void {
    if (this.#over) return
    this.#over = true
    this.#owner.servedAbort(reason)
  }
}
