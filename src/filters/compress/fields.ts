/**
 * What the compress filter reads of a response head, and the edits that go with a changed coding:
 * Content-Encoding, `Vary: Accept-Encoding` merged in (RFC 9110 §12.5.5), a strong ETag made weak
 * (§8.8.1: the bytes are no longer the peer's), and no Accept-Ranges (ranges of our output are not served).
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

/** The response's content codings, lower-case; "identity" alone counts as none. */
export function codingsOf(h: Head): string[] {
  const c = h.tokens(CONTENT_ENCODING)
  return c.length === 1 && c[0] === 'identity' ? [] : c
}

/** RFC 9111 §5.2.2.6: a proxy must not change the content of a response with no-transform. */
export function noTransform(h: Head): boolean {
  return h.find(CACHE_CONTROL) >= 0 && h.tokens(CACHE_CONTROL).includes('no-transform')
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
  if (coding === null) e.remove(ENCODING_SET)
  else e.add('Content-Encoding', coding)
  e.remove(RANGES_SET)
  const vary = h.tokens(VARY)
  if (!vary.includes('*') && !vary.includes('accept-encoding')) {
    // Merged into one field: the received values, then ours (a list field, RFC 9110 §5.3).
    e.remove(VARY_SET)
    e.add('Vary', vary.length === 0 ? 'Accept-Encoding' : `${vary.join(', ')}, Accept-Encoding`)
  }
  const etag = h.get(ETAG)
  if (etag !== undefined && etag.startsWith('"')) {
    e.remove(ETAG_SET)
    e.add('ETag', `W/${etag}`)
  }
}

/** The media types a route compresses: exact, "type/*", or "+suffix" (RFC 6838 §4.2.8). */
export class Types {
  readonly #exact: ReadonlySet<string>
  readonly #prefixes: readonly string[]
  readonly #suffixes: readonly string[]

  constructor(types: readonly string[]) {
    this.#exact = new Set(types.filter((t) => !t.endsWith('/*') && !t.startsWith('+')))
    this.#prefixes = types.filter((t) => t.endsWith('/*')).map((t) => t.slice(0, -1))
    this.#suffixes = types.filter((t) => t.startsWith('+'))
  }

  has(type: string): boolean {
    if (type === '') return false
    if (this.#exact.has(type)) return true
    for (const p of this.#prefixes) if (type.startsWith(p)) return true
    for (const s of this.#suffixes) if (type.endsWith(s)) return true
    return false
  }
}
