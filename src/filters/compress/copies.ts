/**
 * Compressed (or decoded) copies of stored responses, so that a cache hit is not compressed again on
 * every request (issue 12). The cache keeps what the peer sent; the first hit that needs a coding
 * streams through zlib as a miss does and keeps the output here; later hits are served from the copy,
 * with its Content-Length, and run no zlib at all.
 *
 * A copy is keyed by the stored head object: the cache makes a new one for each stored response
 * (and when a 304 refreshes it), so a copy never outlives the content it was made from by being
 * served for another. Bounded by `copies_max_size`: the oldest copies go first (a copy of an evicted
 * entry is never asked for again, and ages out the same way).
 */
import type { Head } from '../../http/head.js'
import type { Op } from './coder.js'

export class Copies {
  readonly #max: number
  /** Oldest first (a Map keeps insertion order). */
  readonly #map = new Map<Head, Map<Op, Buffer>>()
  #bytes = 0

  constructor(max: number) {
    this.#max = max
  }

  get bytes(): number { return this.#bytes }
  get max(): number { return this.#max }

  get(head: Head, op: Op): Buffer | undefined {
    return this.#map.get(head)?.get(op)
  }

  /** A collector of the `op` output for `head`'s content, or null when a copy would not fit. */
  keeper(head: Head, op: Op, length: number): Keeper | null {
    return length < 0 || length > this.#max ? null : new Keeper(this, head, op)
  }

  put(head: Head, op: Op, b: Buffer): void {
    if (b.length > this.#max) return
    let m = this.#map.get(head)
    if (m === undefined) this.#map.set(head, m = new Map())
    const old = m.get(op)
    if (old !== undefined) this.#bytes -= old.length
    m.set(op, b)
    this.#bytes += b.length
    for (const [h, ops] of this.#map) {
      if (this.#bytes <= this.#max) break
      for (const c of ops.values()) this.#bytes -= c.length
      this.#map.delete(h)
    }
  }
}

/** The output of one transform, kept whole if it ends well and fits. */
export class Keeper {
  readonly #copies: Copies
  readonly #head: Head
  readonly #op: Op
  readonly #parts: Buffer[] = []
  #size = 0

  constructor(copies: Copies, head: Head, op: Op) {
    this.#copies = copies
    this.#head = head
    this.#op = op
  }

  add(b: Buffer): void {
    if (this.#size < 0) return
    this.#size += b.length
    // Decoded output can outgrow its input: past the budget, nothing is kept.
    if (this.#size > this.#copies.max) { this.#size = -1; this.#parts.length = 0; return }
    this.#parts.push(b)
  }

  done(): void {
    if (this.#size >= 0) this.#copies.put(this.#head, this.#op, Buffer.concat(this.#parts, this.#size))
  }
}
