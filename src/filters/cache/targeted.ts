/**
 * Targeted cache control (RFC 9213): `CDN-Cache-Control`, a Structured Field Dictionary (RFC 8941
 * §3.2) of the Cache-Control directives, meant for caches run by or for the origin. When it is
 * present, valid and not empty, it decides alone: Cache-Control and Expires are ignored (§2.2). An
 * invalid one is ignored whole, as if absent (§2.1).
 */
import type { Head } from '../../http/head.js'
import { name } from '../../http/head.js'
import { Directives } from './directives.js'

const TARGETS = [name('cdn-cache-control')]
const KEY = /^[a-z*][a-z0-9_\-.*]*$/
const INTEGER = /^-?\d{1,15}$/
const TOKEN = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$/
/** Directives whose value is delta-seconds (an sf-integer); the others are flags (sf-boolean true). */
const NUMBERS = new Set(['max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error'])

/** The targeted field's directives, or null when none is present, valid and non-empty. */
export function targeted(h: Head): Directives | null {
  for (const t of TARGETS) {
    let i = h.find(t)
    if (i < 0) continue
    let v = ''
    for (; i >= 0; i = h.find(t, i + 1)) v += (v === '' ? '' : ',') + h.value(i)
    const d = dictionary(v)
    if (d !== null) return d
  }
  return null
}

/** RFC 8941 §4.2.2, strictly; null on any parse error, or when empty. */
function dictionary(v: string): Directives | null {
  const d = new Directives()
  const members = v.split(',')
  for (const raw of members) {
    const m = raw.trim()
    if (m === '') return null
    // Parameters (";a=b") are allowed and ignored; they cannot hold commas in the forms we accept.
    const [item] = m.split(';')
    const eq = item.indexOf('=')
    const key = eq < 0 ? item : item.slice(0, eq)
    if (!KEY.test(key)) return null
    const value = eq < 0 ? '?1' : item.slice(eq + 1)
    if (!bareItem(value)) return null
    if (NUMBERS.has(key)) {
      if (!INTEGER.test(value) || value.startsWith('-')) return null
      set(d, key, Math.min(Number(value), 2147483648))
    } else if (value === '?1' || ((key === 'private' || key === 'no-cache') && value.startsWith('"'))) {
      // private="a" and no-cache="a" (field names) are taken whole: the stricter reading.
      set(d, key, true)
    } else if (value !== '?0' && (key === 'no-store' || key === 'public' || key === 'must-revalidate' || key === 'proxy-revalidate')) {
      return null
    }
  }
  d.any = true
  d.targeted = true
  return d
}

function bareItem(v: string): boolean {
  return INTEGER.test(v) || v === '?0' || v === '?1' || TOKEN.test(v) || /^"[\x20-\x21\x23-\x5b\x5d-\x7e]*"$/.test(v) || /^-?\d{1,12}\.\d{1,3}$/.test(v)
}

function set(d: Directives, key: string, v: number | boolean): void {
  switch (key) {
    case 'max-age': d.maxAge = v as number; break
    case 's-maxage': d.sMaxage = v as number; break
    case 'stale-while-revalidate': d.staleWhileRevalidate = v as number; break
    case 'stale-if-error': d.staleIfError = v as number; break
    case 'no-store': d.noStore = true; break
    case 'no-cache': d.noCache = true; break
    case 'private': d.private = true; break
    case 'public': d.public = true; break
    case 'must-revalidate': d.mustRevalidate = true; break
    case 'proxy-revalidate': d.proxyRevalidate = true; break
    case 'must-understand': d.mustUnderstand = true; break
  }
}
