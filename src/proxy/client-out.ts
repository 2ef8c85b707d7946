/**
 * A response's bytes on their way to the client: the framing of this hop (response-head.ts decides
 * it), the peer's head passed on as received or a rebuilt head held back to go with its body, and
 * corking while several pieces go out for one chunk. One per exchange that got a response head;
 * every call is made within one `onUpstreamData` of the Exchange, which ends it with `flush()`.
 */
import type { Downstream } from './downstream.js'
import { Framing, chunkHeader, CRLF, LAST_CHUNK, keepAliveLine } from './response-head.js'
import type { Head } from '../http/head.js'
import type { Transformed } from './transformed.js'

/** Body bytes up to this size are copied behind a rebuilt head rather than written beside it. */
const COALESCE = 16384

/** What the writer needs of its exchange: the byte count for the log, and backpressure to the peer. */
export interface OutOwner {
  bytesOut: number
  /** The client's buffer is full: stop reading the peer until it drains. */
  clientFull(): void
}

export class ClientOut {
  framing = Framing.RAW
  /** Decoded body spans noted during one `execute` (de-chunking or re-chunking only). */
  readonly spans: number[] = []
  readonly #down: Downstream
  readonly #owner: OutOwner
  /** The response head passes through unchanged from here in the current chunk (see rawStart). */
  #rawFrom = -1
  /** Less the bytes from here to #holeTo: its `Connection: keep-alive` line (-1: none). */
  #holeFrom = -1
  #holeTo = -1
  #corked = false
  /** The client is gone but the peer's response is still read to its end (for a filter's tee): nothing is written. */
  #muted = false
  /**
   * A rebuilt response head held back to go out in one write with the body bytes that follow it in
   * the same chunk: a writev of head and body cost more than copying a small body (profile of a
   * route with header rules: writev was 19% of busy time).
   */
  #held: Buffer | null = null
  /** A filter's transform takes the decoded spans (Framing.TRANSFORM), and writes its own output. */
  #tx: Transformed | null = null

  constructor(down: Downstream, owner: OutOwner) {
    this.#down = down
    this.#owner = owner
  }

  /** The peer's head goes out as received, from `start` in this chunk, with the body bytes after it. */
  passHead(start: number, h: Head): void {
    this.framing = Framing.RAW
    this.#rawFrom = start
    const i = h.hop ? keepAliveLine(h) : -1
    if (i < 0) return
    // The field's line, from its name to its CRLF (llhttp let no bare LF or obs-fold through).
    this.#holeFrom = h.spans[2 + 4 * i]
    this.#holeTo = h.buf.indexOf(10, h.spans[5 + 4 * i]) + 1
  }

  /** A rebuilt head, held for the body bytes of this chunk (`flush` writes it if none come). */
  holdHead(head: Buffer, framing: Framing): void {
    this.framing = framing
    this.#held = head
  }

  /**
   * The content goes through `tx` (a head rebuilt for it was just held): the head goes out now, as the
   * transform's output comes later, from its own callbacks.
   */
  transform(tx: Transformed): void {
    this.framing = Framing.TRANSFORM
    this.#tx = tx
    this.#release()
  }

  /** A 1xx passed on: it goes first, in the corked batch. */
  interim(head: Buffer): void {
    this.#cork()
    this.write(head)
  }

  /** Raw body bytes of `chunk` (RAW framing; the other framings write decoded spans). */
  body(chunk: Buffer, start: number, end: number): void {
    if (this.#rawFrom >= 0) {
      start = this.#rawFrom
      this.#rawFrom = -1
      if (this.#holeFrom >= 0) { this.#holed(chunk, start, end); return }
    }
    if (end <= start || this.framing !== Framing.RAW) return
    this.write(start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end))
  }

  /** The head as received less its keep-alive line, with the body bytes after it: one copy when small, else two writes in one writev. */
  #holed(chunk: Buffer, start: number, end: number): void {
    const from = this.#holeFrom
    const to = this.#holeTo
    this.#holeFrom = this.#holeTo = -1
    if (end - to > COALESCE) {
      this.#cork()
      this.write(chunk.subarray(start, from))
      this.write(chunk.subarray(to, end))
      return
    }
    const b = Buffer.allocUnsafe(from - start + end - to)
    chunk.copy(b, 0, start, from)
    chunk.copy(b, from - start, to, end)
    this.write(b)
  }

  /** Writes the noted body spans of `chunk`, re-chunked (RECHUNK) or as they are (DECHUNK), or into the transform. */
  flushSpans(chunk: Buffer): void {
    const sp = this.spans
    if (this.#tx !== null) { this.#feed(chunk); return }
    const rechunk = this.framing === Framing.RECHUNK
    if (rechunk) this.#cork()
    for (let i = 0; i < sp.length; i += 2) {
      if (rechunk) this.write(chunkHeader(sp[i + 1] - sp[i]))
      this.write(chunk.subarray(sp[i], sp[i + 1]))
      if (rechunk) this.write(CRLF)
    }
    sp.length = 0
  }

  /** The transform's input is full: the peer waits (its drain resumes it, Exchange.transformDrained). */
  #feed(chunk: Buffer): void {
    const sp = this.spans
    let room = true
    for (let i = 0; i < sp.length; i += 2) room = this.#tx!.data(chunk.subarray(sp[i], sp[i + 1])) && room
    sp.length = 0
    if (!room) this.#owner.clientFull()
  }

  /** The response is complete: the last chunk of a re-chunked body, and a held head, go out now (a transform ends later). */
  end(): void {
    if (this.#tx !== null) { this.#tx.end(); return }
    if (this.framing === Framing.RECHUNK) this.write(LAST_CHUNK)
    this.#release()
  }

  /** The end of one `onUpstreamData`: a held head goes out, the corked batch too; a transform flushes what it holds. */
  flush(): void {
    this.#release()
    if (this.#tx !== null) this.#tx.flush()
    if (this.#corked) { this.#corked = false; this.#down.uncork() }
  }

  /** From now on nothing goes to the client (it left): the exchange reads the peer on for a filter. */
  mute(): void {
    this.#muted = true
    this.#held = null
    if (this.#corked) { this.#corked = false; this.#down.uncork() }
  }

  write(b: Buffer): void {
    if (this.#muted) return
    const h = this.#held
    if (h !== null) {
      this.#held = null
      if (b.length <= COALESCE) b = Buffer.concat([h, b], h.length + b.length)
      else this.write(h)
    }
    this.#owner.bytesOut += b.length
    // Under a transform the client's backpressure reaches the peer through the transform's buffers.
    if (!this.#down.write(b) && this.#tx === null) this.#owner.clientFull()
  }

  #release(): void {
    const h = this.#held
    if (h === null) return
    this.#held = null
    this.write(h)
  }

  #cork(): void {
    if (this.#corked || this.#muted) return
    this.#corked = true
    this.#down.cork()
  }
}
