/**
 * What the compress filter reads of a response head, and the edits that go with a changed coding:
 * Content-Encoding, a strong ETag made weak (§8.8.1: the bytes are no longer the peer's), no
 * Accept-Ranges (ranges of our output are not served), no Trailer (trailers are not sent on); and
 * `Vary: Accept-Encoding` merged into every response whose form depends on it (RFC 9110 §12.5.5).
 */
import { NameSet, name, type Head } from '../../http/head.js'
import type { HeadEdit } from '../../proxy/head-edit.js'

const CONTENT_TYPE = name('content-type')
const CONTENT_ENCODING = name('content-encoding')
const CACHE_CONTROL = name('cache-control')
const CONTENT_RANGE = name('content-range')
const VARY = name('vary')
const ETAG = name('etag')
const VARY_SET = new NameSet(['vary'])
const ETAG_SET = new NameSet(['etag'])
const ENCODING_SET = new NameSet(['content-encoding'])
const RANGES_SET = new NameSet(['accept-ranges'])
const TRAILER_SET = new NameSet(['trailer'])
const LENGTH_SET = new NameSet(['content-length'])
const TRANSFER_ENCODING = name('transfer-encoding')

/** The response's content codings, lower-case; "identity" alone counts as none. */
export function codingsOf(h: Head): string[] {
  const c = h.tokens(CONTENT_ENCODING)
  return c.length === 1 && c[0] === 'identity' ? [] : c
}

/** RFC 9111 §5.2.2.6: a proxy must not change the content of a response with no-transform. */
export function noTransform(h: Head): boolean {
  return h.find(CACHE_CONTROL) >= 0 && h.tokens(CACHE_CONTROL).includes('no-transform')
}

/** A transfer coding other than chunked (RFC 9112 §6.1): its bytes are not content we can read. */
export function transferCoded(h: Head): boolean {
  if (h.find(TRANSFER_ENCODING) < 0) return false
  const t = h.tokens(TRANSFER_ENCODING)
  return t.length !== 1 || t[0] !== 'chunked'
}

/** A part of a representation (206, or a Content-Range on another status) is never re-coded. */
export function partial(h: Head): boolean {
  return h.status === 206 || h.find(CONTENT_RANGE) >= 0
}

/** The media type, lower-case, without parameters; '' without Content-Type. */
export function mediaType(h: Head): string {
  const v = h.get(CONTENT_TYPE)
  if (v === undefined) return ''
  const semi = v.indexOf(';')
  return (semi < 0 ? v : v.slice(0, semi)).trim().toLowerCase()
}

/** The head edits for content now coded with `coding` (null: decoded to identity). */
export function recoded(h: Head, e: HeadEdit, coding: string | null): void {
  // The peer's `Content-Encoding: identity` goes too: "identity, gzip" is read as no coding by some clients.
  if (coding === null || h.find(CONTENT_ENCODING) >= 0) e.remove(ENCODING_SET)
  if (coding !== null) e.add('Content-Encoding', coding)
  e.remove(RANGES_SET)
  e.remove(TRAILER_SET)
  const etag = h.get(ETAG)
  if (etag !== undefined && etag.startsWith('"')) {
    e.remove(ETAG_SET)
    e.add('ETag', `W/${etag}`)
  }
}

/** The same edits for the answer to HEAD, which has no content (RFC 9110 §9.3.2): and no length. */
export function recodedHead(h: Head, e: HeadEdit, coding: string | null): void {
  recoded(h, e, coding)
  e.remove(LENGTH_SET)
}

/** `Vary: Accept-Encoding` merged into the response's Vary (one field: a list field, RFC 9110 §5.3). */
export function varyOnEncoding(h: Head, e: HeadEdit): void {
  const vary = h.tokens(VARY)
  if (vary.includes('*') || vary.includes('accept-encoding')) return
  e.remove(VARY_SET)
  e.add('Vary', vary.length === 0 ? 'Accept-Encoding' : `${vary.join(', ')}, Accept-Encoding`)
}

/**
 * A 304 to a client that holds our coded form: it asked with our weak tag (W/"x"), and the 304
 * carries the peer's strong "x". RFC 9110 §15.4.5: a 304 has the ETag and Vary the 200 would have.
 */
export function weakenFor304(h: Head, e: HeadEdit, ifNoneMatch: string): void {
  const etag = h.get(ETAG)
  if (etag === undefined || !etag.startsWith('"') || !ifNoneMatch.includes(`W/${etag}`)) return
  e.remove(ETAG_SET)
  e.add('ETag', `W/${etag}`)
  varyOnEncoding(h, e)
}

/** The media types a route compresses: exact, "type/*", or "+suffix" (RFC 6838 §4.2.8). */
export class Types {
  /** Every type (the list has "*\/*"). */
  readonly #all: boolean
  readonly #exact: ReadonlySet<string>
  readonly #prefixes: readonly string[]
  readonly #suffixes: readonly string[]

  constructor(types: readonly string[]) {
    this.#all = types.includes('*/*')
    this.#exact = new Set(types.filter((t) => !t.endsWith('/*') && !t.startsWith('+')))
    this.#prefixes = types.filter((t) => t.endsWith('/*')).map((t) => t.slice(0, -1))
    this.#suffixes = types.filter((t) => t.startsWith('+'))
  }

  has(type: string): boolean {
    if (type === '') return false
    if (this.#all) return true
    if (this.#exact.has(type)) return true
    for (const p of this.#prefixes) if (type.startsWith(p)) return true
    for (const s of this.#suffixes) if (type.endsWith(s)) return true
    return false
  }
}
