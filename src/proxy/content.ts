/**
 * A body rawproxy serves from somewhere other than a peer's socket: a stored response (the cache's
 * memory, its disk, or an entry still being filled by another exchange). The source pushes bytes to
 * a sink, the served exchange (proxy/served.ts), which says when to stop for backpressure.
 */

/** Where a served body's bytes go. */
export interface ContentSink {
  /** Bytes for the client; false: stop until the reader's resume(). */
  data(b: Buffer): boolean
  /** Every byte asked for has been given. */
  end(): void
  /** The source failed (the peer died mid-body while filling, a read error): the client is cut. */
  abort(reason: string): void
}

/** One read of a body, in progress. */
export interface ContentReader {
  /** The sink has room again. */
  resume(): void
  /** The client went away: stop, let go of what the read holds. */
  cancel(): void
}

/** A body that can be read, whole or in part, by any number of readers. */
export interface Content {
  /** Bytes from `start` to `end` (exclusive; -1: to the end, known or not yet) into `sink`. */
  read(sink: ContentSink, start: number, end: number): ContentReader
}
