/**
 * A limit's key, taken from the request as its `key` says: the real client address, the basic-auth
 * user, the route, one key for everyone, a header or a cookie, or several joined. null when the
 * request lacks a part (then the limit's `missing` decides).
 *
 * A header sent on several lines, or a cookie named twice, gives several values, and the request is
 * counted under each of them: peers differ on which one they read (the first, the last, or all
 * joined), so counting one of them, or the joined text, lets a client add lines of its choosing and
 * be counted under a new key each time while the peer reads the real one.
 */
import { createHash } from 'node:crypto'
import type { KeyPart } from '../../config/rate-limit.js'
import { name } from '../../http/head.js'
import type { Head } from '../../http/head.js'
import type { Exchange } from '../../proxy/exchange.js'
import { clientKey } from '../../proxy/client-ip.js'

/** Longer keys are stored as their SHA-256: max_keys then bounds memory whatever clients send. */
const MAX_KEY = 64
/** Values of one part counted at most: the first and the last ones, where peers read. */
const EDGE = 4
const COOKIE = name('cookie')

/** One part's value(s): a string, several (a repeated header or cookie), or null when missing. */
type Part = (x: Exchange) => string | string[] | null

/** Several values, or one, or none; past 2 × EDGE only the first and last EDGE are kept. */
function values(all: string[]): string | string[] | null {
  const distinct = [...new Set(all)]
  if (distinct.length === 0) return null
  if (distinct.length === 1) return distinct[0]
  return distinct.length <= 2 * EDGE ? distinct : [...distinct.slice(0, EDGE), ...distinct.slice(-EDGE)]
}

/**
 * The members of every line of the header: lines and comma-separated members are one list (RFC 9110
 * §5.3), so `K, junk` on one line is `K` and `junk` on two (an empty member is no value).
 */
function header(h: Head, field: Buffer): string[] {
  const out: string[] = []
  for (let i = h.find(field); i >= 0; i = h.find(field, i + 1)) {
    for (const m of h.value(i).split(',')) {
      const v = m.trim()
      if (v !== '') out.push(v)
    }
  }
  return out
}

/**
 * Every value of cookie `want` over all Cookie lines (RFC 6265 §4.2.1), each as peers decode it: the
 * quotes of a quoted value removed, %XX decoded (as Express's `cookie` module does), so that another
 * spelling of one session is the same key.
 */
function cookies(h: Head, want: string): string[] {
  const out: string[] = []
  for (let i = h.find(COOKIE); i >= 0; i = h.find(COOKIE, i + 1)) {
    for (const pair of h.value(i).split(';')) {
      const eq = pair.indexOf('=')
      if (eq <= 0 || pair.slice(0, eq).trim() !== want) continue
      let v = pair.slice(eq + 1).trim()
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1)
      // Decoded unless that makes a control character: %00 or %01 could forge the separators of a
      // combined key or of the fallback key of a request without one (a value as sent holds neither).
      if (v.includes('%')) try { const d = decodeURIComponent(v); if (!/[\x00-\x1f\x7f]/.test(d)) v = d } catch { /* not percent-encoded: as sent */ }
      if (v !== '') out.push(v)
    }
  }
  return out
}

function part(k: KeyPart): Part {
  switch (k.from) {
    // An IPv6 client is counted by its /64: one host commonly holds a whole /64 (as auth/admission.ts).
    case 'client_ip': return (x) => clientKey(x.clientIp)
    case 'user': return (x) => x.user === '' ? null : x.user
    case 'route': return (x) => x.routeLabel
    case 'global': return () => ''
    case 'cookie': { const n = k.name; return (x) => values(cookies(x.head, n)) }
    case 'header': {
      const field = name(k.name)
      return (x) => {
        const h = x.head
        const i = h.find(field)
        if (i < 0) return null
        // The usual request: one line, one value; no arrays, no Set.
        if (h.find(field, i + 1) < 0) {
          const v = h.value(i)
          if (!v.includes(',')) return v.trim() === '' ? null : v.trim()
        }
        return values(header(h, field))
      }
    }
  }
}

function stored(v: string): string {
  return v.length <= MAX_KEY ? v : '#' + createHash('sha256').update(v).digest('base64url')
}

/**
 * The key reader of a limit: its parts joined by a byte no field value can hold; null when a part
 * is missing, several keys when a part has several values (every combination, each counted, the
 * first and last EDGE of them at most: a request costs a bounded number of decisions and keys).
 */
export function keyOf(parts: readonly KeyPart[]): (x: Exchange) => string | string[] | null {
  const fs = parts.map(part)
  return (x) => {
    let keys: string | string[] = ''
    for (let i = 0; i < fs.length; i++) {
      const p = fs[i](x)
      if (p === null) return null
      const sep = i === 0 ? '' : '\u0000'
      if (typeof p === 'string' && typeof keys === 'string') keys += sep + p
      else {
        const ps = typeof p === 'string' ? [p] : p
        const ks: string[] = typeof keys === 'string' ? [keys] : keys
        keys = ks.flatMap((k: string) => ps.map((v) => k + sep + v))
      }
    }
    if (typeof keys === 'string') return stored(keys)
    return (keys.length <= 2 * EDGE ? keys : [...keys.slice(0, EDGE), ...keys.slice(-EDGE)]).map(stored)
  }
}
