/**
 * PURGE (as Varnish and Squid take it), on a route whose cache allows it, from the allowed clients
 * only: `PURGE /path?query` removes that URL's entries, `PURGE /prefix*` every entry under the prefix.
 * 200 with the count when something was removed, 404 when nothing was stored, 403 for anyone else.
 * It reaches the route's zone only (in every worker).
 */
import type { Exchange } from '../../proxy/exchange.js'
import { Reply } from '../../proxy/reply.js'
import type { CacheRoute } from './route.js'
import { keyOf } from './vary.js'
import { broadcast } from './cluster.js'

export function purgeRequest(r: CacheRoute, x: Exchange): Reply {
  if (!r.purge!.has(x.clientIp)) return new Reply(403, '', 'PURGE is not allowed from this address\n', 'PR')
  const key = keyOf(x)
  const prefix = key.endsWith('*')
  const target = prefix ? key.slice(0, -1) : key
  // Only the route's own zone: a route's purge.allow speaks for its store, not for other routes'.
  const n = prefix ? r.store.removePrefix(target) : r.store.removeKey(target)
  broadcast(target, prefix, r.config.zone)
  return new Reply(n > 0 ? 200 : 404, '', `purged ${n}\n`, 'LR')
}
