/**
 * RFC 9111 §4.4: a non-error response to an unsafe request invalidates the stored responses of its
 * target URI, and of the Location and Content-Location URIs when they share its origin (the
 * restriction keeps one site from invalidating another's entries). Invalidated here means removed.
 */
import { name } from '../../http/head.js'
import type { Exchange } from '../../proxy/exchange.js'
import type { CacheRoute } from './route.js'
import { originOf } from './vary.js'
import { broadcast } from './cluster.js'

const LOCATION = name('location')
const CONTENT_LOCATION = name('content-location')

export function invalidate(r: CacheRoute, x: Exchange, key: string): void {
  if (x.status < 200 || x.status >= 400) return
  drop(r, key)
  const h = x.response!
  for (const field of [LOCATION, CONTENT_LOCATION]) {
    const v = h.get(field)
    if (v === undefined || v === '') continue
    const target = resolve(v, key)
    if (target !== null && originOf(target) === originOf(key)) drop(r, target)
  }
}

function drop(r: CacheRoute, key: string): void {
  r.store.removeKey(key)
  broadcast(key, false, r.config.zone)
}

/** A URI reference resolved against the request's URI, as a cache key (RFC 3986 §5). */
export function resolve(ref: string, base: string): string | null {
  try {
    const u = new URL(ref, base)
    return `${u.protocol}//${u.host}${u.pathname}${u.search}`
  } catch {
    return null
  }
}
