/**
 * `compress`: gzip and brotli on the stream, negotiated per RFC 9110 §12.5.3, and a peer's gzip
 * decoded for a client that does not take it. The work is zlib's, in libuv's thread pool, through the
 * Exchange's transform seam (proxy/transform.ts): output flushes at the end of each read from the
 * peer, backpressure holds both ways (compress/coder.ts).
 *
 * Order 60: below the cache (70), so on the way out the cache sees, and stores, the peer's identity
 * content, and compression applies after it, to misses and hits alike. A hit is not compressed again
 * on every request: its first compressed output is kept as a copy (compress/copies.ts).
 */
import type { CompressConfig } from '../config/compress.js'
import { HEAD } from '../http/methods.js'
import { name, type Head } from '../http/head.js'
import type { EventLog } from '../log/events.js'
import type { Exchange } from '../proxy/exchange.js'
import type { Filter, FilterFactory, FilterKind } from '../proxy/filter.js'
import type { HeadEdit } from '../proxy/head-edit.js'
import type { BodyTransform } from '../proxy/transform.js'
import { StoredReply } from '../proxy/reply.js'
import { BufferContent } from './cache/fill.js'
import { Negotiator } from './compress/negotiate.js'
import { Coder, Op, WHOLE_MAX, WholeCoder } from './compress/coder.js'
import { Copies } from './compress/copies.js'
import { bytesOut, opIndex, responses } from './compress/stats.js'
import { Types, codingsOf, mediaType, noTransform, partial, recoded, recodedHead, transferCoded, varyOnEncoding, weakenFor304 } from './compress/fields.js'

const ACCEPT_ENCODING = name('accept-encoding')
const IF_NONE_MATCH = name('if-none-match')
const COPY = opIndex('copy')

class Compress implements FilterFactory, Filter {
  readonly name = 'compress'
  /** Below the cache's 70: its response hooks run after the cache's (filters/cache/route.ts). */
  readonly order = 60
  readonly #cfg: CompressConfig
  readonly #negotiator: Negotiator
  readonly #types: Types
  readonly #copies: Copies
  readonly #events: EventLog | null

  constructor(cfg: CompressConfig, events: EventLog | null) {
    this.#cfg = cfg
    this.#events = events
    this.#negotiator = new Negotiator(cfg.codings)
    this.#types = new Types(cfg.types)
    this.#copies = new Copies(cfg.copies_max_size)
  }

  /** A tunnel's bytes are not ours. */
  attach(x: Exchange): Filter | null {
    return x.upgrade ? null : this
  }

  /**
   * What a response becomes for this client: null when its form does not depend on Accept-Encoding
   * at all, '' when it goes as it is (but could have gone coded), else the zlib operation.
   */
  #plan(x: Exchange, h: Head, length: number): Op | '' | null {
    // RFC 9110 §15.3.6: a 205 has no content; a transfer coding's bytes are not content (RFC 9112 §6.1).
    if (h.status === 205 || partial(h) || noTransform(h) || transferCoded(h)) return null
    // No Accept-Encoding at all: RFC 9110 §12.5.3 allows any coding, but like nginx we send the
    // content as it is, and decode nothing either. A request's no-transform (RFC 9111 §5.2.1.6) too.
    const ae = x.head.find(ACCEPT_ENCODING) < 0 || noTransform(x.head) ? null : this.#negotiator.accepted(x.head.tokens(ACCEPT_ENCODING).join(','))
    const codings = codingsOf(h)
    if (codings.length > 0) {
      // Already coded by the peer: only a gzip the client refuses is decoded for it.
      if (!this.#cfg.decode || codings.length !== 1 || (codings[0] !== 'gzip' && codings[0] !== 'x-gzip') || length === 0) return null
      return ae === null || ae.gzip ? '' : 'gunzip'
    }
    if (!this.#types.has(mediaType(h)) || (length >= 0 && length < this.#cfg.min_length)) return null
    return ae === null || ae.coding === null ? '' : ae.coding
  }

  /**
   * Every response whose form depends on Accept-Encoding says so (RFC 9110 §12.5.5), coded or not;
   * the answer to HEAD has the head GET would have (§9.3.2); a 304 to a client holding our coded
   * form has its weak ETag (§15.4.5).
   */
  responseHead(x: Exchange, e: HeadEdit): void {
    const h = x.storedHead ?? x.response
    if (h === null) return
    if (x.status === 304) {
      const inm = x.head.get(IF_NONE_MATCH)
      if (inm !== undefined) weakenFor304(h, e, inm)
      return
    }
    if (x.status !== h.status) return
    const plan = this.#plan(x, h, lengthOf(h, null))
    if (plan === null) return
    varyOnEncoding(h, e)
    if (x.method === HEAD && plan !== '') recodedHead(h, e, plan === 'gunzip' ? null : plan)
  }

  /** The coding itself, for content (responseHead made the Vary edit). */
  responseTransform(x: Exchange, h: Head, stored: StoredReply | null, e: HeadEdit): BodyTransform | StoredReply | null {
    if (stored !== null && stored.status !== h.status) return null
    const length = lengthOf(h, stored)
    const plan = this.#plan(x, h, length)
    if (plan === null || plan === '') return null
    recoded(h, e, plan === 'gunzip' ? null : plan)
    return this.#coder(x, h, stored, plan, length)
  }

  /** A zlib stream for a peer's content; for a stored one, its copy when made before, else one that keeps a copy. */
  #coder(x: Exchange, h: Head, stored: StoredReply | null, op: Op, length: number): BodyTransform | StoredReply {
    const level = op === 'gzip' ? this.#cfg.gzip_level : this.#cfg.br_quality
    let keep = null
    if (stored !== null) {
      const copy = this.#copies.get(h, op)
      if (copy !== undefined) {
        responses[COPY]++
        bytesOut[COPY] += copy.length
        return new StoredReply(stored.status, stored.head, stored.extra, new BufferContent(copy), copy.length)
      }
      // Only a whole stored body makes a copy (a 206 never gets here: partial()).
      if (stored.start === 0) keep = this.#copies.keeper(h, op, stored.length)
    }
    // A small body of known length is no event stream: coded in one piece at its end (WholeCoder).
    // Never a decoding: 256 KiB of gzip can hold 256 MiB, which the stream's backpressure bounds.
    if (op !== 'gunzip' && length >= 0 && length <= WHOLE_MAX) return new WholeCoder(op, level, length, keep, this.#events, x.peer?.label ?? 'cache')
    return new Coder(op, level, keep, this.#events, stored === null ? x.peer?.label ?? '' : 'cache')
  }
}

/** The content's length when known: a stored one's, or the peer's Content-Length; -1 otherwise. */
function lengthOf(h: Head, stored: StoredReply | null): number {
  return stored !== null ? stored.length : h.contentLength >= 0 ? Number(h.value(h.contentLength)) : -1
}

export const compress: FilterKind = {
  name: 'compress',
  compile: (f, ctx) => f.compress === null ? null : new Compress(f.compress, ctx.events),
}

