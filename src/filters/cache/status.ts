/**
 * Cache-Status (RFC 9211): how this cache handled the response, as one member of the field's list,
 * after any member an upstream cache put there (§2: the last member is the cache closest to the user).
 */

/** What happened to one request, gathered as the exchange goes. */
export class Outcome {
  /** Served from the cache (§2.1). */
  hit = false
  /** Why it went to the peer (§2.2): uri-miss, vary-miss, miss, stale, request, bypass, method. */
  fwd = ''
  /** The status the peer answered with (§2.3). */
  fwdStatus = 0
  /** Remaining freshness in seconds (§2.4), or null when not known. */
  ttl: number | null = null
  /** The response was stored (§2.5). */
  stored = false
  /** The request waited for another one's response and used it (§2.6). */
  collapsed = false
  /** A short reason (§2.8), an sf-token. */
  detail = ''
}

/** The member for `o`, e.g. `rawproxy; hit; ttl=120` or `rawproxy; fwd=uri-miss; fwd-status=200; stored`. */
export function cacheStatus(id: string, o: Outcome): string {
  let v = id
  if (o.hit) v += '; hit'
  if (o.fwd !== '') v += `; fwd=${o.fwd}`
  if (o.fwdStatus !== 0) v += `; fwd-status=${o.fwdStatus}`
  if (o.ttl !== null) v += `; ttl=${o.ttl}`
  if (o.stored) v += '; stored'
  if (o.collapsed) v += '; collapsed'
  if (o.detail !== '') v += `; detail=${o.detail}`
  return v
}
