/**
 * A request's conditions and range, answered from a stored response (RFC 9111 §4.3.2, RFC 9110 §13,
 * §14): If-None-Match before If-Modified-Since, a 304 with the fields RFC 9110 §15.4.5 names, and a
 * single byte range as 206 (several ranges get the whole content, as §14.2 allows).
 */
import type { Head } from '../../http/head.js'
import { name } from '../../http/head.js'
import { parseDate } from './dates.js'
import type { Entry } from './entry.js'
import { headOf, Field } from './stored-head.js'

const IF_NONE_MATCH = name('if-none-match')
const IF_MODIFIED_SINCE = name('if-modified-since')
const RANGE = name('range')
const IF_RANGE = name('if-range')
const DATE = name('date')

/** RFC 9110 §15.4.5: what a 304 carries of the response it stands for. */
const IN_304 = new Set(['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'last-modified', 'cache-status'])

/** The request's preconditions say the client's copy is current (§13.1.2, §13.1.3). */
export function notModified(req: Head, e: Entry): boolean {
  const inm = req.find(IF_NONE_MATCH)
  if (inm >= 0) {
    // RFC 9110 §13.1.2: "*" matches any current representation, with an entity-tag or not.
    const tag = e.etag === null ? null : opaque(e.etag)
    for (let i = inm; i >= 0; i = req.find(IF_NONE_MATCH, i + 1)) {
      for (const t of tags(req.value(i))) if (t === '*' || (tag !== null && opaque(t) === tag)) return true
    }
    return false
  }
  const ims = req.find(IF_MODIFIED_SINCE)
  if (ims < 0) return false
  const since = parseDate(req.value(ims))
  // RFC 9111 §4.3.2: Last-Modified, or else the Date of the stored response.
  const lm = parseDate(e.lastModified ?? e.head.get(DATE))
  return since >= 0 && lm >= 0 && lm <= since
}

/** The head of a 304 for `e`: the fields §15.4.5 names, from the stored head. */
export function head304(e: Entry): Head {
  const h = e.head
  const out: Field[] = []
  for (let i = 0; i < h.count; i++) {
    const n = h.name(i)
    if (IN_304.has(n.toLowerCase())) out.push([n, h.value(i)])
  }
  return headOf(304, 'Not Modified', out)
}

/** A byte range to serve: [start, end) of `length`, 'unsatisfiable', or null (serve it all). */
export function rangeOf(req: Head, e: Entry, length: number): [number, number] | 'unsatisfiable' | null {
  const r = req.find(RANGE)
  if (r < 0 || req.find(RANGE, r + 1) >= 0) return null
  // RFC 9110 §14.1.1: no range of an empty representation is satisfiable.
  if (length === 0) return /^bytes=/i.test(req.value(r)) ? 'unsatisfiable' : null
  const ir = req.find(IF_RANGE)
  if (ir >= 0 && !ifRange(req.value(ir), e)) return null
  const m = /^bytes=\s*(\d*)-(\d*)\s*$/i.exec(req.value(r))
  if (m === null || (m[1] === '' && m[2] === '')) return null
  if (m[1] === '') {
    // RFC 9110 §14.1.2 suffix-range: the last N bytes.
    const n = Number(m[2])
    if (n === 0) return 'unsatisfiable'
    return [Math.max(0, length - n), length]
  }
  const first = Number(m[1])
  const last = m[2] === '' ? length - 1 : Math.min(Number(m[2]), length - 1)
  if (m[2] !== '' && Number(m[2]) < first) return null // invalid: ignore the Range
  if (first >= length) return 'unsatisfiable'
  return [first, last + 1]
}

/**
 * RFC 9110 §13.1.5: the range applies when the validator still matches, by strong comparison: an
 * entity-tag, or a Last-Modified date that is strong (§8.8.2.2: a second or more before Date).
 */
function ifRange(v: string, e: Entry): boolean {
  const t = v.trim()
  if (t.startsWith('"') || t.startsWith('W/')) return e.etag !== null && !t.startsWith('W/') && !e.etag.startsWith('W/') && t === e.etag.trim()
  const since = parseDate(t)
  const lm = parseDate(e.lastModified ?? undefined)
  const date = parseDate(e.head.get(DATE))
  return since >= 0 && lm === since && date >= 0 && date - lm >= 1000
}

/** An entity-tag without its weakness mark, for weak comparison (§8.8.3.2). */
function opaque(t: string): string {
  t = t.trim()
  return t.startsWith('W/') ? t.slice(2) : t
}

/** The members of an If-None-Match value; commas inside quotes are not separators. */
function tags(v: string): string[] {
  return v.match(/(?:W\/)?"[^"]*"|[^,\s]+/g) ?? []
}
