/**
 * A response's content on its way through a filter's BodyTransform (proxy/transform.ts): the input
 * side takes what the peer (ClientOut) or the store (a ContentSink for Served bodies) gives, the output
 * side writes the new bytes to the client, chunked for a keep-alive HTTP/1.1 client, else as they are
 * (our close ends them, RFC 9112 §6.3 rule 8). Made only for a response that has a transform.
 */
import type { ContentSink } from './content.js'
import type { Downstream } from './downstream.js'
import type { BodyTransform, TransformOutput } from './transform.js'
import { LAST_CHUNK, writeChunk } from './response-head.js'
import { Code, ProxyError, asProxyError } from '../errors.js'

/** What the driver needs of its exchange. */
export interface TransformedOwner {
  bytesOut: number
  /** The transform's input has room again: read the peer (or the stored body) again. */
  transformDrained(): void
  /** The output is complete and written: the exchange may end. */
  transformEnd(): void
  /** The transform failed, or the stored body could not be read to its end. */
  transformFailed(err: ProxyError): void
}

export class Transformed implements TransformOutput, ContentSink {
  readonly #t: BodyTransform
  readonly #down: Downstream
  readonly #owner: TransformedOwner
  readonly #chunked: boolean
  #over = false

  constructor(t: BodyTransform, down: Downstream, owner: TransformedOwner, chunked: boolean) {
    this.#t = t
    this.#down = down
    this.#owner = owner
    this.#chunked = chunked
    t.start(this)
  }

  // ---- input: from the peer (ClientOut) or the store (ContentSink) ----

  /** Content in; false: stop the input until `transformDrained`. */
  data(b: Buffer): boolean {
    return this.#over || b.length === 0 ? !this.#over : this.#t.write(b)
  }

  /** The end of one read: what the transform holds goes out now. */
  flush(): void {
    if (!this.#over) this.#t.flush()
  }

  end(): void {
    if (!this.#over) this.#t.end()
  }

  /** The stored body could not be read to its end. */
  abort(reason: string): void {
    if (this.#over) return
    this.cancel()
    this.#owner.transformFailed(new ProxyError(Code.UPSTREAM_RESET, reason))
  }

  /** The client drained: the transform's output may go on. */
  resume(): void {
    if (!this.#over) this.#t.resume()
  }

  /** The exchange ended early: the transform lets go of what it holds. */
  cancel(): void {
    if (this.#over) return
    this.#over = true
    this.#t.destroy()
  }

  // ---- output (TransformOutput) ----

  push(b: Buffer): boolean {
    if (this.#over) return false
    if (b.length === 0) return true
    const d = this.#down
    this.#owner.bytesOut += b.length
    return this.#chunked ? writeChunk(d, b) : d.write(b)
  }

  drained(): void {
    if (!this.#over) this.#owner.transformDrained()
  }

  finished(): void {
    if (this.#over) return
    this.#over = true
    if (this.#chunked) this.#down.write(LAST_CHUNK)
    this.#owner.transformEnd()
  }

  failed(err: Error): void {
    if (this.#over) return
    this.cancel()
    // The transform says whose fault it is (a peer's broken gzip: PRX_ERR_UPSTREAM_PARSE); else ours.
    this.#owner.transformFailed(asProxyError(err, Code.INTERNAL))
  }
}
