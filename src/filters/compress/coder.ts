/**
 * A BodyTransform (proxy/transform.ts) on node:zlib's streams: gzip or brotli to compress, gunzip to
 * decode. zlib's streams do the work in libuv's thread pool, never on the event loop, and bound what
 * they hold: a write returns false past 16 KiB of pending input, and output stops while paused.
 */
import { brotliCompress, constants, createBrotliCompress, createGunzip, createGzip } from 'node:zlib'
import { gzipPooled } from './pooled.js'
import { bytesIn, bytesOut, failures, opIndex, responses } from './stats.js'
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
  // A 512 KiB window (ngx_brotli's default), not brotli's 4 MiB: ~7 MiB of state a stream otherwise.
  return createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: level, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT, [constants.BROTLI_PARAM_LGWIN]: STREAM_LGWIN } })
}

/** Brotli's window for a stream (2^19 bytes). */
const STREAM_LGWIN = 19

/** A content of known length up to this is coded in one piece (WholeCoder). */
export const WHOLE_MAX = 256 * 1024

/** zlib's error as the fault it is (a peer's broken gzip, or ours), with its event log line. */
function failure(op: Op, err: Error, events: EventLog | null, peer: string): ProxyError {
  failures[opIndex(op)]++
  const e = op === 'gunzip'
    ? new ProxyError(Code.UPSTREAM_PARSE, `the peer's gzip content is broken: ${err.message}`, err)
    : new ProxyError(Code.INTERNAL, `${op} failed: ${err.message}`, err)
  // The access log says UP (or IE) for the cut response; this line says why.
  events?.log('warn', 'compress', { op, peer, error: e.message })
  return e
}

export class Coder implements BodyTransform {
  readonly #z: Transform & { flush(kind: number): void }
  readonly #op: Op
  /** The op's slot in compress/stats.ts. */
  readonly #stat: number
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
    this.#stat = opIndex(op)
    responses[this.#stat]++
    this.#keep = keep
    this.#events = events
    this.#peer = peer
  }

  start(out: TransformOutput): void {
    const z = this.#z
    z.on('data', (b: Buffer) => {
      this.#keep?.add(b)
      bytesOut[this.#stat] += b.length
      if (!out.push(b)) z.pause()
    })
    z.on('drain', () => out.drained())
    z.on('end', () => {
      this.#keep?.done()
      out.finished()
    })
    z.on('error', (err: Error) => out.failed(failure(this.#op, err, this.#events, this.#peer)))
  }

  write(data: Buffer): boolean {
    this.#dirty = true
    bytesIn[this.#stat] += data.length
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

/** zlib's one-shot calls, each in the thread pool as one job (no per-read flushes, no stream state between reads). */
function codeWhole(op: 'gzip' | 'br', level: number, input: Buffer, done: (err: Error | null, out: Buffer) => void): void {
  streams++
  if (op === 'gzip') gzipPooled(input, level, done)
  else {
    // A window no larger than the input (brotli's one-shot C API does the same): its default of 4 MiB
    // is allocated and set up for each response otherwise.
    const lgwin = Math.max(constants.BROTLI_MIN_WINDOW_BITS, Math.min(constants.BROTLI_DEFAULT_WINDOW, Math.ceil(Math.log2(input.length + 1))))
    brotliCompress(input, { params: { [constants.BROTLI_PARAM_QUALITY]: level, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT, [constants.BROTLI_PARAM_SIZE_HINT]: input.length, [constants.BROTLI_PARAM_LGWIN]: lgwin } }, done)
  }
}

/**
 * Gathering buffers for WholeCoder, reused: a new 64 KiB buffer per response is garbage that V8's
 * background threads then sweep. Sizes are powers of two from 16 KiB to WHOLE_MAX; a few of each
 * are kept idle.
 */
const gathers = new Map<number, Buffer[]>()
const GATHER_IDLE = 8

function gatherFor(length: number): Buffer {
  const size = Math.max(16384, 2 ** Math.ceil(Math.log2(length || 1)))
  return gathers.get(size)?.pop() ?? Buffer.allocUnsafeSlow(size)
}

function giveBack(b: Buffer): void {
  const list = gathers.get(b.length) ?? []
  if (list.length < GATHER_IDLE) { list.push(b); gathers.set(b.length, list) }
}

/**
 * For a content of known, small length (WHOLE_MAX): gathered as it comes (into one buffer of that
 * length), then coded in one thread-pool job at its end. Such a body is no event stream, and it comes
 * in a few reads at most; measured: 50 streams interleaved in the pool cost more CPU per response than
 * one job each (bench/peers/compress.ts).
 */
export class WholeCoder implements BodyTransform {
  readonly #op: 'gzip' | 'br'
  readonly #level: number
  readonly #keep: Keeper | null
  /** The gathering buffer (gatherFor), null once given back. */
  #buf: Buffer | null
  #at = 0
  /** zlib has the content: the buffer goes back when it is done. */
  #coding = false
  readonly #events: EventLog | null
  readonly #peer: string
  #out: TransformOutput | null = null
  #over = false

  constructor(op: 'gzip' | 'br', level: number, length: number, keep: Keeper | null, events: EventLog | null, peer: string) {
    this.#op = op
    this.#level = level
    this.#keep = keep
    this.#buf = gatherFor(length)
    responses[opIndex(op)]++
    this.#events = events
    this.#peer = peer
  }

  start(out: TransformOutput): void { this.#out = out }

  write(data: Buffer): boolean {
    // More than announced cannot happen (llhttp frames by Content-Length); a stored body is its length.
    if (this.#buf !== null) this.#at += data.copy(this.#buf, this.#at)
    return true
  }

  flush(): void {}

  end(): void {
    if (this.#buf === null || this.#coding) return
    this.#coding = true
    const buf = this.#buf
    codeWhole(this.#op, this.#level, buf.subarray(0, this.#at), (err, b) => {
      this.#buf = null
      giveBack(buf)
      if (this.#over) return
      this.#over = true
      const out = this.#out!
      if (err !== null) { out.failed(failure(this.#op, err, this.#events, this.#peer)); return }
      if (this.#keep !== null) { this.#keep.add(b); this.#keep.done() }
      bytesIn[opIndex(this.#op)] += this.#at
      bytesOut[opIndex(this.#op)] += b.length
      // One push; the end waits for nothing: the client's buffer holds it (at most WHOLE_MAX coded).
      out.push(b)
      out.finished()
    })
  }

  resume(): void {}

  destroy(): void {
    this.#over = true
    // While zlib has it, the buffer goes back in end()'s callback.
    if (this.#buf !== null && !this.#coding) { giveBack(this.#buf); this.#buf = null }
  }
}
