/**
 * The cache key (RFC 9111 §2: the target URI, RFC 9110 §7.1) and the secondary key a stored response
 * is selected by (§4.1: the request fields its Vary names, plus the fields and cookies the route's
 * config adds to the key).
 */
import type { Head } from '../../http/head.js'
import { name } from '../../http/head.js'
import type { Exchange } from '../../proxy/exchange.js'
import type { HeadEdit } from '../../proxy/head-edit.js'

const VARY = name('vary')
const COOKIE = name('cookie')
/** Stands for a field the request did not have (no field value can hold it). */
const ABSENT = '\u0000'
/** Fields whose values are case-insensitive lists of weighted members by their definitions (RFC 9110 §12.5). */
const NO_CASE = new Set(['accept-encoding', 'accept-charset', 'accept-language'])

/**
 * The target URI, normalised as RFC 9110 §4.2.3 allows: scheme and host in lower case, the default
 * port left out. The path and query are as forwarded (dot-segments resolved).
 */
export function keyOf(x: Exchange): string {
  const proto = x.down.proto
  let host = (x.info.authority ?? x.info.host).toLowerCase()
  if ((proto === 'http' && host.endsWith(':80')) || (proto === 'https' && host.endsWith(':443'))) host = host.slice(0, host.lastIndexOf(':'))
  return `${proto}://${host}${x.info.path}`
}

/** The origin part of a key ("https://example.com"), for same-origin checks (§4.4). */
export function originOf(key: string): string {
  const i = key.indexOf('/', key.indexOf('//') + 2)
  return i < 0 ? key : key.slice(0, i)
}

/** The request fields a response varies on (lower-case), then the configured key fields. */
export function varyNames(resp: Head, keyHeaders: readonly string[]): string[] {
  const out = resp.tokens(VARY)
  for (const k of keyHeaders) if (!out.includes(k)) out.push(k)
  return out
}

/**
 * The values of `names` in the request as the peer gets it (the client's fields, with the route's
 * filters' `edit`: a field they set or remove is not what the client sent), normalised (§4.1:
 * whitespace, the lines of one field combined, case where the field's definition ignores it), then
 * of the configured cookies. "*" never matches.
 */
export function variantOf(req: Head, names: readonly string[], cookies: readonly string[], edit: HeadEdit | null = null): string {
  if (names.length === 0 && cookies.length === 0) return ''
  let out = ''
  for (const n of names) {
    if (n === '*') return '*'
    out += fieldValue(req, n, edit) + '\n'
  }
  if (cookies.length > 0) {
    const jar = cookieJar(req)
    for (const c of cookies) out += (jar.get(c) ?? ABSENT) + '\n'
  }
  return out
}

function fieldValue(req: Head, lower: string, edit: HeadEdit | null): string {
  const values: string[] = []
  if (edit === null || !edit.dropsName(lower)) {
    const b = name(lower)
    for (let i = req.find(b); i >= 0; i = req.find(b, i + 1)) values.push(req.value(i))
  }
  if (edit !== null) values.push(...edit.valuesOf(lower))
  if (values.length === 0) return ABSENT
  const parts: string[] = []
  const noCase = NO_CASE.has(lower)
  for (const v of values) {
    for (const p of v.split(',')) {
      const t = p.trim()
      if (t !== '') parts.push(noCase ? t.toLowerCase() : t)
    }
  }
  // In the Accept-* fields the order of members carries no meaning (their weights do).
  if (noCase) parts.sort()
  return parts.join(',')
}

/** RFC 6265 §5.4: the cookie-pairs of every Cookie field. */
function cookieJar(req: Head): Map<string, string> {
  const jar = new Map<string, string>()
  for (let i = req.find(COOKIE); i >= 0; i = req.find(COOKIE, i + 1)) {
    for (const pair of req.value(i).split(';')) {
      const eq = pair.indexOf('=')
      if (eq < 0) continue
      const k = pair.slice(0, eq).trim()
      if (!jar.has(k)) jar.set(k, pair.slice(eq + 1).trim())
    }
  }
  return jar
}
