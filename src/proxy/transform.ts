/**
 * The seam for a filter that changes the bytes of a response's content (compression, decoding):
 * Filter.responseTransform returns a BodyTransform when the response head is known, and the Exchange
 * drives it (proxy/transformed.ts): decoded content in, as it arrives from the peer or the store;
 * new content out, asynchronously, framed by the Exchange (chunked, or delimited by our close, as
 * its length is not known in advance). Routes whose filters have no responseTransform make no call.
 *
 * Both sides are bounded: `write` returning false stops the input (the peer's socket, or the stored
 * body's reader) until `drained`; `push` returning false asks the transform to stop its output until
 * `resume` (the client's buffer is full).
 */

/** Where a transform's output goes (implemented by proxy/transformed.ts). */
export interface TransformOutput {
  /** New content bytes for the client. False: the client is full, hold the rest until `resume()`. */
  push(b: Buffer): boolean
  /** The transform takes input again after its `write` returned false. */
  drained(): void
  /** Every byte of the output was pushed: the response may end. */
  finished(): void
  /** The transform failed (a peer's broken gzip): the client is cut, the cause logged. */
  failed(err: Error): void
}

/** A change of the content, from the head on. One per response; it never calls `out` synchronously from `start`. */
export interface BodyTransform {
  /** Called once, before any input: where the output goes. */
  start(out: TransformOutput): void
  /** A slice of the content (a view of a socket's chunk: copy, or consume, before returning). False: full. */
  write(data: Buffer): boolean
  /**
   * The input pauses here (the end of one read from the peer): push out what is held now, so a
   * server-sent-events or long-poll response reaches the client as the peer sends it.
   */
  flush(): void
  /** The input is complete. */
  end(): void
  /** The client can take more output. */
  resume(): void
  /** The exchange is over before its end (the client left, a fault): stop, free what is held. */
  destroy(): void
}
