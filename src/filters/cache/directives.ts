/**
 * Cache-Control (RFC 9111 §5.2) and Pragma (§5.4) read into plain numbers and flags, for requests and
 * responses alike: one pass over the field lines, directive names without regard to case (§5.2),
 * arguments as token or quoted-string. Of a directive given twice the first one counts (§4.2.1).
 */
import type { Head } from '../../http/head.js'
import { name } from '../../http/head.js'
import { targeted } from './targeted.js'

const CACHE_CONTROL = name('cache-control')
const PRAGMA = name('pragma')

/** RFC 9111 §1.2.2: a delta-seconds too large to hold is taken as 2^31. */
const MAX_DELTA = 2147483648
/** A delta-seconds argument that is absent or not 1*DIGIT. */
export const INVALID = -1
/** The directive is not there. */
export const ABSENT = -2

export class Directives {
  /** delta-seconds arguments: ABSENT, INVALID or the number of seconds. */
  maxAge = ABSENT
  sMaxage = ABSENT
  maxStale = ABSENT
  /** `max-stale` without an argument: any staleness is acceptable (§5.2.1.2). */
  anyStale = false
  minFresh = ABSENT
  staleWhileRevalidate = ABSENT
  staleIfError = ABSENT
  noCache = false
  /** no-cache="a, b" (§5.2.2.4): only these fields need validation; lower-case names. */
  noCacheFields: string[] | null = null
  noStore = false
  noTransform = false
  onlyIfCached = false
  mustRevalidate = false
  proxyRevalidate = false
  mustUnderstand = false
  public = false
  private = false
  /** private="a, b" (§5.2.2.7): a shared cache stores the response without these fields. */
  privateFields: string[] | null = null
  /** Some directive was there at all (a Cache-Control field with content). */
  any = false
  /** Taken from a targeted field (RFC 9213): Expires does not count. */
  targeted = false
}

/** The Cache-Control directives of `h` (and, for a request, `Pragma: no-cache`, §5.4). */
export function directives(h: Head, request: boolean): Directives {
  if (!request) {
    const t = targeted(h)
    if (t !== null) return t
  }
  const d = new Directives()
  let seen = false
  for (let i = h.find(CACHE_CONTROL); i >= 0; i = h.find(CACHE_CONTROL, i + 1)) {
    seen = true
    parse(h.value(i), d)
  }
  // §5.4: Pragma: no-cache means Cache-Control: no-cache only when a request has no Cache-Control.
  if (request && !seen) {
    for (const t of h.tokens(PRAGMA)) if (t === 'no-cache') d.noCache = true
  }
  return d
}

/** Reads one field value's directives into `d`. */
export function parse(v: string, d: Directives): void {
  const n = v.length
  let i = 0
  while (i < n) {
    while (i < n && (v[i] === ' ' || v[i] === '\t' || v[i] === ',')) i++
    if (i >= n) break
    let j = i
    while (j < n && v[j] !== '=' && v[j] !== ',') j++
    const raw = v.slice(i, j)
    const key = raw.trimStart().toLowerCase()
    let arg: string | null = null
    // A directive is a token, then "=" and its argument with no whitespace between (RFC 9111 §5.2):
    // "max-age =60" or "max-age= 60" is invalid, and so is its argument.
    let bad = /[ \t]$/.test(key)
    if (j < n && v[j] === '=') {
      j++
      if (v[j] === '"') {
        // quoted-string (RFC 9110 §5.6.4): backslash escapes one character; a comma inside is not a separator.
        let s = ''
        j++
        while (j < n && v[j] !== '"') { if (v[j] === '\\' && j + 1 < n) j++; s += v[j++] }
        j++
        arg = s
        while (j < n && v[j] !== ',') j++
      } else {
        const k = j
        while (j < n && v[j] !== ',') j++
        arg = v.slice(k, j).trimEnd()
        if (arg.length > 0 && (arg[0] === ' ' || arg[0] === '\t')) bad = true
      }
    }
    i = j
    if (key !== '') apply(d, bad ? key.trimEnd() : key, bad && arg !== null ? '' : arg)
  }
}

function apply(d: Directives, key: string, arg: string | null): void {
  d.any = true
  switch (key) {
    case 'max-age': if (d.maxAge === ABSENT) d.maxAge = delta(arg); break
    case 's-maxage': if (d.sMaxage === ABSENT) d.sMaxage = delta(arg); break
    case 'max-stale':
      if (d.maxStale !== ABSENT || d.anyStale) break
      if (arg === null) d.anyStale = true
      else d.maxStale = delta(arg)
      break
    case 'min-fresh': if (d.minFresh === ABSENT) d.minFresh = delta(arg); break
    case 'stale-while-revalidate': if (d.staleWhileRevalidate === ABSENT) d.staleWhileRevalidate = delta(arg); break
    case 'stale-if-error': if (d.staleIfError === ABSENT) d.staleIfError = delta(arg); break
    case 'no-cache':
      if (arg === null) { d.noCache = true; d.noCacheFields = null }
      else if (!d.noCache) (d.noCacheFields ??= []).push(...fields(arg))
      break
    case 'no-store': d.noStore = true; break
    case 'no-transform': d.noTransform = true; break
    case 'only-if-cached': d.onlyIfCached = true; break
    case 'must-revalidate': d.mustRevalidate = true; break
    case 'proxy-revalidate': d.proxyRevalidate = true; break
    case 'must-understand': d.mustUnderstand = true; break
    case 'public': d.public = true; break
    case 'private':
      if (arg === null) { d.private = true; d.privateFields = null }
      else if (!d.private) (d.privateFields ??= []).push(...fields(arg))
      break
  }
}

/** RFC 9111 §1.2.2: delta-seconds = 1*DIGIT; anything else is INVALID. */
function delta(arg: string | null): number {
  if (arg === null || arg === '' || !/^\d+$/.test(arg)) return INVALID
  const n = Number(arg)
  return n > MAX_DELTA ? MAX_DELTA : n
}

function fields(arg: string): string[] {
  return arg.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '')
}
