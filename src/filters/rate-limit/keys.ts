/**
 * A limit's key, taken from the request as its `key` says: the real client address, the basic-auth
 * user, the route, one key for everyone, a header or a cookie, or several joined. null when the
 * request lacks a part (then the limit's `missing` decides).
 */
import { createHash } from 'node:crypto'
import type { KeyPart } from '../../config/rate-limit.js'
import { name } from '../../http/head.js'
import type { Exchange } from '../../proxy/exchange.js'
import { cookie } from '../../upstream/hash-key.js'
import { clientKey } from '../../proxy/client-ip.js'

/** Longer keys are stored as their SHA-256: max_keys then bounds memory whatever clients send. */
const MAX_KEY = 64

type Part = (x: Exchange) => string | null

function part(k: KeyPart): Part {
  switch (k.from) {
    // An IPv6 client is counted by its /64: one host commonly holds a whole /64 (as auth/admission.ts).
    case 'client_ip': return (x) => clientKey(x.clientIp)
    case 'user': return (x) => x.user === '' ? null : x.user
    case 'route': return (x) => x.routeLabel
    case 'global': return () => ''
    case 'cookie': { const n = k.name; return (x) => cookie(x.head, n) }
    case 'header': {
      const field = name(k.name)
      // Every field line of that name, as one combined value (RFC 9110 §5.3): a client cannot be
      // counted under a first line of its choosing while the peer reads a later one.
      return (x) => {
        const h = x.head
        let i = h.find(field)
        if (i < 0) return null
        let v = h.value(i)
        while ((i = h.find(field, i + 1)) >= 0) v += ', ' + h.value(i)
        return v
      }
    }
  }
}

/** The key reader of a limit: its parts, joined by a byte no field value can hold. */
export function keyOf(parts: readonly KeyPart[]): (x: Exchange) => string | null {
  const fs = parts.map(part)
  const one = fs.length === 1 ? fs[0] : null
  return (x) => {
    let v: string | null
    if (one !== null) v = one(x)
    else {
      v = ''
      for (let i = 0; i < fs.length; i++) {
        const p = fs[i](x)
        if (p === null) return null
        v += (i === 0 ? '' : '\u0000') + p
      }
    }
    return v === null || v.length <= MAX_KEY ? v : '#' + createHash('sha256').update(v).digest('base64url')
  }
}
