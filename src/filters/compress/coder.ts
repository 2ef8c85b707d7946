/**
 * A BodyTransform (proxy/transform.ts) on node:zlib's streams: gzip or brotli to compress, gunzip to
 * decode. zlib's streams do the work in libuv's thread pool, never on the event loop, and bound what
 * they hold: a write returns false past 16 KiB of pending input, and output stops while paused.
 */
import { constants, createBrotliCompress, createGunzip, createGzip } from 'node:zlib'
import type { Transform } from 'node:stream'
import type { BodyTransform, TransformOutput } from '../../proxy/transform.js'
import { Code, ProxyError } from '../../errors.js'
import type { Keeper } from './copies.js'
import type { EventLog } from '../../log/events.js'

/** What a coder does: produce a coding, or decode gzip. */
export type Op = 'br' | 'gzip' | 'gunzip'

let streams = 0
/** zlib streams made so far in this process (the specs count them: a stored copy needs none). */
export function streamsMade(): number { return streams }

function streamFor(op: Op, level: number): Transform {
  streams++
  if (op === 'gzip') return createGzip({ level })
  if (op === 'gunzip') return createGunzip()
  return createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: level, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT } })
}

export class Coder implements BodyTransform {
  readonly #z: Transform & { flush(kind: number): void }
  readonly #op: Op
  /** Collects the output for a stored copy (compress/copies.ts), or null. */
  readonly #keep: Keeper | null
  /** Input came since the last flush. */
  #dirty = false
  #ended = false
  /** For the event log line of a failure: the peer the content came from. */
  readonly #events: EventLog | null
  readonly #peer: string

  constructor(op: Op, level: number, keep: Keeper | null, events: EventLog | null, peer: string) {
    this.#z = streamFor(op, level) as Transform & { flush(kind: number): void }
    this.#op = op
    this.#keep = keep
    this.#events = events
    this.#peer = peer
  }

  start(out: TransformOutput): void {
    const z = this.#z
    z.on('data', (b: Buffer) => {
      this.#keep?.add(b)
      if (!out.push(b)) z.pause()
    })
    z.on('drain', () => out.drained())
    z.on('end', () => {
      this.#keep?.done()
      out.finished()
    })
    z.on('error', (err: Error) => {
      const e = this.#op === 'gunzip'
        ? new ProxyError(Code.UPSTREAM_PARSE, `the peer's gzip content is broken: ${err.message}`, err)
        : new ProxyError(Code.INTERNAL, `${this.#op} failed: ${err.message}`, err)
      // The access log says UP (or IE) for the cut response; this line says why.
      this.#events?.log('warn', 'compress', { op: this.#op, peer: this.#peer, error: e.message })
      out.failed(e)
    })
  }

  write(data: Buffer): boolean {
    this.#dirty = true
    // zlib reads the bytes later, in the thread pool: a copy, as the slice is a view of a socket chunk.
    return this.#z.write(Buffer.from(data))
  }

  flush(): void {
    if (!this.#dirty || this.#ended) return
    this.#dirty = false
    // Z_SYNC_FLUSH (BROTLI_OPERATION_FLUSH): all output so far, byte-aligned, the stream going on.
    this.#z.flush(this.#op === 'br' ? constants.BROTLI_OPERATION_FLUSH : constants.Z_SYNC_FLUSH)
  }

  end(): void {
    if (this.#ended) return
    this.#ended = true
    this.#z.end()
  }

  resume(): void {
    this.#z.resume()
  }

  destroy(): void {
    this.#ended = true
    this.#z.removeAllListeners('data')
    this.#z.destroy()
  }
}
